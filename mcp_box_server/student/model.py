"""The harness's model client: the shared `ChatModel` bounded by a wall-clock deadline.

`mcp_box_server.llm.ChatModel` retries failed requests (the `openai` client's
`max_retries`) with its timeout per attempt, so a 5 s timeout could answer after
20 s. `StudentModel.chat` bounds the whole request, retries included, by
`deadline_s`; when it passes, the request task is cancelled, which closes its
HTTP connection. llama-server, vLLM and Ollama stop generating when the
connection closes; llama-cpp-python stops only a *streamed* reply (it checks the
connection between chunks), so `stream=True` sends every request as a stream.

Streaming here is only a way to stop generation: the chunks are assembled into
the same `ChatResult` (content, native tool calls, finish reason, usage when the
server sends it with `stream_options.include_usage`; llama-cpp-python does not).
A streamed request that fails is sent again without streaming, so the shared
client maps the error (a server that refuses tools still says so) or answers:
llama-cpp-python's `chatml-function-calling` cannot stream a native call it
chose itself and answers such a stream with an empty HTTP 200 body; a stream
that ends without a finish reason is treated as broken.

`complete()` is the same for base models: one OpenAI `/v1/completions` request
(a prompt, stop sequences), bounded by the deadline, streamed when asked, its
choices returned as assistant messages so the agent loop reads them alike.

Every request carries `extra_body` (`--extra-body`): server-specific sampling fields
the OpenAI API has no name for. Completions add `COMPLETION_DEFAULTS` first: a base
model's tool call copies the question's values, and a repetition penalty (llama-cpp-
python's default `repeat_penalty` is 1.1) makes it drop a repeated one, e.g.
`[2, 10, 11]` for the puzzle 2 10 11 11. A `null` in `extra_body` removes a default.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

from mcp_box_server.llm import (
    AssistantMessage,
    ChatModel,
    ChatResult,
    Message,
    ModelBusy,
    ModelConfig,
    ModelError,
    ModelTimeout,
    ToolCallRequest,
    Usage,
)

COMPLETION_DEFAULTS: dict[str, Any] = {"repeat_penalty": 1.0}
# Providers that get no defaults: OpenAI refuses fields it does not know; vLLM's
# penalty (`repetition_penalty`) is already 1.0 and it logs every field it ignores.
NO_COMPLETION_DEFAULTS = frozenset({"openai", "vllm"})


def request_body(defaults: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`defaults` overlaid by `extra`, keys `extra` sets to None dropped."""
    return {k: v for k, v in {**defaults, **extra}.items() if v is not None}


