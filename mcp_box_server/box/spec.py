"""`ToolSpec`: what a client needs to know of one tool, as plain data.

Specs are made in the worker (which imports the box) and sent to the server
(which never does), so they are JSON-round-trippable.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")  # use fullmatch: "$" lets a final newline through


def exposed_name(box: str, function: str) -> str:
    """`<box>_<function>`, with '-' kept (OpenAI and Anthropic reject dots)."""
    return f"{box}_{function}"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    function: str
    box: str
    description: str
    parameters: dict[str, Any]
    timeout: float
    file: str
    line: int
    annotations: dict[str, Any] = field(default_factory=dict)
    output: dict[str, Any] | None = None  # the outputSchema, from the return type hint
    task: str | None = None  # "optional" | "required" | "after_questions" (see TaskMode); None: never

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolSpec:
        return cls(**data)
