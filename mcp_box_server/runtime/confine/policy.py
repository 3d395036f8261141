"""The sandbox policy of one worker, as data: what it may read and write, its limits.

Everything a sandboxed worker may touch is listed here and nowhere else, so a
reader sees the whole file system policy at a glance.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import mcp_box_server

NOBODY = 65534
PACKAGE_DIR = Path(mcp_box_server.__file__).resolve().parent
# Shared libraries, time zones and CPU counts: read by libraries at import or call.
SYSTEM_READ = (
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/usr/share/zoneinfo",
    "/etc/localtime",
    "/etc/ld.so.cache",
    "/dev/urandom",
    "/dev/random",
    "/sys/devices/system/cpu",
)
SYSTEM_WRITE = ("/dev/null",)
_SITE_DIRS = ("site-packages", "dist-packages")


@dataclass(frozen=True, slots=True)
class Policy:
    """Read-only paths, read-write paths, memory cap and the uid to run as under root."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    memory_mb: int
    uid: int = NOBODY
    gid: int = NOBODY


def sandbox_policy(box_dir: str, workdir: str, memory_mb: int) -> Policy:
    """The box's snapshot and Python's libraries read-only; its temp dir read-write."""
    read = [box_dir, *python_paths(), *SYSTEM_READ]
    return Policy(tuple(dict.fromkeys(read)), (workdir, *SYSTEM_WRITE), memory_mb)


def python_paths() -> list[str]:
    """Where imports come from, minus the server's own package (and the bundled boxes in it).

    A `sys.path` folder holding the package is a checkout (skipped whole) or a
    site-packages folder (every entry but ours).
    """
    paths: list[str] = []
    for entry in sys.path:
        folder = Path(entry or os.getcwd()).resolve()
        if not folder.is_dir():
            continue
        if (folder / PACKAGE_DIR.name).resolve() != PACKAGE_DIR:
            paths.append(str(folder))
        elif folder.name in _SITE_DIRS:
            paths += [str(child) for child in folder.iterdir() if not _ours(child.name)]
    return paths


def _ours(name: str) -> bool:
    return name == PACKAGE_DIR.name or name.startswith(("mcp_box-", "__editable__.mcp_box", "_mcp_box"))