class StudentModel:
    """A `ChatClient` whose every `chat()` ends within `deadline_s` seconds.

    Example:
        async with StudentModel(resolve_model("llamacpp:gemma"), deadline_s=30, stream=True) as model:
            result = await model.chat(messages, tools=tools, tool_choice="auto", max_tokens=256)
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        deadline_s: float | None = None,
        stream: bool = False,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.deadline_s = deadline_s if deadline_s is not None else config.timeout_s
        self.stream = stream
        self.chat_body = request_body({}, extra_body or {})
        defaults = {} if config.provider in NO_COMPLETION_DEFAULTS else COMPLETION_DEFAULTS
        self.completion_body = request_body(defaults, extra_body or {})
        self._inner = ChatModel(config)
        self._streamer = (
            openai.AsyncOpenAI(
                base_url=config.base_url, api_key=config.api_key, timeout=config.timeout_s, max_retries=0
            )
            if stream
            else None
        )
        self._completer: openai.AsyncOpenAI | None = None

    @property
    def label(self) -> str:
        return self._inner.label

    async def aclose(self) -> None:
        await self._inner.aclose()
        if self._streamer is not None:
            await self._streamer.close()
        if self._completer is not None:
            await self._completer.close()

    async def __aenter__(self) -> StudentModel:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def chat(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None = None,
        n: int = 1,
        temperature: float | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One chat request (n choices), cancelled with `ModelTimeout` past the deadline."""
        if self.chat_body:
            kwargs["extra_body"] = {**self.chat_body, **kwargs.get("extra_body", {})}
        try:
            async with asyncio.timeout(self.deadline_s):
                if self._streamer is not None and n == 1:
                    return await self._streamed(messages, tools, temperature, kwargs)
                return await self._inner.chat(messages, tools=tools, n=n, temperature=temperature, **kwargs)
        except TimeoutError:
            raise ModelTimeout(
                f"no answer from {self.config.base_url} ({self.label}) within {self.deadline_s:g} s "
                "(retries included); the request was cancelled"
            ) from None

    async def complete(
        self,
        prompt: str,
        *,
        stop: list[str],
        n: int = 1,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """One `/v1/completions` request continuing `prompt` (n choices), within the deadline.

        Servers that ignore `n` (llama-cpp-python) return one choice; the rest are drawn
        with further requests, so callers can rely on `n`.
        """
        if self._completer is None:
            config = self.config
            self._completer = openai.AsyncOpenAI(
                base_url=config.base_url, api_key=config.api_key, timeout=config.timeout_s, max_retries=0
            )
        params: dict[str, Any] = {"model": self.config.model, "prompt": prompt, "stop": stop}
        if temperature is not None:
            params["temperature"] = temperature
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        if self.completion_body:
            params["extra_body"] = self.completion_body
        started = time.perf_counter()
        choices: list[AssistantMessage] = []
        usage = Usage()
        try:
            async with asyncio.timeout(self.deadline_s):
                while len(choices) < n:
                    more, spent = await self._completion(params, n - len(choices))
                    choices += more
                    usage = usage + spent
        except TimeoutError:
            raise ModelTimeout(
                f"no answer from {self.config.base_url} ({self.label}) within {self.deadline_s:g} s; "
                "the request was cancelled"
            ) from None
        return ChatResult(tuple(choices[:n]), usage, time.perf_counter() - started, self.config.model)

    async def _completion(self, params: dict[str, Any], n: int) -> tuple[list[AssistantMessage], Usage]:
        assert self._completer is not None
        streamed = self.stream and n == 1
        try:
            if streamed:
                return await self._streamed_completion(params)
            response = await self._completer.completions.create(**params, **({"n": n} if n > 1 else {}))
        except openai.APIError as exc:  # the chat client's mapping: both APIs fail with one vocabulary
            raise await self._inner._map_error(exc, False) from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.label}: {exc}") from exc
        if not response.choices:
            raise ModelBusy(f"{self.label} at {self.config.base_url} returned no choices")
        spent = response.usage
        usage = Usage(spent.prompt_tokens or 0, spent.completion_tokens or 0) if spent else Usage()
        return [AssistantMessage(c.text, finish_reason=c.finish_reason) for c in response.choices], usage

    async def _streamed_completion(self, params: dict[str, Any]) -> tuple[list[AssistantMessage], Usage]:
        assert self._completer is not None
        stream = await self._completer.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        finish: str | None = None
        usage = Usage()
        async with stream:
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices or ():
                    text.append(choice.text or "")
                    finish = choice.finish_reason or finish
        return [AssistantMessage("".join(text), finish_reason=finish)], usage

    async def _streamed(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
        temperature: float | None,
        extra: dict[str, Any],
    ) -> ChatResult:
        assert self._streamer is not None
        params: dict[str, Any] = {"model": self.config.model, "messages": messages, **extra}
        if tools:
            params["tools"] = tools
        if temperature is not None:
            params["temperature"] = temperature
        started = time.perf_counter()
        reply = _Assembly()
        try:
            stream = await self._streamer.chat.completions.create(
                **params, stream=True, stream_options={"include_usage": True}
            )
            async with stream:
                async for chunk in stream:
                    reply.add(chunk)
        except (openai.OpenAIError, httpx2.HTTPError):
            reply.finish_reason = None
        if reply.finish_reason is None:  # failed, or broke off (an empty 200 body counts)
            return await self._inner.chat(messages, tools=tools, temperature=temperature, **extra)
        return ChatResult((reply.message(),), reply.usage, time.perf_counter() - started, self.config.model)


@dataclass(slots=True)
class _Assembly:
    """Deltas of one streamed choice put back together."""

    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                self.content.append(delta.content or "")
                extra = delta.model_extra or {}
                thought = extra.get("reasoning_content") or extra.get("reasoning")
                if isinstance(thought, str):
                    self.reasoning.append(thought)
                for call in delta.tool_calls or ():
                    slot = self.calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = call.id or slot["id"]
                    if call.function is not None:
                        slot["name"] += call.function.name or ""
                        slot["arguments"] += call.function.arguments or ""
            self.finish_reason = choice.finish_reason or self.finish_reason

    def message(self) -> AssistantMessage:
        calls = tuple(
            ToolCallRequest(slot["id"] or f"call_{index}", slot["name"], slot["arguments"] or "{}")
            for index, slot in sorted(self.calls.items())
            if slot["name"]
        )
        text = "".join(self.content)
        return AssistantMessage(
            content=text or None,
            tool_calls=calls,
            reasoning="".join(self.reasoning) or None,
            finish_reason=self.finish_reason,
        )
