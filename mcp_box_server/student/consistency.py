"""Self-consistent action generation (Agent Distillation, arXiv 2505.17612).

At each step the model proposes N candidates (one request with `n=N`, sampled).
Each candidate is parsed; an action is executed (identical actions only once);
candidates that fail to parse or whose calls error are dropped. The rest vote:

- an action's vote key is the tuple of its results' texts, so two different
  calls that produce the same result agree;
- a final answer's key is its extracted answer (case and spacing ignored).

The key with the most votes wins (ties: the candidate that came first) and the
first candidate with that key is the step's action or answer. When every
candidate was dropped, the first one is kept, so its error reaches the model.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from mcp_box_server.llm import AssistantMessage
from mcp_box_server.student.parsing import ParsedMessage
from mcp_box_server.student.steps import Candidate, ToolCall, ToolResult

Executed = list[tuple[ToolCall, ToolResult]]


@dataclass(frozen=True, slots=True)
class Vote:
    """The winning candidate: its message, parsed form, executed calls, and every candidate's fate."""

    message: AssistantMessage
    parsed: ParsedMessage
    executed: Executed
    candidates: list[Candidate]
    winner: int


async def vote(
    choices: Sequence[AssistantMessage],
    parse: Callable[[AssistantMessage], ParsedMessage],
    execute: Callable[[ParsedMessage], Awaitable[Executed]],
    answer_of: Callable[[str | None], str],
) -> Vote:
    """Parse, execute and vote over `choices`; see the module docstring for the rule."""
    parsed = [parse(choice) for choice in choices]
    signatures = [_signature(p) if p.is_action and not p.errors else None for p in parsed]
    distinct = {sig: p for sig, p in zip(signatures, parsed, strict=True) if sig is not None}
    runs = await asyncio.gather(*(execute(p) for p in distinct.values()))
    by_signature = dict(zip(distinct, runs, strict=True))

    executed: list[Executed] = []
    keys: list[str | None] = []
    summaries: list[str] = []
    dropped: list[str | None] = []
    for choice, message, signature in zip(choices, parsed, signatures, strict=True):
        if not message.is_action:
            answer = " ".join(answer_of(choice.content).lower().split())
            executed.append([])
            keys.append(f"answer:{answer}")
            summaries.append(f"answer: {answer}")
            dropped.append(None)
            continue
        if signature is None:
            executed.append([])
            keys.append(None)
            summaries.append("unreadable call")
            dropped.append(f"parse error: {message.errors[0].reason}")
            continue
        pairs = by_signature[signature]
        executed.append(pairs)
        summaries.append(
            "; ".join(f"{c.name}({json.dumps(c.arguments)[:60]}) -> {r.text[:60]}" for c, r in pairs)
        )
        failure = next((r for _, r in pairs if not r.ok), None)
        if failure is not None:
            keys.append(None)
            dropped.append(f"{failure.error}: {failure.text[:100]}")
        else:
            keys.append("result:" + json.dumps([r.text for _, r in pairs]))
            dropped.append(None)

    counts = Counter(key for key in keys if key is not None)
    winner = 0
    if counts:
        best = max(counts.values())
        winner = next(i for i, key in enumerate(keys) if key is not None and counts[key] == best)
    if not executed[winner] and parsed[winner].is_action:
        executed[winner] = await execute(parsed[winner])
    candidates = [
        Candidate(i, summaries[i], counts[keys[i]] if keys[i] is not None else 0, dropped[i])
        for i in range(len(choices))
    ]
    return Vote(choices[winner], parsed[winner], executed[winner], candidates, winner)


def _signature(parsed: ParsedMessage) -> str:
    return json.dumps([[c.name, c.arguments] for c in parsed.calls], sort_keys=True, default=str)
