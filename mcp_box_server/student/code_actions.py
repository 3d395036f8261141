"""Code actions: the student writes Python against the boxes (Agent Distillation's CodeAgent).

Each step the model writes `Thought:` and a code block (ended by `<end_code>`); the
code runs on the server through the `execute` tool (code mode: a fresh sandboxed
worker per program, each box a module of functions) and what it printed comes back
as the `Observation:`. A program that calls `final_answer(x)` ends the run with x.
Tools reach the model as Python signatures (`get_schema`), not JSON schemas.

With `samples > 1` a step is the paper's self-consistent action generation: N code
actions sampled, each run in its own program (a fresh namespace, no shared state),
those that fail to parse or raise dropped, and a vote on the returned value and the
printed output together; the winner's outcome is used as it ran, never run again.
Chat (`model.chat`) and completion (`model.complete`) endpoints both work.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_box_server.llm import AssistantMessage, ChatResult, ModelError
from mcp_box_server.student.agent import AgentConfig
from mcp_box_server.student.connection import ToolBackend, ToolOutcome
from mcp_box_server.student.retrieval import ToolSelector, found_tool_names
from mcp_box_server.student.steps import (
    ActionStep,
    Candidate,
    EndReason,
    FinalAnswerStep,
    Run,
    Step,
    ToolCall,
    ToolResult,
)

END_CODE = "<end_code>"
STOP = [END_CODE, "\nObservation:"]
CODE_BLOCK = re.compile(r"```(?:py|python)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)
META = frozenset({"find_tools", "call_tool", "box_status", "execute", "get_schema"})
OBSERVATION_CHARS = 4000
NO_CODE = (
    "Error: no code block found. Write 'Thought:', then 'Code:' and a ```py block ending with <end_code>."
)

INSTRUCTIONS = """You solve tasks by writing Python code that calls tools.
The tools are Python functions in modules named after their boxes:

```py
{schemas}
```

