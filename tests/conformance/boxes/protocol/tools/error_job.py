"""protocol_error_job: its worker dies mid-call, a failure of the server side (a failed task)."""

from __future__ import annotations

import os


def error_job() -> str:
    """Kill the worker running this call."""
    os._exit(70)
