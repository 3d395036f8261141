"""The operating system seen by the runtime: one module per OS behind one small interface.

`current()` picks the module once, from `sys.platform`, as CPython's `asyncio`
picks its event loop module; each module imports only what exists on its OS,
so importing the package never fails anywhere. Callers never branch on the OS
themselves: they ask the module whether workers fork, to confine one, cap its
memory, read its CPU time, and say which kernel layers hold.

- `linux`: a fork server, namespaces, Landlock, seccomp, rlimits (`runtime.confine`).
- `darwin`: a fresh process per worker, Seatbelt for sandboxed boxes (`seatbelt`).
- `windows`: `serve` refused with a pointer to WSL2 or the Docker image.
"""

from __future__ import annotations

import functools
import importlib
import sys
from types import ModuleType
from typing import Any, Protocol

from mcp_box_server.runtime.confine import Confinement
from mcp_box_server.runtime.confine.namespaces import Entered

__all__ = ["Platform", "current"]


class Platform(Protocol):
    """What each platform module provides (module-level names)."""

    NAME: str
    FORKS_WORKERS: bool  # a preloaded zygote forks workers; False: each worker is a fresh process
    SERVE_REFUSAL: str | None  # why workers cannot run here at all; None where they can

    def confine_worker(
        self, box_dir: str, workdir: str, memory_mb: int, entered: Entered, channel_fd: int
    ) -> Confinement:
        """Confine this sandboxed worker for good; report which layers hold."""

    def limit_memory(self, megabytes: int) -> None:
        """Cap a trusted worker's memory by the means that holds on this OS."""

    def cpu_seconds(self, pid: int) -> float:
        """User and system CPU time process `pid` has used (0 when unknown or gone)."""

    def kernel_layers(self) -> dict[str, Any]:
        """What `doctor` reports of the kernel's sandbox facilities, before any worker starts."""


_MODULES = {"darwin": "darwin", "win32": "windows", "cygwin": "windows"}


@functools.cache
def current() -> Platform:
    """The module of the OS this process runs on (Linux for any other POSIX system)."""
    name = _MODULES.get(sys.platform, "linux")
    module: ModuleType = importlib.import_module(f"{__name__}.{name}")
    return module  # type: ignore[return-value]
