"""failing_job: a tool that runs and reports an error (a completed task with isError)."""

from __future__ import annotations

import time


def job() -> str:
    """Work for about a second, then fail."""
    time.sleep(1)
    raise RuntimeError("failing_job failed on purpose")
