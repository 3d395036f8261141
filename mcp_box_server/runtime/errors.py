"""The runtime's exception hierarchy: each failure of a call has its own type.

Bad arguments are not tool failures, and neither is a worker that died: clients
and the student harness react to each differently.
"""

from __future__ import annotations

from typing import Any


class BoxRuntimeError(Exception):
    """Base class: a call could not produce a result."""


class UnknownTool(BoxRuntimeError):
    """No tool of that name in the box."""


class InvalidArguments(BoxRuntimeError):
    """The arguments do not fit the tool's schema; the message names each parameter."""


class ToolFailed(BoxRuntimeError):
    """The tool raised an exception; the message is the exception's type and text."""

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


class ToolTimeout(BoxRuntimeError):
    """The call ran past its timeout; its worker was killed and replaced."""


class WorkerCrashed(BoxRuntimeError):
    """The worker died during the call (signal, os._exit, memory cap) or broke the protocol."""


class ResultTooLarge(BoxRuntimeError):
    """The result is over the box's size cap (`max_result_mb`); the message gives both sizes."""


class InputNeeded(BoxRuntimeError):
    """The tool asked the client something (2026-07-28): the call ends with the questions.

    `requests` maps each question's key to its kind and params. The client answers and
    calls again; the tool then runs with the answers at hand.
    """

    def __init__(self, requests: dict[str, tuple[str, dict[str, Any]]]) -> None:
        super().__init__(f"the client must answer {len(requests)} request(s) first")
        self.requests = requests


class MissingClientCapability(BoxRuntimeError):
    """The tool asked the client for something it did not declare it can do."""


class BoxUnavailable(BoxRuntimeError):
    """The box has no worker that can load it (bad manifest, every start failed, closed)."""
