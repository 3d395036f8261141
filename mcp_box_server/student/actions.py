"""Parse, vote on and execute one generation: shared by the chat loop and the completion loop.

A generation's choices are read by the protocol's `parse` (chat: native calls or
calls as text; completions: an `Action:` line). With samples, the choices vote
(`consistency`); else the first is taken. An action becomes an `ActionStep` whose
calls ran through MCP; anything else is a `FinalAnswerStep` whose answer the
protocol's `answer_of` reads.

Execution errors are results, never exceptions: an unknown name is `unknown_tool`
(with the nearest names), a call made before is `repeated_call` (not run again; see
`repeats`), and what the server says about a call keeps its own kind.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_box_server.llm import AssistantMessage, ChatResult
from mcp_box_server.student import consistency
from mcp_box_server.student.connection import ToolBackend
from mcp_box_server.student.parsing import ParsedMessage
from mcp_box_server.student.repeats import RepeatGuard
from mcp_box_server.student.steps import (
    ActionStep,
    EndReason,
    ErrorKind,
    FinalAnswerStep,
    ToolCall,
    ToolResult,
)

NEAREST_TOOLS = 5  # names listed in an unknown-tool error
HIDDEN_TOOLS = frozenset({"call_tool", "box_status"})

Parse = Callable[[AssistantMessage, set[str]], ParsedMessage]
AnswerOf = Callable[[str | None], str]


@dataclass(slots=True)
class Outcome:
    """What one generation came to: a final answer, or an executed action step."""

    final: FinalAnswerStep | None = None
    step: ActionStep | None = None
    message: AssistantMessage | None = None
    parsed: ParsedMessage | None = None


class Actions:
    """Turns generations into steps for one protocol (`parse`, `answer_of`); `tools` None: no box."""

    def __init__(self, tools: ToolBackend | None, samples: int, parse: Parse, answer_of: AnswerOf) -> None:
        self.tools = tools
        self.samples = samples
        self.parse = parse
        self.answer_of = answer_of

    async def decide(self, result: ChatResult, known: set[str], index: int, guard: RepeatGuard) -> Outcome:
        """Parse (and with samples, vote on) the choices; execute the winning action."""
        usage, latency = result.usage, result.latency_s
        if self.tools is None:  # the baseline: every reply is an answer; samples vote on answers
            message = result.message
            if self.samples > 1:
                vote = await consistency.vote(
                    result.choices, lambda m: ParsedMessage(text=m.content or ""), _no_tools, self.answer_of
                )
                message = vote.message
            return Outcome(final=self.final(message, usage, latency))

        def parse(message: AssistantMessage) -> ParsedMessage:
            return self.parse(message, known)

        async def execute(parsed: ParsedMessage) -> list[tuple[ToolCall, ToolResult]]:
            return await self.execute(parsed, known, index, guard)

        if self.samples > 1:
            vote = await consistency.vote(result.choices, parse, execute, self.answer_of)
            message, parsed, executed, candidates = vote.message, vote.parsed, vote.executed, vote.candidates
        else:
            message = result.message
            parsed = parse(message)
            executed = await execute(parsed) if parsed.is_action else []
            candidates = []
        if not parsed.is_action:
            return Outcome(final=self.final(message, usage, latency))
        step = ActionStep(
            index=index,
            model_output=message.content or "",
            tool_calls=[call for call, _ in executed],
            results=[res for _, res in executed],
            reasoning=message.reasoning,
            usage=usage,
            model_latency_s=latency,
            tool_latency_s=max((r.latency_s for _, r in executed), default=0.0),
            candidates=candidates,
            finish_reason=message.finish_reason,
        )
        return Outcome(step=step, message=message, parsed=parsed)

    def final(self, message: AssistantMessage, usage: Any, latency: float) -> FinalAnswerStep:
        text = message.content or ""
        return FinalAnswerStep(
            self.answer_of(text),
            text,
            EndReason.ANSWER,
            usage=usage,
            model_latency_s=latency,
            finish_reason=message.finish_reason,
        )

    async def execute(
        self, parsed: ParsedMessage, known: set[str], index: int, guard: RepeatGuard
    ) -> list[tuple[ToolCall, ToolResult]]:
        """Run every call of one message concurrently; errors become results, never exceptions."""
        source = "native" if parsed.native else "text"
        pairs: list[tuple[ToolCall, ToolResult]] = []
        for number, error in enumerate(parsed.errors):
            call = ToolCall(error.id or f"call_{index}_e{number}", "", {}, source)
            text = f"could not read the tool call ({error.reason}): {error.fragment}"
            pairs.append((call, ToolResult(call.id, "", text, error=ErrorKind.PARSE)))
        calls = [
            ToolCall(c.id or f"call_{index}_{n}", c.name, c.arguments, source)
            for n, c in enumerate(parsed.calls)
        ]
        results = await asyncio.gather(*(self._call(call, known, guard) for call in calls))
        pairs += zip(calls, results, strict=True)
        return pairs

    async def _call(self, call: ToolCall, known: set[str], guard: RepeatGuard) -> ToolResult:
        assert self.tools is not None
        if call.name not in known:
            text = f"unknown tool '{call.name}'; nearest tools: {', '.join(nearest(call.name, known))}"
            return ToolResult(call.id, call.name, text, error=ErrorKind.UNKNOWN_TOOL)
        earlier = guard.earlier(call)
        if earlier is not None:
            return earlier
        outcome = await self.tools.call_tool(call.name, call.arguments)
        return ToolResult(
            call.id, call.name, outcome.text, outcome.structured, outcome.error, outcome.latency_s
        )


def nearest(name: str, known: set[str], k: int = NEAREST_TOOLS) -> list[str]:
    """The `k` served tool names most like `name` (a model's typo or invented name)."""
    candidates = sorted(n for n in known if n not in HIDDEN_TOOLS)
    lowered = name.lower()
    ranked = sorted(candidates, key=lambda n: -difflib.SequenceMatcher(None, lowered, n.lower()).ratio())
    return ranked[:k]


async def _no_tools(_: ParsedMessage) -> list[tuple[ToolCall, ToolResult]]:
    return []
