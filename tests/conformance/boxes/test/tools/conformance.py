"""Tools named by the MCP conformance suite's tool scenarios (exposed as `test_<function>`).

Only the scenarios a box tool can honestly satisfy are here: a box tool returns a
JSON-able value (sent as text + structured content) or raises (sent as an MCP tool
error). Image, audio, embedded-resource, logging, progress, sampling and
elicitation scenarios need server features a box tool has no access to; they are
listed in ../../../expected_failures.txt instead of being faked.
"""

from __future__ import annotations

SIMPLE_TEXT = "This is a simple text response for testing."
ERROR_MESSAGE = "This tool intentionally returns an error for testing"


def simple_text() -> str:
    """Return a fixed line of text (conformance scenario tools-call-simple-text)."""
    return SIMPLE_TEXT


def error_handling() -> str:
    """Always fail with a fixed message (conformance scenario tools-call-error)."""
    raise RuntimeError(ERROR_MESSAGE)
