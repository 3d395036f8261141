"""Tool specs of unchanged boxes, kept on disk so a restarted server lists tools at once.

Like `.pyc` files: keyed by a hash of the box's files and of the environment that
described them (Python, mcp-box and the box's `requires` versions), so any edit or
upgrade misses. A hit only lets `tools/list` answer before the workers are up; the
first worker still loads the box, and if it disagrees the registry takes its word
and tells clients. Set `MCP_BOX_CACHE` to move the cache, or to `off` to disable it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from importlib import metadata
from pathlib import Path

from mcp_box_server import __version__
from mcp_box_server.box import LoadFailure, Manifest, ToolSpec

log = logging.getLogger("mcp_box.server")

Entry = tuple[list[ToolSpec], list[LoadFailure]]


class SpecCache:
    """A folder of `<fingerprint>.json` files, one per described version of a box."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_env(cls) -> SpecCache | None:
        """The cache `MCP_BOX_CACHE` names (default `~/.cache/mcp-box/specs`); None when it is `off`."""
        configured = os.environ.get("MCP_BOX_CACHE")
        if configured == "off":
            return None
        if configured:
            return cls(Path(configured))
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return cls(Path(base) / "mcp-box" / "specs")

    def load(self, key: str) -> Entry | None:
        try:
            data = json.loads((self.folder / f"{key}.json").read_text())
            specs = [ToolSpec.from_dict(s) for s in data["specs"]]
            return specs, [LoadFailure.from_dict(f) for f in data["failures"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, key: str, specs: list[ToolSpec], failures: list[LoadFailure]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / f"{key}.json"
            scratch = target.with_suffix(f".{os.getpid()}.tmp")
            body = {"specs": [s.to_dict() for s in specs], "failures": [f.to_dict() for f in failures]}
            scratch.write_text(json.dumps(body))
            scratch.replace(target)
        except OSError as exc:  # a read-only home must not stop the server
            log.debug("spec cache not written: %s", exc)


def fingerprint(manifest: Manifest) -> str | None:
    """The key of a box version: its files' metadata, and the versions of what describes them.

    Like a `.pyc`, by size and modification time: the files are never read here, so a
    link to `/dev/zero` cannot hang the server (the snapshot refuses it later). None when
    a file cannot even be looked at: no cache for that box.
    """
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{__version__}|{manifest.path}".encode())
    for requirement in manifest.requires:
        try:
            digest.update(f"|{requirement}={metadata.version(requirement)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"|{requirement}=missing".encode())
    files = [manifest.path / "box.toml", *sorted((manifest.path / "tools").glob("*.py"))]
    try:
        for path in files:
            info = path.lstat()
            target = os.readlink(path) if path.is_symlink() else ""
            digest.update(f"|{path.name}|{info.st_size}|{info.st_mtime_ns}|{info.st_ino}|{target}".encode())
    except OSError:
        return None
    return digest.hexdigest()
