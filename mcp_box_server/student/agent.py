"""The agent loop: a small model answers a question, calling box tools through MCP.

Each step has three phases, each with its own failure:

1. generate: one chat request with the offered tools (`ModelError` ends the run);
   a reply cut off at `max_tokens` is asked again once, to be brief; a second
   cut ends the run as `length`;
2. parse: native `tool_calls` first, else calls written as text
   (`mcp_box_server.student.parsing`); an unreadable call is a `parse_error`;
3. execute: an unknown name is `unknown_tool` (with the nearest names), a schema
   mismatch reported by the server is `bad_arguments`, a tool that raises, times
   out or crashes is `tool_failed`, a call made before is `repeated_call` (not
   run again; see `repeats`).

Every error goes back to the model as the tool's reply, so it can correct itself.
A step in which every call was invalid (parse, unknown tool, bad arguments)
counts toward `max_retries` consecutive invalid steps; past it the run ends
(`retry_limit`). A call repeated `max_repeats` times ends it as `stuck`. After
`max_steps` action steps the model is asked once more, without tools, for its
final answer (`step_limit`). A reply with no tool call is the final answer,
read by `parsing.extract_final_answer`.

How calls and results travel (native or text, and when a run switches) is the
business of `transcript`.

`Agent.run()` yields typed steps (`ActionStep`, then one `FinalAnswerStep`);
`Agent.solve()` collects them into a `Run`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

from mcp_box_server.box.demos import Demo
from mcp_box_server.llm import (
    AssistantMessage,
    ChatClient,
    ChatResult,
    Message,
    ModelError,
    ToolsUnsupported,
    Usage,
)
from mcp_box_server.student.actions import Actions, AnswerOf, Parse
from mcp_box_server.student.connection import ToolBackend, ToolSpec
from mcp_box_server.student.parsing import ParsedMessage, extract_final_answer, parse_message
from mcp_box_server.student.repeats import StepEnds
from mcp_box_server.student.retrieval import DEFAULT_MAX_TOOLS, ToolSelector, nearest_demos
from mcp_box_server.student.steps import ActionStep, EndReason, FinalAnswerStep, Run, Step
from mcp_box_server.student.transcript import STEP_LIMIT_PROMPT, ToolMode, Transcript

ToolChoice = Literal["auto", "required", "none", "omit"]
ModelT = TypeVar("ModelT")

DEFAULT_SAMPLING_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Knobs of one agent; the defaults suit 3B-14B local models.

    `temperature=None` leaves the server's default, except that self-consistency
    (`samples > 1`) then samples at 0.7. `tool_mode="text"` describes the tools in
    the system prompt instead of sending `tools=` (for servers without tool
    calling); a `native` run switches to it when the server shows it does not
    carry tools (see `transcript`). `tool_choice` is sent with native tools
    ("omit": not sent). `max_tokens=None` sends no limit; `max_repeats=0` turns
    the loop breaker off. `shots` demos nearest the question go in front of it
    (with their tool calls when the run has tools, as question and answer without).
    """

    max_steps: int = 10
    max_retries: int = 3
    samples: int = 1
    temperature: float | None = None
    max_tools: int | None = DEFAULT_MAX_TOOLS
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    system_prompt: str | None = None
    tool_mode: ToolMode = "native"
    tool_choice: ToolChoice = "auto"
    max_repeats: int = 2
    max_result_chars: int = 4000
    shots: int = 0
    chat_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.samples < 1 or min(self.max_retries, self.max_repeats, self.shots) < 0:
            raise ValueError("max_steps and samples must be >= 1, max_retries, max_repeats and shots >= 0")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError("max_tokens must be >= 1 (None for no limit)")

    @property
    def sampling_temperature(self) -> float | None:
        """The temperature to send: `temperature`, else 0.7 when samples vote, else None (the server's)."""
        if self.temperature is None and self.samples > 1:
            return DEFAULT_SAMPLING_TEMPERATURE
        return self.temperature


