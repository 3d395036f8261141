"""Errors of the box format. Loading collects `LoadFailure`s rather than raising."""

from __future__ import annotations

from dataclasses import dataclass


class BoxError(Exception):
    """Base class of every error raised by `mcp_box_server.box`."""


class ManifestError(BoxError):
    """`box.toml` is missing, unreadable or has a wrong field."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """One thing in a box that could not be loaded, located for the user."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LoadFailure:
        line = data.get("line")
        return cls(str(data["file"]), int(line) if isinstance(line, int) else None, str(data["message"]))
