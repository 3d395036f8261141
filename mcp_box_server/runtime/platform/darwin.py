"""macOS: a fresh process per worker, Seatbelt for sandboxed boxes, memory by RSS watch.

Workers are spawned, not forked from a preloaded zygote: macOS's system libraries
(the Objective-C runtime, libdispatch, Accelerate that NumPy links) are not safe
to use in the child of a fork that happened after they started, which is why
CPython's `multiprocessing` spawns by default on macOS since 3.8. A spawned
worker imports its box's dependencies itself: slower to start, never undefined.

There are no namespaces: a trusted worker is its own process group, killed as a
group (a process a tool starts in a new session may outlive it). RLIMIT_AS is
refused on Apple Silicon (ValueError) and not enforced on Intel, so a worker's
memory is watched instead: a thread samples its peak resident size and ends the
worker once it passes the cap. The watch is in the worker, so one C call that
allocates without releasing the GIL may pass the cap before it is stopped.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from mcp_box_server.runtime.confine import Confinement, _libc, fds, limits
from mcp_box_server.runtime.confine.namespaces import Entered
from mcp_box_server.runtime.confine.policy import sandbox_policy
from mcp_box_server.runtime.platform import seatbelt

NAME = "darwin"
FORKS_WORKERS = False
SERVE_REFUSAL: str | None = None
WATCH_INTERVAL = 0.05  # seconds between two looks at the worker's peak memory
MEMORY_EXIT = 3  # the exit code of a worker that passed its memory cap (as after a MemoryError)


def confine_worker(
    box_dir: str, workdir: str, memory_mb: int, entered: Entered, channel_fd: int
) -> Confinement:
    """Descriptors, rlimits (all but RLIMIT_AS), the memory watch, then the Seatbelt profile.

    Each required layer is tried even after one failed; where Seatbelt is missing
    the worker loads nothing and says so (see `runtime.confine`).
    """
    policy = sandbox_policy(box_dir, workdir, memory_mb, system=seatbelt.SYSTEM_READ, pid=os.getpid())
    report = Confinement.of_namespaces(entered)
    report.attempt("descriptors", fds.close_inherited, [channel_fd])
    report.attempt("rlimits", limits.apply, None, policy.threads, policy.open_files)
    report.attempt("memory watch", watch_memory, memory_mb)
    report.attempt("seatbelt", seatbelt.enforce, seatbelt.profile(policy))
    return report


def limit_memory(megabytes: int) -> None:
    watch_memory(megabytes)


def watch_memory(megabytes: int) -> None:
    """End this process once its peak resident size passes `megabytes` (checked from a thread)."""
    import resource

    cap = megabytes * 1024 * 1024

    def watch() -> None:
        while resource.getrusage(resource.RUSAGE_SELF).ru_maxrss <= cap:  # bytes on macOS
            time.sleep(WATCH_INTERVAL)
        print(f"ran out of memory (cap {megabytes} MB): the worker was stopped", file=sys.stderr, flush=True)
        os._exit(MEMORY_EXIT)

    threading.Thread(target=watch, name="mcp-box memory watch", daemon=True).start()


def cpu_seconds(pid: int) -> float:
    """Not read on macOS (it would take libproc): time a tool computes while it waits for
    the client's answer is not charged to its call."""
    del pid
    return 0.0


def kernel_layers() -> dict[str, Any]:
    try:
        _libc.function("sandbox_init")
    except OSError as exc:
        return {"seatbelt": f"missing: {exc.strerror}"}
    return {"seatbelt": "sandbox_init available"}
