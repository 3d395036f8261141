"""The harness's exception hierarchy (model errors live in `mcp_box_server.llm.errors`).

    StudentError
    ├── ServerUnavailable   the box server could not be started, reached or listed
    └── BenchmarkError      an unknown benchmark, a bad task file or range (also ValueError)

Tool failures are never raised: they are step results the model sees.
"""

from __future__ import annotations


class StudentError(Exception):
    """Base class of harness errors."""


class ServerUnavailable(StudentError):
    """The MCP box server could not be started or reached."""


class BenchmarkError(StudentError, ValueError):
    """A benchmark cannot be loaded as asked."""
