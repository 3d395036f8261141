"""The Python layer of a worker's limits: a memory cap, and an audit hook for sandboxed boxes.

The boundary of a sandboxed box is the kernel (see `runtime.confine`); the audit
hook is a second layer, a filter that turns the common forbidden things
(sockets, subprocesses, writes outside the temp dir, imports outside
`allow_imports`) into clear errors before they reach the kernel. Python code can
walk around it (`ctypes.pythonapi`, modules already imported), and that is fine:
the kernel still says no.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_BLOCKED_EVENTS = (
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.sendto",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
    "webbrowser.open",
)
_WRITE_MODES = set("wax+")


class SandboxViolation(PermissionError):
    """Raised inside tool code that tries something a sandboxed box may not do."""


def limit_memory(megabytes: int) -> None:
    """Cap the address space: past it allocations fail with MemoryError (Linux; see `runtime.platform`)."""
    import resource  # POSIX only: imported where it is used, so this module imports anywhere

    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def importable(allow_imports: Sequence[str], tools_dir: Path) -> frozenset[str] | None:
    """Top-level modules a sandboxed box may import; None when the box declares no allow-list.

    Besides its declared list: the standard library (the hook still refuses sockets and
    processes), the box's own helper modules, and what is already loaded (the runtime).
    """
    if not allow_imports:
        return None
    own = {path.stem for path in tools_dir.glob("*.py")}
    loaded = {name.split(".")[0] for name in sys.modules}
    declared = {name.split(".")[0] for name in allow_imports}
    return frozenset(declared | own | loaded | set(sys.stdlib_module_names))


def install_guard(workdir: Path, allowed_imports: frozenset[str] | None = None) -> None:
    """Refuse network, processes, writes outside `workdir` and undeclared imports, for good."""
    root = str(workdir.resolve())
    allowed_prefixes = (root, "/dev/null")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "import" and allowed_imports is not None:
            top = str(args[0]).split(".")[0]
            if top not in allowed_imports:
                raise SandboxViolation(
                    f"sandboxed box may not import '{top}': add it to allow_imports in box.toml"
                )
        if event in _BLOCKED_EVENTS:
            raise SandboxViolation(f"sandboxed box may not use {event}")
        if event == "open" and len(args) >= 2 and _writes(args[1], args[2] if len(args) > 2 else 0):
            path = args[0]
            if isinstance(path, int):
                return
            full = os.path.realpath(os.fsdecode(path))
            if not full.startswith(allowed_prefixes):
                raise SandboxViolation(f"sandboxed box may not write outside its temp dir: {full}")

    sys.addaudithook(hook)


def _writes(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return bool(_WRITE_MODES & set(mode))
    if isinstance(flags, int):
        return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
    return False
