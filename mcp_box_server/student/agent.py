"""The agent loop: a small model answers a question, calling box tools through MCP.

Each step has three phases, each with its own failure:

1. generate: one chat request with the offered tools (`ModelError` ends the run);
2. parse: native `tool_calls` first, else calls written as text
   (`mcp_box_server.student.parsing`); an unreadable call is a `parse_error`;
3. execute: an unknown name is `unknown_tool` (checked against the server's
   current list), a schema mismatch reported by the server is `bad_arguments`,
   a tool that raises, times out or crashes is `tool_failed`.

Every error goes back to the model as the tool's reply, so it can correct itself.
A step in which every call was invalid (parse, unknown tool, bad arguments)
counts toward `max_retries` consecutive invalid steps; past it the run ends
(`retry_limit`). After `max_steps` action steps the model is asked once more,
without tools, for its final answer (`step_limit`). A reply with no tool call is
the final answer, read by `parsing.extract_final_answer`.

`Agent.run()` yields typed steps (`ActionStep`, then one `FinalAnswerStep`);
`Agent.solve()` collects them into a `Run`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp_box_server.llm import AssistantMessage, ChatClient, ChatResult, Message, ModelError, ToolsUnsupported
from mcp_box_server.student import consistency
from mcp_box_server.student.connection import ToolBackend, ToolSpec
from mcp_box_server.student.parsing import ParsedMessage, extract_final_answer, parse_message
from mcp_box_server.student.retrieval import DEFAULT_MAX_TOOLS, FIND_TOOLS, ToolSelector, found_tool_names
from mcp_box_server.student.steps import (
    ActionStep,
    EndReason,
    ErrorKind,
    FinalAnswerStep,
    Run,
    Step,
    ToolCall,
    ToolResult,
)

ToolMode = Literal["native", "text"]

BOX_PROMPT = (
    "You solve problems carefully and use tools when they help. Call a tool with the tool-calling "
    'interface or, if you cannot, write exactly <tool_call>{"name": "TOOL", "arguments": {...}}'
    "</tool_call>. Read each tool result before continuing. If a call fails, fix it and try again. "
    "When you are done, reply without any tool call and end with a line 'Final answer: ANSWER'."
)
PLAIN_PROMPT = "Solve the problem step by step. End your reply with a line 'Final answer: ANSWER'."
TEXT_TOOLS_PROMPT = (
    "\n\nYou can call these tools (JSON schemas follow). To call one, write "
    '<tool_call>{"name": "TOOL", "arguments": {...}}</tool_call> and stop; the result comes back '
    "in <tool_response> tags.\n<tools>\n{tools}\n</tools>"
)
STEP_LIMIT_PROMPT = (
    "You have used all your steps. Do not call any tool. Reply now with your best answer, "
    "ending with a line 'Final answer: ANSWER'."
)
DEFAULT_SAMPLING_TEMPERATURE = 0.7


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """Knobs of one agent; the defaults suit 3B-14B local models.

    `temperature=None` leaves the server's default, except that self-consistency
    (`samples > 1`) then samples at 0.7. `tool_mode="text"` describes the tools in
    the system prompt instead of sending `tools=` (for servers without tool
    calling); a `native` run falls back to it when the server refuses tools.
    """

    max_steps: int = 10
    max_retries: int = 3
    samples: int = 1
    temperature: float | None = None
    max_tools: int | None = DEFAULT_MAX_TOOLS
    max_tokens: int | None = None
    system_prompt: str | None = None
    tool_mode: ToolMode = "native"
    max_result_chars: int = 4000
    chat_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_retries < 0 or self.samples < 1:
            raise ValueError("max_steps and samples must be >= 1 and max_retries >= 0")


class Agent:
    """Runs questions against a model, with tools from `tools` (None: the no-box baseline).

    Example:
        agent = Agent(ChatModel(resolve_model("ollama:qwen3:8b")), connection)
        run = await agent.solve("Use 4 9 10 13 to make 24")
        print(run.answer)
    """

    def __init__(
        self, model: ChatClient, tools: ToolBackend | None, config: AgentConfig | None = None
    ) -> None:
        self.model = model
        self.tools = tools
        self.config = config or AgentConfig()
        self.selector = ToolSelector(self.config.max_tools)

    async def solve(self, question: str) -> Run:
        """Run to the end and return every step, the answer and the conversation."""
        started = time.perf_counter()
        messages: list[Message] = []
        steps: list[ActionStep] = []
        async for step in self.run(question, messages):
            if isinstance(step, FinalAnswerStep):
                return Run(question, steps, step, messages, time.perf_counter() - started)
            steps.append(step)
        raise RuntimeError("agent loop ended without a final answer")  # pragma: no cover

    async def run(self, question: str, transcript: list[Message] | None = None) -> AsyncIterator[Step]:
        """Yield one `ActionStep` per tool-using generation, then one `FinalAnswerStep`.

        `transcript`, when given, receives the conversation as it grows.
        """
        state = _RunState(question, self.config, transcript)
        invalid_streak = 0
        for index in range(self.config.max_steps):
            tools = await self.tools.list_tools() if self.tools is not None else []
            offered = self.selector.select(question, tools, state.discovered) if tools else []
            state.prepare(offered)
            try:
                result = await self._generate(state, offered)
            except ModelError as exc:
                yield FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
                return
            known = {t.name for t in tools}
            outcome = await self._decide(result, known, index)
            if outcome.final is not None:
                yield outcome.final
                return
            step = outcome.step
            assert step is not None
            step.tools_offered = [t.name for t in offered]
            state.record(outcome)
            yield step
            invalid_streak = invalid_streak + 1 if step.invalid else 0
            if invalid_streak > self.config.max_retries:
                last = step.results[-1].text if step.results else ""
                yield FinalAnswerStep("", step.model_output, EndReason.RETRY_LIMIT, error=last)
                return
        yield await self._final_without_tools(state)

    async def _generate(self, state: _RunState, offered: list[ToolSpec]) -> ChatResult:
        config = self.config
        temperature = config.temperature
        if temperature is None and config.samples > 1:
            temperature = DEFAULT_SAMPLING_TEMPERATURE
        options = dict(config.chat_options)
        if config.max_tokens is not None:
            options["max_tokens"] = config.max_tokens
        native_tools = [t.to_openai() for t in offered] if state.mode == "native" else None
        try:
            return await self.model.chat(
                state.messages,
                tools=native_tools or None,
                n=config.samples,
                temperature=temperature,
                **options,
            )
        except ToolsUnsupported:
            if not native_tools:
                raise
            state.mode = "text"
            state.prepare(offered)
            return await self.model.chat(state.messages, n=config.samples, temperature=temperature, **options)

    async def _decide(self, result: ChatResult, known: set[str], index: int) -> _Outcome:
        """Parse (and with samples, vote on) the choices; execute the winning action."""
        usage, latency = result.usage, result.latency_s
        if self.tools is None:  # the baseline: every reply is an answer; samples vote on answers
            message = result.message
            if self.config.samples > 1:
                vote = await consistency.vote(
                    result.choices,
                    lambda m: ParsedMessage(text=m.content or ""),
                    _no_tools,
                    extract_final_answer,
                )
                message = vote.message
            return _Outcome(final=_final(message, usage, latency))

        def parse(message: AssistantMessage) -> ParsedMessage:
            return parse_message(message.content, message.tool_calls, known)

        async def execute(parsed: ParsedMessage) -> list[tuple[ToolCall, ToolResult]]:
            return await self._execute(parsed, known, index)

        if self.config.samples > 1:
            vote = await consistency.vote(result.choices, parse, execute, extract_final_answer)
            message, parsed, executed, candidates = vote.message, vote.parsed, vote.executed, vote.candidates
        else:
            message = result.message
            parsed = parse(message)
            executed = await execute(parsed) if parsed.is_action else []
            candidates = []
        if not parsed.is_action:
            return _Outcome(final=_final(message, usage, latency))
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
        )
        return _Outcome(step=step, message=message, parsed=parsed)

    async def _execute(
        self, parsed: ParsedMessage, known: set[str], index: int
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
        results = await asyncio.gather(*(self._call(call, known) for call in calls))
        pairs += zip(calls, results, strict=True)
        return pairs

    async def _call(self, call: ToolCall, known: set[str]) -> ToolResult:
        assert self.tools is not None
        if call.name not in known:
            offered = ", ".join(sorted(n for n in known if n not in ("call_tool", "box_status")))
            text = f"unknown tool '{call.name}'; available tools: {offered}"
            return ToolResult(call.id, call.name, text, error=ErrorKind.UNKNOWN_TOOL)
        outcome = await self.tools.call_tool(call.name, call.arguments)
        return ToolResult(
            call.id, call.name, outcome.text, outcome.structured, outcome.error, outcome.latency_s
        )

    async def _final_without_tools(self, state: _RunState) -> FinalAnswerStep:
        state.messages.append({"role": "user", "content": STEP_LIMIT_PROMPT})
        options = dict(self.config.chat_options)
        if self.config.max_tokens is not None:
            options["max_tokens"] = self.config.max_tokens
        try:
            result = await self.model.chat(state.messages, temperature=self.config.temperature, **options)
        except ModelError as exc:
            return FinalAnswerStep("", "", EndReason.MODEL_ERROR, error=str(exc), exception=exc)
        state.messages.append({"role": "assistant", "content": result.message.content or ""})
        final = _final(result.message, result.usage, result.latency_s)
        final.reason = EndReason.STEP_LIMIT
        return final


@dataclass(slots=True)
class _Outcome:
    final: FinalAnswerStep | None = None
    step: ActionStep | None = None
    message: AssistantMessage | None = None
    parsed: ParsedMessage | None = None


class _RunState:
    """The conversation of one run and what it learned (tools found, tool mode)."""

    def __init__(self, question: str, config: AgentConfig, transcript: list[Message] | None) -> None:
        self.config = config
        self.mode: ToolMode = config.tool_mode
        self.discovered: set[str] = set()
        self.messages: list[Message] = transcript if transcript is not None else []
        self.messages[:] = [{"role": "system", "content": ""}, {"role": "user", "content": question}]

    def prepare(self, offered: list[ToolSpec]) -> None:
        """Write the system prompt for the tools offered at this step."""
        prompt = self.config.system_prompt or (BOX_PROMPT if offered else PLAIN_PROMPT)
        if offered and self.mode == "text":
            specs = "\n".join(json.dumps(t.to_openai()["function"], separators=(",", ":")) for t in offered)
            prompt += TEXT_TOOLS_PROMPT.replace("{tools}", specs)
        self.messages[0] = {"role": "system", "content": prompt}

    def record(self, outcome: _Outcome) -> None:
        """Append the assistant's action and the tool replies to the conversation."""
        step, message, parsed = outcome.step, outcome.message, outcome.parsed
        assert step is not None and message is not None and parsed is not None
        limit = self.config.max_result_chars
        for call, result in zip(step.tool_calls, step.results, strict=True):
            if call.name == FIND_TOOLS and result.ok:
                self.discovered.update(found_tool_names(result.structured))
        replies = [
            (call, _reply_text(result, limit))
            for call, result in zip(step.tool_calls, step.results, strict=True)
        ]
        if self.mode == "text":
            self.messages.append({"role": "assistant", "content": message.content or ""})
            responses = [
                json.dumps({"name": c.name, "content": text}, ensure_ascii=False) for c, text in replies
            ]
            body = "\n".join(f"<tool_response>\n{r}\n</tool_response>" for r in responses)
            self.messages.append({"role": "user", "content": body})
            return
        if parsed.native:
            self.messages.append(message.to_message())
            native_ids = {c.id for c in message.tool_calls}
            named = [(c, t) for c, t in replies if c.id in native_ids]
            unnamed = [t for c, t in replies if c.id not in native_ids]
        else:
            named = [(c, t) for c, t in replies if c.name]
            unnamed = [t for c, t in replies if not c.name]
            assistant: Message = {
                "role": "assistant",
                "content": parsed.text if named else message.content or "",
            }
            if named:
                assistant["tool_calls"] = [_native_call(c) for c, _ in named]
            self.messages.append(assistant)
        for call, text in named:
            self.messages.append(
                {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text}
            )
        if unnamed:
            hint = 'Write calls as <tool_call>{"name": "TOOL", "arguments": {...}}</tool_call>, or answer.'
            self.messages.append({"role": "user", "content": "\n".join([*unnamed, hint])})


