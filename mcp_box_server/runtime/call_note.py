"""What one tool call met inside the runtime, noted for the server's call log and metrics.

The server opens a note around a call (`noting()`); the pool writes how long the call
waited for a worker, and the server's result mapping writes the kind of failure. A
ContextVar carries the note down the call's own task, so no signature between them
changes, and a call made with no note open (a test, `mcp-box call`) notes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class CallNote:
    waited: float = 0.0  # seconds the call waited for a free worker
    error: str | None = None  # the kind of failure ("tool_failed", "tool_timeout", ...), if any


_current: ContextVar[CallNote | None] = ContextVar("mcp_box_call_note", default=None)


@contextlib.contextmanager
def noting() -> Iterator[CallNote]:
    """Open a note for the call made inside this block."""
    note = CallNote()
    token = _current.set(note)
    try:
        yield note
    finally:
        _current.reset(token)


def waited(seconds: float) -> None:
    """The call waited `seconds` for a worker (noted by the pool)."""
    if (note := _current.get()) is not None:
        note.waited = seconds


def failed(error: BaseException) -> None:
    """The call failed with `error`: its kind is the error's type, in snake case."""
    if (note := _current.get()) is not None:
        note.error = kind_of(error)


def kind_of(error: BaseException) -> str:
    """`ToolTimeout` → "tool_timeout": a label value Prometheus and log readers both like."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()
