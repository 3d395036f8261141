"""Linux: a fork server, and the kernel layers of `runtime.confine` for sandboxed workers.

Workers are forked from a zygote that has imported the box's dependencies (a fork
costs milliseconds); each gets its own namespaces where the kernel allows them.
Memory is capped by RLIMIT_AS, which Linux enforces on every allocation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mcp_box_server.runtime import confine, sandbox
from mcp_box_server.runtime.confine import Confinement, landlock
from mcp_box_server.runtime.confine.namespaces import Entered

NAME = "linux"
FORKS_WORKERS = True
SERVE_REFUSAL: str | None = None


def confine_worker(
    box_dir: str, workdir: str, memory_mb: int, entered: Entered, channel_fd: int
) -> Confinement:
    return confine.confine(confine.sandbox_policy(box_dir, workdir, memory_mb), entered, channel_fd)


def limit_memory(megabytes: int) -> None:
    sandbox.limit_memory(megabytes)


def cpu_seconds(pid: int) -> float:
    """From /proc (0 when the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kernel_layers() -> dict[str, Any]:
    version, why = landlock.probe()
    return {"landlock_abi": version} | ({"landlock_unavailable": why} if why else {})
