"""slow_compute: the tasks scenarios' long call (lifecycle, cancel, TTL, headers)."""

from __future__ import annotations

import time


def compute(seconds: float = 1, label: str = "") -> str:
    """Sleep `seconds`, then say so (0: at once).

    Args:
        seconds: how long the call takes.
        label: a name the scenario gives the call, echoed back.
    """
    time.sleep(max(0.0, seconds))
    return f"computed {label or 'result'} after {seconds:g} s"
