"""Typed records the agent loop yields; the CLI, traces and tests all read this stream.

A run is a sequence of `ActionStep`s (one per model generation) ended by one
`FinalAnswerStep`. Every record turns into plain JSON with `to_dict()`, which
is what the evaluation traces store.

`usage` is what the model spent on the task; `probe_usage` what the harness's own
one-token probes cost (the check that tool results reach the prompt), kept apart
so token figures compare models, not harness checks.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from mcp_box_server.llm import Usage


class ErrorKind(enum.StrEnum):
    """Why an action failed; each kind reaches the model with its own message."""

    PARSE = "parse_error"  # the call could not be read (malformed JSON, no name)
    UNKNOWN_TOOL = "unknown_tool"  # the name is not a tool the server offers
    BAD_ARGUMENTS = "bad_arguments"  # the arguments do not fit the tool's schema
    TOOL_FAILED = "tool_failed"  # the tool ran and raised, timed out or crashed
    CONNECTION = "connection"  # the MCP server could not be reached
    REPEATED = "repeated_call"  # the same call with the same arguments again: not run, earlier result sent


class EndReason(enum.StrEnum):
    """How a run ended."""

    ANSWER = "answer"  # the model answered without calling a tool
    STEP_LIMIT = "step_limit"  # max steps reached; the model was asked for a final answer
    RETRY_LIMIT = "retry_limit"  # too many invalid actions in a row
    STUCK = "stuck"  # the model kept repeating the same call; no answer
    LENGTH = "length"  # the reply was cut off at max_tokens, even after a "be brief" retry; no answer
    MODEL_ERROR = "model_error"  # the model endpoint failed


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the agent tried: the name and arguments as parsed, `source` native or text."""

    id: str
    name: str
    arguments: dict[str, Any]
    source: str = "native"


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What came back for one call; `error` is None on success."""

    call_id: str
    name: str
    text: str
    structured: Any = None
    error: ErrorKind | None = None
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sampled action under self-consistency, with its vote count and fate."""

    index: int
    summary: str
    votes: int = 0
    dropped: str | None = None  # why it was excluded from the vote, if it was


@dataclass(slots=True)
class ActionStep:
    """One generate → parse → execute round."""

    index: int
    model_output: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    reasoning: str | None = None
    usage: Usage = field(default_factory=Usage)
    model_latency_s: float = 0.0
    tool_latency_s: float = 0.0
    tools_offered: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    finish_reason: str | None = None  # the server's, e.g. "stop", "tool_calls", "length"
    notes: list[str] = field(default_factory=list)  # what the harness did about this step, and why
    probe_usage: Usage = field(default_factory=Usage)

    @property
    def invalid(self) -> bool:
        """True when every attempted call was unreadable, unknown or badly argued.

        Such steps count toward the retry limit; a tool that ran and failed does not.
        """
        executed = [r for r in self.results if r.error not in _INVALID]
        return bool(self.results) and not executed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = "action"
        data["usage"] = _usage(self.usage)
        data["probe_usage"] = _usage(self.probe_usage)
        return data


@dataclass(slots=True)
class FinalAnswerStep:
    """The end of a run: the extracted answer and the text it came from.

    `exception` keeps the model error that ended a `model_error` run (not traced).
    """

    answer: str
    output: str
    reason: EndReason = EndReason.ANSWER
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    model_latency_s: float = 0.0
    finish_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    probe_usage: Usage = field(default_factory=Usage)
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "final",
            "answer": self.answer,
            "output": self.output,
            "reason": self.reason.value,
            "error": self.error,
            "usage": _usage(self.usage),
            "probe_usage": _usage(self.probe_usage),
            "model_latency_s": self.model_latency_s,
            "finish_reason": self.finish_reason,
            "notes": self.notes,
        }


Step = ActionStep | FinalAnswerStep
_INVALID = frozenset({ErrorKind.PARSE, ErrorKind.UNKNOWN_TOOL, ErrorKind.BAD_ARGUMENTS})


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


@dataclass(slots=True)
class Run:
    """A whole run: its steps, the final answer, the conversation and the wall time.

    `tool_mode` is how tools reached the model at the end ("native" or "text"; "none"
    without a box), `tool_mode_reason` why the run switched to text (None when it did not).
    """

    question: str
    steps: list[ActionStep]
    final: FinalAnswerStep
    messages: list[dict[str, Any]]
    wall_s: float = 0.0
    tool_mode: str = "native"
    tool_mode_reason: str | None = None

    @property
    def answer(self) -> str:
        return self.final.answer

    @property
    def usage(self) -> Usage:
        total = self.final.usage
        for step in self.steps:
            total = total + step.usage
        return total

    @property
    def probe_usage(self) -> Usage:
        total = self.final.probe_usage
        for step in self.steps:
            total = total + step.probe_usage
        return total

    @property
    def tool_calls(self) -> int:
        return sum(len(step.tool_calls) for step in self.steps)

    @property
    def model_latency_s(self) -> float:
        return self.final.model_latency_s + sum(step.model_latency_s for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "end": self.final.reason.value,
            "error": self.final.error,
            "steps": [step.to_dict() for step in [*self.steps, self.final]],
            "messages": self.messages,
            "tool_mode": self.tool_mode,
            "tool_mode_reason": self.tool_mode_reason,
            "tool_calls": self.tool_calls,
            "usage": _usage(self.usage),
            "probe_usage": _usage(self.probe_usage),
            "model_latency_s": round(self.model_latency_s, 4),
            "wall_s": round(self.wall_s, 4),
        }