class AgentSetup(Generic[ModelT]):
    """What every agent loop holds, built one way (chat `Agent`, `completion_agent.CompletionAgent`).

    A loop names how its replies are read: `_read_calls` (a reply into tool calls)
    and `_read_answer` (a final reply into the answer).
    """

    _read_calls: ClassVar[Parse]
    _read_answer: ClassVar[AnswerOf]

    def __init__(
        self,
        model: ModelT,
        tools: ToolBackend | None,
        config: AgentConfig | None = None,
        demos: Sequence[Demo] = (),
    ) -> None:
        self.model = model
        self.tools = tools
        self.config = config or AgentConfig()
        self.demos = list(demos)
        self.selector = ToolSelector(self.config.max_tools)
        self.actions = Actions(tools, self.config.samples, self._read_calls, self._read_answer)


class Agent(AgentSetup[ChatClient]):
    """Runs questions against a model, with tools from `tools` (None: the no-box baseline).

    Example:
        agent = Agent(StudentModel(resolve_model("ollama:qwen3:8b")), connection)
        run = await agent.solve("Use 4 9 10 13 to make 24")
        print(run.answer)
    """

    _read_answer = staticmethod(extract_final_answer)

    @staticmethod
    def _read_calls(message: AssistantMessage, known: set[str]) -> ParsedMessage:
        return parse_message(message.content, message.tool_calls, known)

    async def solve(self, question: str) -> Run:
        """Run to the end and return every step, the answer and the conversation."""
        started = time.perf_counter()
        state = self._transcript(question, None)
        steps: list[ActionStep] = []
        async for step in self._run(question, state):
            if isinstance(step, FinalAnswerStep):
                wall = time.perf_counter() - started
                mode = state.mode if self.tools is not None else "none"
                return Run(question, steps, step, state.messages, wall, mode, state.mode_reason)
            steps.append(step)
        raise RuntimeError("agent loop ended without a final answer")  # pragma: no cover

    def run(self, question: str, transcript: list[Message] | None = None) -> AsyncIterator[Step]:
        """Yield one `ActionStep` per tool-using generation, then one `FinalAnswerStep`.

        `transcript`, when given, receives the conversation as it grows.
        """
        return self._run(question, self._transcript(question, transcript))

    def _transcript(self, question: str, messages: list[Message] | None) -> Transcript:
        config = self.config
        state = Transcript(
            question, config.tool_mode, config.system_prompt, config.max_result_chars, messages
        )
        state.add_demos(nearest_demos(question, self.demos, config.shots), with_tools=self.tools is not None)
        return state

    async def _run(self, question: str, state: Transcript) -> AsyncIterator[Step]:
        ends = StepEnds(self.config.max_repeats, self.config.max_retries)
        for index in range(self.config.max_steps):
            tools = await self.tools.list_tools() if self.tools is not None else []
            offered = self.selector.select(question, tools, state.discovered) if tools else []
            try:
                generation = await self._generate_step(state, offered)
            except ModelError as exc:
                yield FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
                return
            if generation.cut_off:
                yield generation.length_end()
                return
            known = {t.name for t in tools}
            outcome = await self.actions.decide(generation.result, known, index, ends.repeats)
            if outcome.final is not None:
                outcome.final.notes = generation.notes
                outcome.final.probe_usage = generation.probe_usage
                state.add_final(outcome.final.output)
                yield outcome.final
                return
            step, message, parsed = outcome.step, outcome.message, outcome.parsed
            assert step is not None and message is not None and parsed is not None
            if offered and not parsed.native:
                state.switch_to_text("the model wrote its calls as text while tools were sent natively")
            step.tools_offered = [t.name for t in offered]
            step.notes = generation.notes + state.take_notes()
            step.probe_usage = generation.probe_usage
            state.record(step, message, parsed)
            end = ends.after(step)
            yield step
            if end is not None:
                yield end
                return
        yield await self._final_without_tools(state)

    async def _generate_step(
        self, state: Transcript, offered: list[ToolSpec], *, final: bool = False
    ) -> _Generation:
        """One generation, redone when the results did not reach the prompt or the reply was cut off."""
        if not final:
            state.prepare(offered)
        result = await self._generate(state, offered)
        generation = _Generation(result)
        if not final and self.config.samples == 1 and state.needs_check(result.usage):
            sent, blank = state.probe_pair()
            counted = [await self._count(sent, generation), await self._count(blank, generation)]
            if counted[0] and counted[0] <= counted[1]:
                state.switch_to_text(
                    f"tool results did not reach the prompt (the server counts {counted[0]} prompt tokens "
                    "with them and without them)"
                )
                state.prepare(offered)
                generation.add(await self._generate(state, offered))
            else:
                state.results_checked = True
        if _cut_off(generation.result):
            limit = self.config.max_tokens
            state.note(f"reply cut off at max_tokens ({limit}); asked once to be brief")
            state.add_cut_off(generation.result.message.content or "")
            generation.add(await self._generate(state, offered))
            generation.cut_off = _cut_off(generation.result)
        generation.notes = state.take_notes()
        return generation

    async def _count(self, messages: list[Message], generation: _Generation) -> int:
        """The server's prompt token count for `messages` (one token generated, no tools)."""
        options = {**self.config.chat_options, "max_tokens": 1}
        probe = await self.model.chat(messages, **options)
        generation.add_probe(probe)
        return probe.usage.prompt_tokens

    async def _generate(self, state: Transcript, offered: list[ToolSpec]) -> ChatResult:
        config = self.config
        temperature = config.sampling_temperature
        options = dict(config.chat_options)
        if config.max_tokens is not None:
            options["max_tokens"] = config.max_tokens
        native = [t.to_openai() for t in offered] if state.mode == "native" else []
        if native and config.tool_choice != "omit" and not state.tool_choice_refused:
            options["tool_choice"] = config.tool_choice

        async def chat(tools: list[dict[str, Any]] | None) -> ChatResult:
            return await self.model.chat(
                state.messages, tools=tools, n=config.samples, temperature=temperature, **options
            )

        if not native:
            return await chat(None)
        try:
            return await chat(native)
        except ToolsUnsupported as exc:
            refusal = exc
        if options.pop("tool_choice", None) is not None:
            try:
                result = await chat(native)
            except ToolsUnsupported as exc:
                refusal = exc
            else:
                state.tool_choice_refused = True
                state.note(f"the server refused tool_choice, which is no longer sent: {refusal}")
                return result
        state.switch_to_text(f"the server refused tools: {refusal}")
        state.prepare(offered)
        return await chat(None)

    async def _final_without_tools(self, state: Transcript) -> FinalAnswerStep:
        state.add_user(STEP_LIMIT_PROMPT)
        try:
            generation = await self._generate_step(state, [], final=True)
        except ModelError as exc:
            return FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
        if generation.cut_off:
            return generation.length_end()
        result = generation.result
        final = self.actions.final(result.message, result.usage, result.latency_s)
        final.reason = EndReason.STEP_LIMIT
        final.notes = generation.notes
        state.add_final(final.output)
        return final


