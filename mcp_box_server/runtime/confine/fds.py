"""Descriptors: a worker keeps its stdio and its channel, and nothing else of its parents.

A forked worker inherits whatever the zygote held open (its control socket, its
epoll instance, the wake-up pipe): used from a tool, they reach into the zygote.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def close_inherited(keep: Iterable[int]) -> None:
    """Close every descriptor but `keep` (and 0, 1, 2)."""
    kept = sorted({0, 1, 2, *keep})
    low = 0
    for fd in kept:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _max_fd())


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 65536