At each step, write 'Thought:' with your reasoning, then 'Code:' and a block of Python:
Code:
```py
result = math.solve_24(numbers=[4, 7, 8, 8])
print(result)
```<end_code>
What the code prints comes back to you as 'Observation:'. Variables do not carry over
between steps: print what you need. When you know the answer, end with
final_answer(answer) in a code block."""


@dataclass(frozen=True, slots=True)
class Tried:
    """One sampled code action: its text, its code (None: no block), what running it gave."""

    message: AssistantMessage
    code: str | None
    outcome: ToolOutcome | None

    @property
    def failed(self) -> str | None:
        """Why it is dropped from the vote, if it is."""
        if self.code is None:
            return "no code block"
        if self.outcome is None or not self.outcome.ok:
            first = (self.outcome.text if self.outcome else "").strip().splitlines()
            return f"raised: {first[0][:200]}" if first else "raised"
        return None

    @property
    def key(self) -> str:
        """What candidates vote on: the returned value and the printed output together."""
        data = self.outcome.structured if self.outcome else None
        data = data if isinstance(data, dict) else {}
        return json.dumps([data.get("value"), data.get("output", "")], sort_keys=True, default=str)


class CodeAgent:
    """Runs questions with code actions through `execute`; `api` "chat" or "completions".

    Example:
        agent = CodeAgent(model, connection, AgentConfig(samples=5))
        run = await agent.solve("Use the numbers 4 9 10 13 ... to obtain 24.")
    """

    def __init__(
        self, model: Any, tools: ToolBackend, config: AgentConfig | None = None, api: str = "chat"
    ) -> None:
        self.model = model
        self.tools = tools
        self.config = config or AgentConfig()
        self.api = api

    async def solve(self, question: str) -> Run:
        started = time.perf_counter()
        steps: list[ActionStep] = []
        history: list[dict[str, Any]] = []
        async for step in self._run(question, history):
            if isinstance(step, FinalAnswerStep):
                return Run(question, steps, step, history, time.perf_counter() - started, "code")
            steps.append(step)
        raise RuntimeError("agent loop ended without a final answer")  # pragma: no cover

    def run(self, question: str) -> AsyncIterator[Step]:
        """Yield one `ActionStep` per code action, then one `FinalAnswerStep`."""
        return self._run(question, [])

    async def _run(self, question: str, history: list[dict[str, Any]]) -> AsyncIterator[Step]:
        try:
            schemas = await self._schemas(question)
        except ValueError as exc:
            yield FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc))
            return
        history += [
            {"role": "system", "content": INSTRUCTIONS.format(schemas=schemas)},
            {"role": "user", "content": f"Task: {question}"},
        ]
        failures = 0
        for index in range(self.config.max_steps):
            try:
                result = await self._generate(history)
            except ModelError as exc:
                yield FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
                return
            tried = await asyncio.gather(*(self._try(choice) for choice in result.choices))
            winner, candidates = vote(tried)
            chosen = tried[winner]
            step = self._step(index, result, chosen, candidates)
            observation = _observation(chosen)
            history += [
                {"role": "assistant", "content": _written(chosen.message)},
                {"role": "user", "content": f"Observation: {observation}"},
            ]
            structured = chosen.outcome.structured if chosen.outcome else None
            if chosen.failed is None and isinstance(structured, dict) and structured.get("final"):
                yield step
                answer = structured.get("value")
                text = answer if isinstance(answer, str) else json.dumps(answer, default=str)
                yield FinalAnswerStep(text, _written(chosen.message), EndReason.ANSWER)
                return
            yield step
            failures = failures + 1 if chosen.failed else 0
            if failures > self.config.max_retries:
                error = f"{failures} code actions in a row failed; the last: {chosen.failed}"
                yield FinalAnswerStep("", "", EndReason.RETRY_LIMIT, error=error)
                return
        error = f"the step limit ({self.config.max_steps}) was reached without final_answer"
        yield FinalAnswerStep("", "", EndReason.STEP_LIMIT, error=error)

    async def _schemas(self, question: str) -> str:
        """The Python signatures of the tools offered (the server's `get_schema`)."""
        tools = await self.tools.list_tools()
        box_tools = [tool for tool in tools if tool.name not in META]
        names = [tool.name for tool in ToolSelector(self.config.max_tools).select(question, box_tools)]
        if not names and any(tool.name == "find_tools" for tool in tools):  # serve --code-mode-only
            k = self.config.max_tools or 10
            found = await self.tools.call_tool("find_tools", {"query": question, "k": min(k, 50)})
            names = found_tool_names(found.structured)
        outcome = await self.tools.call_tool("get_schema", {"names": names})
        if not outcome.ok:
            raise ValueError(
                f"the server gave no tool signatures (is it serving --code-mode?): {outcome.text}"
            )
        return outcome.text

    async def _generate(self, history: list[dict[str, Any]]) -> ChatResult:
        samples, temperature = self.config.samples, self.config.sampling_temperature
        limits = {"max_tokens": self.config.max_tokens}
        if self.api == "completions":
            prompt = _as_prompt(history) + "Thought:"
            return await self.model.complete(prompt, stop=STOP, n=samples, temperature=temperature, **limits)
        return await self.model.chat(history, n=samples, temperature=temperature, stop=STOP, **limits)

    async def _try(self, message: AssistantMessage) -> Tried:
        """Run one candidate's code in its own program (a fresh worker: nothing shared)."""
        code = code_of(message.content)
        if code is None:
            return Tried(message, None, None)
        return Tried(message, code, await self.tools.call_tool("execute", {"code": code}))

    def _step(self, index: int, result: ChatResult, chosen: Tried, candidates: list[Candidate]) -> ActionStep:
        call = ToolCall(f"code-{index}", "execute", {"code": chosen.code or ""}, source="code")
        outcome = chosen.outcome
        step = ActionStep(
            index,
            _written(chosen.message),
            usage=result.usage,
            model_latency_s=result.latency_s,
            candidates=candidates if len(candidates) > 1 else [],
            finish_reason=chosen.message.finish_reason,
        )
        if chosen.code is not None and outcome is not None:
            step.tool_calls.append(call)
            step.results.append(
                ToolResult(
                    call.id, "execute", outcome.text, outcome.structured, outcome.error, outcome.latency_s
                )
            )
            step.tool_latency_s = outcome.latency_s
        return step


def vote(tried: Sequence[Tried]) -> tuple[int, list[Candidate]]:
    """The winner's index and every candidate's fate: most common (value, output) among those
    that ran; ties go to the first; when all failed, the first (its error reaches the model)."""
    keys = [None if t.failed else t.key for t in tried]
    counts = Counter(key for key in keys if key is not None)
    winner = 0
    if counts:
        best = max(counts.values())
        winner = next(i for i, key in enumerate(keys) if key is not None and counts[key] == best)
    candidates = [
        Candidate(i, _summary(t), counts.get(keys[i], 0) if keys[i] else 0, t.failed)
        for i, t in enumerate(tried)
    ]
    return winner, candidates


def code_of(text: str | None) -> str | None:
    """The first code block of a reply (an unclosed one runs to the end), or None."""
    match = CODE_BLOCK.search(text or "")
    if match is None or not match.group(1).strip():
        return None
    return match.group(1).replace(END_CODE, "").strip() + "\n"


def _summary(tried: Tried) -> str:
    """One line for the trace: the candidate's code and what running it gave."""
    if tried.code is None:
        return " ".join((tried.message.content or "").split())[:160]
    code = tried.code.strip().replace("\n", "; ")
    data = tried.outcome.structured if tried.outcome else None
    if isinstance(data, dict):
        shown = " ".join(str(data.get("output", "")).split()) + f" -> {data.get('value')!r}"
    else:
        lines = (tried.outcome.text if tried.outcome else "").strip().splitlines()
        shown = lines[0] if lines else ""
    return f"{code[:160]}  => {shown.strip()[:200]}"


def _observation(tried: Tried) -> str:
    if tried.code is None:
        return NO_CODE
    text = tried.outcome.text if tried.outcome else ""
    if tried.outcome is not None and not tried.outcome.ok:
        text = f"Error: {text}\nFix the code and try again."
    return text[:OBSERVATION_CHARS]


def _written(message: AssistantMessage) -> str:
    """The action as the transcript keeps it: its text, the code block closed."""
    text = (message.content or "").replace(END_CODE, "").strip()
    if not text.startswith("Thought:"):
        text = "Thought: " + text
    if text.count("```") % 2:
        text += "\n```"
    return text + END_CODE


def _as_prompt(history: Sequence[dict[str, Any]]) -> str:
    """The conversation as one text to continue (completion endpoints)."""
    return "\n\n".join(str(message["content"]) for message in history) + "\n\n"
