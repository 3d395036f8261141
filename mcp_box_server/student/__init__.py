"""The student harness: a small model answers questions with box tools reached over MCP.

Public API (model access itself lives in `mcp_box_server.llm`):

    Agent, AgentConfig            the agent loop (`agent`), yielding typed steps (`steps`)
    StudentModel                  the shared chat client bounded by a deadline, optionally streamed (`model`)
    BoxConnection, ServerTarget   the MCP client to `mcp-box serve` (`connection`)
    load_benchmark, run_arm       benchmarks and the evaluation runner (`benchmarks`, `evaluation`)

Submodules import lazily so that `mcp-box --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_box_server.student.agent import Agent, AgentConfig
    from mcp_box_server.student.benchmarks import load_benchmark
    from mcp_box_server.student.connection import BoxConnection, ServerTarget
    from mcp_box_server.student.evaluation import run_arm
    from mcp_box_server.student.model import StudentModel

_EXPORTS = {
    "Agent": "agent",
    "AgentConfig": "agent",
    "BoxConnection": "connection",
    "ServerTarget": "connection",
    "StudentModel": "model",
    "load_benchmark": "benchmarks",
    "run_arm": "evaluation",
}

__all__ = [
    "Agent",
    "AgentConfig",
    "BoxConnection",
    "ServerTarget",
    "StudentModel",
    "load_benchmark",
    "run_arm",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"mcp_box_server.student.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'mcp_box_server.student' has no attribute {name!r}")
