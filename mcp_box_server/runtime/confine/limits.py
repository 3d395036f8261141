"""Resource limits a confined worker cannot lift: soft and hard set to the same value.

Raising a hard limit needs CAP_SYS_RESOURCE, which the worker no longer has, and
the seccomp layer refuses `setrlimit`/`prlimit` with a new value anyway.
"""

from __future__ import annotations

FILE_SIZE_MB = 1024  # one file written in the temp dir


def cap(limit: int, value: int) -> None:
    """Set both soft and hard `limit` to `value`, never above the current hard limit."""
    import resource  # POSIX only: imported where it is used, so this module imports anywhere

    _, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, value))


def apply(memory_mb: int | None, threads: int, open_files: int) -> None:
    """Memory (address space), threads, open files, file size, core dumps: all fixed for good.

    RLIMIT_NPROC counts the tasks of the worker's uid (its own under root; in its own
    user namespace otherwise), so `threads` bounds how many threads it can start.
    `memory_mb=None` leaves the address space alone, where the OS does not enforce it
    (macOS: see `runtime.platform.darwin`).
    """
    import resource

    if memory_mb is not None:
        cap(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    cap(resource.RLIMIT_NPROC, threads)
    cap(resource.RLIMIT_NOFILE, open_files)
    cap(resource.RLIMIT_FSIZE, FILE_SIZE_MB * 1024 * 1024)
    cap(resource.RLIMIT_CORE, 0)
