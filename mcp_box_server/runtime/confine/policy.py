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
from mcp_box_server.runtime import snapshot

# Under root each worker gets a uid and gid of its own, so that workers of other boxes
# cannot touch its files (chmod, utimes) nor share its process count. 2.1e9 + pid stays
# below 2^31 for any pid_max and far above the uids of real users.
WORKER_ID_BASE = 2_100_000_000
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
    """Read-only paths, read-write paths (the temp dir first), limits, and the uid under root.

    `groups` are its supplementary groups under root: its snapshot's group, through
    which it reads its box (the snapshot has no world bits).
    """

    read: tuple[str, ...]
    write: tuple[str, ...]
    memory_mb: int
    uid: int
    gid: int
    threads: int = 256  # RLIMIT_NPROC for the worker's own uid
    open_files: int = 256
    temp_mb: int = 0  # size of the temp dir's tmpfs (0: the memory cap)
    groups: tuple[int, ...] = ()


def sandbox_policy(
    box_dir: str,
    workdir: str,
    memory_mb: int,
    system: tuple[str, ...] = SYSTEM_READ,
    pid: int | None = None,
) -> Policy:
    """The box's snapshot, Python's libraries and the OS's `system` paths read-only; its temp
    dir read-write. `pid` is this process's pid on the host (read from /proc by default)."""
    read = [box_dir, *python_paths(), *system]
    worker_id = WORKER_ID_BASE + (host_pid() if pid is None else pid)
    group = snapshot.box_group(box_dir)
    groups = (group,) if group is not None else ()
    return Policy(
        tuple(dict.fromkeys(read)), (workdir, *SYSTEM_WRITE), memory_mb, worker_id, worker_id, groups=groups
    )


def host_pid() -> int:
    """This process's pid outside its PID namespace (/proc is still the host's here)."""
    return int(os.readlink("/proc/self"))


def python_paths() -> list[str]:
    """Where imports come from, minus the server's own package (and the bundled boxes in it).

    A `sys.path` folder holding the package is a checkout (skipped whole) or a
    site-packages folder (every entry but ours).
    """
    paths: list[str] = []
    for entry in sys.path:
        if not os.path.isabs(entry):
            continue  # the current directory (`python -m`): never a library, maybe a secret
        folder = Path(entry).resolve()
        if not folder.is_dir():
            continue
        if (folder / PACKAGE_DIR.name).resolve() != PACKAGE_DIR:
            paths.append(str(folder))
        elif folder.name in _SITE_DIRS:
            paths += [str(child) for child in folder.iterdir() if not _ours(child.name)]
    return paths


def _ours(name: str) -> bool:
    return name == PACKAGE_DIR.name or name.startswith(("mcp_box-", "__editable__.mcp_box", "_mcp_box"))
