"""The agent loop for base models: `/v1/completions` and the plain text protocol.

The same loop as `agent.Agent`, with the same typed steps, limits and traces, for
models that continue text rather than chat (a base model, or any server's
completions endpoint). Each step:

1. generate: the prompt (`text_protocol.TextPrompt`) is continued until a stop
   sequence (`Observation:`, the next `Question:`, a blank line);
2. parse: an `Action: TOOL {JSON}` line is a call (an unreadable one a
   `parse_error`); anything else is the answer, read after `Answer:`;
3. execute: as in the chat loop (`actions`), and each result goes back as an
   `Observation:` line.

The loop breaker (`max_repeats`), the retry limit, `max_steps` (then the prompt is
ended with `Answer:` for a forced answer, `step_limit`), `samples` voting and the
model deadline work as in chat runs. A continuation cut off at `max_tokens` with
no action or answer in it ends the run as `length`. No probes are sent: the
harness writes the whole prompt, so the results are in it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any, Protocol

from mcp_box_server.llm import AssistantMessage, ChatResult, ModelError
from mcp_box_server.student.actions import Actions
from mcp_box_server.student.agent import AgentSetup
from mcp_box_server.student.parsing import ParsedMessage
from mcp_box_server.student.repeats import RepeatGuard, StepEnds
from mcp_box_server.student.retrieval import nearest_demos
from mcp_box_server.student.steps import ActionStep, EndReason, FinalAnswerStep, Run, Step
from mcp_box_server.student.text_protocol import (
    ANSWER_STOP,
    STOP,
    TextPrompt,
    answer_of,
    parse_continuation,
    result_observation,
    written_action,
)


class CompletionClient(Protocol):
    """What the loop needs from a model: continue a prompt (`StudentModel.complete`)."""

    @property
    def label(self) -> str: ...

    async def complete(
        self,
        prompt: str,
        *,
        stop: list[str],
        n: int = 1,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult: ...


class CompletionAgent(AgentSetup[CompletionClient]):
    """Runs questions against a base model with the text protocol; `tools` None is the no-box arm.

    Example:
        agent = CompletionAgent(model, connection, AgentConfig(shots=3), demos=await connection.demos())
        run = await agent.solve("Use the numbers 4 9 10 13 ... to obtain 24.")
    """

    _read_answer = staticmethod(answer_of)

    @cached_property
    def answers(self) -> Actions:
        """Reads the forced answer: the same protocol, no tools to call."""
        return Actions(None, self.config.samples, self._read_calls, self._read_answer)

    @staticmethod
    def _read_calls(message: AssistantMessage, known: set[str]) -> ParsedMessage:
        return parse_continuation(message.content, known)

    async def solve(self, question: str) -> Run:
        """Run to the end and return every step, the answer and the prompt as one message."""
        started = time.perf_counter()
        prompt = self._prompt(question)
        steps: list[ActionStep] = []
        async for step in self._run(question, prompt):
            if isinstance(step, FinalAnswerStep):
                wall = time.perf_counter() - started
                messages: list[dict[str, Any]] = [
                    {"role": "prompt", "content": prompt.last},
                    {"role": "completion", "content": step.output},
                ]
                mode = "completion" if self.tools is not None else "none"
                return Run(question, steps, step, messages, wall, mode)
            steps.append(step)
        raise RuntimeError("agent loop ended without a final answer")  # pragma: no cover

    def run(self, question: str) -> AsyncIterator[Step]:
        """Yield one `ActionStep` per action, then one `FinalAnswerStep`."""
        return self._run(question, self._prompt(question))

    def _prompt(self, question: str) -> TextPrompt:
        chosen = nearest_demos(question, self.demos, self.config.shots)
        return TextPrompt(question, chosen, with_tools=self.tools is not None)

    async def _run(self, question: str, prompt: TextPrompt) -> AsyncIterator[Step]:
        ends = StepEnds(self.config.max_repeats, self.config.max_retries)
        discovered: set[str] = set()
        for index in range(self.config.max_steps if self.tools is not None else 0):
            tools = await self.tools.list_tools() if self.tools is not None else []
            offered = self.selector.select(question, tools, discovered)
            prompt.offer(offered)
            try:
                result = await self._complete(prompt.text(), STOP)
            except ModelError as exc:
                yield FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
                return
            outcome = await self.actions.decide(result, {t.name for t in tools}, index, ends.repeats)
            if outcome.final is not None:
                if _cut_off(result) and not _answered(outcome.final.output):
                    outcome.final.reason = EndReason.LENGTH
                    outcome.final.error = (
                        f"the continuation was cut off at max_tokens ({self.config.max_tokens})"
                    )
                    outcome.final.answer = ""
                yield outcome.final
                return
            step, message = outcome.step, outcome.message
            assert step is not None and message is not None
            step.tools_offered = [t.name for t in offered]
            limit = self.config.max_result_chars
            prompt.add_action(
                written_action(message.content or ""), [result_observation(r, limit) for r in step.results]
            )
            end = ends.after(step)
            yield step
            if end is not None:
                yield end
                return
        yield await self._forced_answer(prompt)

    async def _forced_answer(self, prompt: TextPrompt) -> FinalAnswerStep:
        """The prompt ended with `Answer:`: the no-box arm's only step, or past the step limit."""
        try:
            result = await self._complete(prompt.text(answer_now=True), ANSWER_STOP)
        except ModelError as exc:
            return FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
        final = (await self.answers.decide(result, set(), 0, RepeatGuard(0))).final
        assert final is not None
        if self.tools is not None:
            final.reason = EndReason.STEP_LIMIT
        return final

    async def _complete(self, prompt: str, stop: list[str]) -> ChatResult:
        config, temperature = self.config, self.config.sampling_temperature
        return await self.model.complete(
            prompt, stop=stop, n=config.samples, temperature=temperature, max_tokens=config.max_tokens
        )


def _cut_off(result: ChatResult) -> bool:
    return all(choice.finish_reason == "length" for choice in result.choices)


def _answered(text: str) -> bool:
    return any(line.strip().lower().startswith("answer") for line in text.splitlines())