@dataclass(slots=True)
class _Generation:
    """A step's generation after any redo; usage and latency add up over the requests."""

    result: ChatResult
    cut_off: bool = False
    notes: list[str] = field(default_factory=list)
    probe_usage: Usage = field(default_factory=Usage)

    def add(self, again: ChatResult) -> None:
        first = self.result
        self.result = ChatResult(
            again.choices, first.usage + again.usage, first.latency_s + again.latency_s, again.model
        )

    def add_probe(self, probe: ChatResult) -> None:
        """A side request (a probe): its time is the step's, its tokens are counted apart."""
        first = self.result
        self.result = ChatResult(first.choices, first.usage, first.latency_s + probe.latency_s, first.model)
        self.probe_usage = self.probe_usage + probe.usage

    def length_end(self) -> FinalAnswerStep:
        message = self.result.message
        return FinalAnswerStep(
            "",
            message.content or "",
            EndReason.LENGTH,
            error="the reply was cut off at max_tokens twice",
            usage=self.result.usage,
            model_latency_s=self.result.latency_s,
            finish_reason=message.finish_reason,
            notes=self.notes,
            probe_usage=self.probe_usage,
        )


def _cut_off(result: ChatResult) -> bool:
    return all(choice.finish_reason == "length" for choice in result.choices)
