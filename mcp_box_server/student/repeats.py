"""The loop breaker: a model that repeats the same call is told so, then stopped.

Small models that do not see (or do not read) a result call the same tool with
the same arguments until the step limit. A repeated call is not run again: the
model gets the earlier result with a nudge. When one call has been repeated
`limit` times the run ends as `stuck`, never as an answer.

Only calls that were executed count (unreadable, unknown or badly argued calls
are the retry limit's business: `StepEnds` applies both, for every agent loop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mcp_box_server.student.steps import (
    ActionStep,
    EndReason,
    ErrorKind,
    FinalAnswerStep,
    ToolCall,
    ToolResult,
)

NUDGE = (
    "You already called {name} with these arguments at step {step}; it was not run again. "
    "Its result was:\n{text}\nUse this result: call a different tool or other arguments, or give "
    "the final answer."
)
_NOT_EXECUTED = frozenset(
    {ErrorKind.PARSE, ErrorKind.UNKNOWN_TOOL, ErrorKind.BAD_ARGUMENTS, ErrorKind.REPEATED}
)


@dataclass(slots=True)
class _Seen:
    step: int
    text: str
    repeats: int = 0


class RepeatGuard:
    """Remembers executed calls of one run; `limit` 0 turns the breaker off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, _Seen] = {}

    def earlier(self, call: ToolCall) -> ToolResult | None:
        """The nudge for a call made before (not run again), or None for a new call."""
        seen = self._seen.get(_key(call)) if self.limit else None
        if seen is None:
            return None
        text = NUDGE.format(name=call.name, step=seen.step + 1, text=seen.text)
        return ToolResult(call.id, call.name, text, error=ErrorKind.REPEATED)

    def record(self, step: ActionStep) -> str | None:
        """Count the step's calls; the reason to stop when one reached the limit, else None."""
        if not self.limit:
            return None
        stuck = None
        for call, result in zip(step.tool_calls, step.results, strict=True):
            key = _key(call)
            if result.error is ErrorKind.REPEATED:
                seen = self._seen[key]
                seen.repeats += 1
                if seen.repeats >= self.limit and stuck is None:
                    arguments = json.dumps(call.arguments, ensure_ascii=False)[:200]
                    stuck = f"the model repeated {call.name}({arguments}) {seen.repeats} times"
            elif result.error not in _NOT_EXECUTED and key not in self._seen:
                self._seen[key] = _Seen(step.index, result.text)
        return stuck


class StepEnds:
    """Whether a run ends after a step: stuck on a repeated call, or too many invalid steps in a row."""

    def __init__(self, max_repeats: int, max_retries: int) -> None:
        self.repeats = RepeatGuard(max_repeats)
        self.max_retries = max_retries
        self._invalid_streak = 0

    def after(self, step: ActionStep) -> FinalAnswerStep | None:
        """The final step that ends the run after `step`, or None to go on."""
        stuck = self.repeats.record(step)
        if stuck is not None:
            return FinalAnswerStep("", step.model_output, EndReason.STUCK, error=stuck)
        self._invalid_streak = self._invalid_streak + 1 if step.invalid else 0
        if self._invalid_streak > self.max_retries:
            last = step.results[-1].text if step.results else ""
            return FinalAnswerStep("", step.model_output, EndReason.RETRY_LIMIT, error=last)
        return None


def _key(call: ToolCall) -> str:
    return json.dumps([call.name, call.arguments], sort_keys=True, default=str)
