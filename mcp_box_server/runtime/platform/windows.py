"""Windows: workers do not run natively (no fork, no AF_UNIX descriptor passing, no
process groups to kill, no `resource`); `serve` says where to run instead.

Spawned workers with Job Objects are the way to trusted boxes here; until they
are built, `serve`, `doctor` and distill's validation refuse with a pointer to
WSL2 or the Docker image, and never start a worker.
"""

from __future__ import annotations

from typing import Any

from mcp_box_server.runtime.confine import Confinement
from mcp_box_server.runtime.confine.namespaces import Entered

NAME = "windows"
FORKS_WORKERS = False
SERVE_REFUSAL: str | None = (
    "mcp-box cannot run box workers natively on Windows yet. Run the server in WSL2 "
    "(`wsl -- mcp-box serve`, see the README's Windows section) or in the Docker image "
    "over stdio (`docker run -i --rm --entrypoint mcp-box mcp-box serve`)."
)


def confine_worker(
    box_dir: str, workdir: str, memory_mb: int, entered: Entered, channel_fd: int
) -> Confinement:
    report = Confinement()
    report.missing["sandbox"] = report.required_missing["sandbox"] = SERVE_REFUSAL or ""
    return report


def limit_memory(megabytes: int) -> None:
    raise OSError(f"no memory cap for workers on Windows: {SERVE_REFUSAL}")


def cpu_seconds(pid: int) -> float:
    return 0.0


def kernel_layers() -> dict[str, Any]:
    return {"workers": SERVE_REFUSAL}
