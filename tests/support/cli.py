"""The `mcp-box` command as users run it: a process of its own, and what it left on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def mcp_box(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`python -m mcp_box_server ARGS` in a process of its own, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "mcp_box_server", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def snapshot(root: Path, leave_out: Path | None = None) -> dict[Path, tuple[str, bytes | str | None]]:
    """Every path under `root` (links not followed) with its bytes, link target or kind."""
    found: dict[Path, tuple[str, bytes | str | None]] = {}
    for path in sorted(root.rglob("*")):
        if leave_out and (path == leave_out or leave_out in path.parents):
            continue
        if path.is_symlink():
            found[path] = ("link", os.readlink(path))
        elif path.is_file():
            found[path] = ("file", path.read_bytes())
        else:
            found[path] = ("dir", None)
    return found
