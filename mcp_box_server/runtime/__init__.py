"""Runs box tool code in worker processes, never in the caller's process."""

from mcp_box_server.runtime.conversation import ClientCannot, Conversation
from mcp_box_server.runtime.errors import (
    BoxRuntimeError,
    BoxUnavailable,
    InputNeeded,
    InvalidArguments,
    MissingClientCapability,
    ResultTooLarge,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
    WorkerCrashed,
)
from mcp_box_server.runtime.pool import BoxPool

__all__ = [
    "BoxPool",
    "BoxRuntimeError",
    "BoxUnavailable",
    "ClientCannot",
    "Conversation",
    "InputNeeded",
    "InvalidArguments",
    "MissingClientCapability",
    "ResultTooLarge",
    "ToolFailed",
    "ToolTimeout",
    "UnknownTool",
    "WorkerCrashed",
]
