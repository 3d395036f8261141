"""An async chat client for any OpenAI-compatible endpoint, behind a small interface.

`ChatClient` is the interface the harness and the distiller depend on: one
`chat()` coroutine. `ChatModel` implements it with the `openai` package;
tests and benchmarks may pass any object with the same method.

`openai`'s exceptions never leave this module: they are mapped into the
hierarchy of `mcp_box_server.llm.errors` with messages that name the address
and how to fix it.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import openai

from mcp_box_server.llm.errors import (
    ContextTooLong,
    ModelAuthError,
    ModelBusy,
    ModelError,
    ModelNotFound,
    ModelTimeout,
    ModelUnreachable,
    NotAChatReply,
    ToolsUnsupported,
)
from mcp_box_server.llm.specs import ModelConfig

Message = dict[str, Any]
# How servers word a context overflow: OpenAI/vLLM ("maximum context length", code
# context_length_exceeded), llama-server ("exceeds the available context size").
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CONTEXT = re.compile(r"context[ _](length|size|window)|maximum context|too many tokens", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """A native tool call as the model sent it; `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    """One choice of a chat completion."""

    content: str | None
    tool_calls: tuple[ToolCallRequest, ...] = ()
    reasoning: str | None = None
    finish_reason: str | None = None

    def to_message(self) -> Message:
        """The OpenAI-format message to append to the conversation."""
        message: Message = {"role": "assistant", "content": self.content or ""}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return message


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts; zero when the server does not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The answer to one `chat()` call: exactly `n` choices, summed usage, wall latency."""

    choices: tuple[AssistantMessage, ...]
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    model: str = ""

    @property
    def message(self) -> AssistantMessage:
        """The first choice, for the common `n=1` case."""
        return self.choices[0]


@runtime_checkable
class ChatClient(Protocol):
    """What the harness needs from a model; swap in any implementation."""

    @property
    def label(self) -> str: ...

    async def chat(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None = None,
        n: int = 1,
        temperature: float | None = None,
        **kwargs: Any,
    ) -> ChatResult: ...


class ChatModel:
    """`ChatClient` over the `openai` package's `AsyncOpenAI`.

    Example:
        model = ChatModel(resolve_model("ollama:qwen3:8b"))
        result = await model.chat([{"role": "user", "content": "2+2?"}])
        print(result.message.content, result.usage.total_tokens, result.latency_s)
    """

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self._client = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )

    @property
    def label(self) -> str:
        return self.config.label

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.close()

    async def __aenter__(self) -> ChatModel:
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
        """Send one chat completion request and return exactly `n` choices.

        Servers that ignore `n` (Ollama) return fewer choices; the rest are
        drawn with further concurrent requests, so callers can rely on `n`.
        Extra keyword arguments (`max_tokens`, `stop`, `tool_choice`, ...) go
        to the server unchanged, except `stream=True` (one choice, no tools):
        the reply is then received as a stream and assembled, so a long reply
        is bounded by the client timeout between chunks, not for the whole reply.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        started = time.perf_counter()
        if kwargs.pop("stream", False) and n == 1 and not tools:
            message, usage = await self._streamed(messages, temperature, kwargs)
            return ChatResult((message,), usage, time.perf_counter() - started, self.config.model)
        choices, usage = await self._request(messages, tools, n, temperature, kwargs)
        missing = n - len(choices)
        if missing > 0:
            extra = await asyncio.gather(
                *(self._request(messages, tools, 1, temperature, kwargs) for _ in range(missing))
            )
            for more, more_usage in extra:
                choices.extend(more)
                usage = usage + more_usage
        return ChatResult(
            choices=tuple(choices[:n]),
            usage=usage,
            latency_s=time.perf_counter() - started,
            model=self.config.model,
        )

    async def _request(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]] | None,
        n: int,
        temperature: float | None,
        extra: dict[str, Any],
    ) -> tuple[list[AssistantMessage], Usage]:
        params: dict[str, Any] = {"model": self.config.model, "messages": messages, **extra}
        if tools:
            params["tools"] = tools
        if n > 1:
            params["n"] = n
        if temperature is not None:
            params["temperature"] = temperature
        try:
            raw = await self._client.chat.completions.with_raw_response.create(**params)
            response = raw.parse()
        except openai.APIError as exc:
            raise await self._map_error(exc, bool(tools)) from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.label}: {exc}") from exc
        if isinstance(response, str):  # openai hands back the text of a body that is not JSON
            raise self._not_a_reply(raw.status_code, raw.headers.get("content-type"), response)
        if not response.choices:
            raise ModelBusy(f"{self.label} at {self.config.base_url} returned no choices")
        usage = Usage()
        if response.usage is not None:
            usage = Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
        return [_assistant(choice) for choice in response.choices], usage

    async def _streamed(
        self, messages: list[Message], temperature: float | None, extra: dict[str, Any]
    ) -> tuple[AssistantMessage, Usage]:
        """One reply received as server-sent chunks and assembled."""
        params: dict[str, Any] = {"model": self.config.model, "messages": messages, **extra}
        params |= {"stream": True, "stream_options": {"include_usage": True}}
        if temperature is not None:
            params["temperature"] = temperature
        content: list[str] = []
        reasoning: list[str] = []
        finish_reason: str | None = None
        usage = Usage()
        started = False
        try:
            stream = await self._client.chat.completions.create(**params)
            started = True
            kind = stream.response.headers.get("content-type", "")
            if "text/event-stream" not in kind:  # no server-sent events will come: say what did
                body = (await stream.response.aread()).decode("utf-8", "replace")
                await stream.close()
                raise self._not_a_reply(stream.response.status_code, kind, body)
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    content.append(delta.content or "")
                    fields = delta.model_extra or {}
                    thought = fields.get("reasoning_content") or fields.get("reasoning")
                    reasoning.append(thought if isinstance(thought, str) else "")
                    finish_reason = choice.finish_reason or finish_reason
        except openai.APIError as exc:
            if started and isinstance(exc, openai.APIConnectionError):  # cut mid-reply: try again
                raise ModelBusy(f"{self.config.base_url} ({self.label}) broke off a streamed reply") from exc
            raise await self._map_error(exc, False) from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.label}: {exc}") from exc
        message = AssistantMessage(
            content="".join(content) or None,
            reasoning="".join(reasoning) or None,
            finish_reason=finish_reason,
        )
        return message, usage

    async def _map_error(self, exc: openai.APIError, params_had_tools: bool) -> ModelError:
        where = f"{self.config.base_url} ({self.label})"
        if isinstance(exc, openai.APITimeoutError):
            return ModelTimeout(f"no answer from {where} within {self.config.timeout_s:g} s")
        if isinstance(exc, openai.APIConnectionError):
            reason = exc.message.rstrip(". ")
            return ModelUnreachable(f"nothing answers at {where}: {reason}; {self.config.hint}")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ModelAuthError(f"{where} rejected the API key: {_detail(exc)}")
        status = getattr(exc, "status_code", None)
        detail = _detail(exc)
        lowered = detail.lower()
        if status in (400, 413) and _CONTEXT.search(detail):
            return ContextTooLong(f"{where} cannot take the request: {detail}")
        model_missing = "model" in lowered and ("not found" in lowered or "does not exist" in lowered)
        if isinstance(exc, openai.NotFoundError) or (status in (400, 404) and model_missing):
            if model_missing or (isinstance(exc, openai.NotFoundError) and await self._model_absent()):
                available = await self._available_models()
                listing = f"; available: {', '.join(available)}" if available else ""
                return ModelNotFound(
                    f"model {self.config.model!r} not found at {self.config.base_url}{listing}"
                )
            return ModelError(f"{where} answered 404 ({detail}); does the base URL end with /v1?")
        if params_had_tools and ("jinja" in lowered or ("tool" in lowered and status in (400, 500))):
            return ToolsUnsupported(
                f"{where} refused the request ({detail}); enable tool calling on the server"
            )
        if status == 429 or (status is not None and status >= 500):
            return ModelBusy(f"{where} failed with HTTP {status}: {detail}", _retry_after(exc), status)
        return ModelError(f"{where} failed with HTTP {status}: {detail}")

    def _not_a_reply(self, status: int, content_type: str | None, body: str) -> NotAChatReply:
        """What came instead of a chat reply: an HTML page's title, or the start of the body."""
        kind = (content_type or "no content type").split(";")[0].strip()
        html = "html" in kind or body.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        title = _TITLE.search(body) if html else None
        gist = " ".join((title.group(1) if title else body).split())[:160] or "(empty body)"
        what = "an HTML page" if html else "a body that is no chat reply"
        return NotAChatReply(
            f"{self.config.base_url} ({self.label}) returned {what} with status {status} ({kind}): "
            f"{'title ' if title else ''}{gist!r}; the base URL should be the OpenAI-compatible API "
            "(usually ending in /v1), not a web page or a proxy in front of it"
        )

    async def _available_models(self) -> list[str]:
        """Model names the server lists, or [] when it cannot say."""
        try:
            page = await self._client.with_options(max_retries=0, timeout=10).models.list()
        except openai.OpenAIError:
            return []
        return sorted(m.id for m in page.data)[:20]

    async def _model_absent(self) -> bool:
        available = await self._available_models()
        return bool(available) and self.config.model not in available


def _detail(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return exc.message


def _retry_after(exc: openai.APIError) -> float | None:
    """The server's `Retry-After` (seconds) or `retry-after-ms` hint; None for a date or nothing."""
    response = getattr(exc, "response", None)
    headers = response.headers if response is not None else {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name, "")) * scale)
        except ValueError:
            continue
    return None


def _assistant(choice: Any) -> AssistantMessage:
    message = choice.message
    calls = tuple(
        ToolCallRequest(
            id=call.id or f"call_{index}",
            name=call.function.name,
            arguments=call.function.arguments or "{}",
        )
        for index, call in enumerate(message.tool_calls or ())
        if getattr(call, "function", None) is not None
    )
    extra = message.model_extra or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
    return AssistantMessage(
        content=message.content,
        tool_calls=calls,
        reasoning=reasoning if isinstance(reasoning, str) else None,
        finish_reason=choice.finish_reason,
    )