async def _no_tools(_: ParsedMessage) -> list[tuple[ToolCall, ToolResult]]:
    return []


def _native_call(call: ToolCall) -> dict[str, Any]:
    """A text call rewritten as a native one, so the chat template shows the canonical form."""
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def _final(message: AssistantMessage, usage: Any, latency: float) -> FinalAnswerStep:
    text = message.content or ""
    return FinalAnswerStep(
        extract_final_answer(text), text, EndReason.ANSWER, usage=usage, model_latency_s=latency
    )


def _reply_text(result: ToolResult, limit: int) -> str:
    text = (
        result.text if len(result.text) <= limit else result.text[:limit] + f"... [{len(result.text)} chars]"
    )
    if result.ok:
        return text
    advice = {
        ErrorKind.PARSE: "Fix the JSON of the call and try again.",
        ErrorKind.UNKNOWN_TOOL: "Use one of the available tool names.",
        ErrorKind.BAD_ARGUMENTS: "Fix the arguments to match the tool's schema and call it again.",
        ErrorKind.TOOL_FAILED: "The tool ran and failed; change the input or solve this part another way.",
        ErrorKind.CONNECTION: "The tool server failed; solve this part without the tool.",
    }[result.error or ErrorKind.TOOL_FAILED]
    return f"Error ({result.error}): {text}\n{advice}"
