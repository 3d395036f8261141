"""Scripted OpenAI-compatible servers that handle tools the way real local servers do.

`ScriptedOpenAI` answers from a script whatever the request holds. A
`MimicServer` adds what the harness must cope with on real servers, each
behaviour checked against the server it copies (see `PRESETS`):

- `tools`: "native" (tool calls come back as `tool_calls`), "ignored" (HTTP 200,
  calls only as text: llama-cpp-python's default chat format), "choice" (native
  calls only when the request says `tool_choice` "auto" or a function:
  llama-cpp-python's `chatml-function-calling`), "refuse_choice" (any
  `tool_choice` is refused with a 400, tools themselves are fine);
- `drops_tool_messages`: `role: "tool"` messages vanish from the prompt (and,
  with "ignored" tools, the assistant's `tool_calls` too);
- `stops`: when an abandoned generation stops: "disconnect" (llama-server,
  vLLM, Ollama), or "stream" (only a streamed reply, between chunks:
  llama-cpp-python);
- `serial`: one generation at a time, later requests wait (llama-cpp-python).

The responder sees the request plus `_prompt`, the text the model would read
(kept messages only), and `_native`, whether it may answer with native calls. A
reply may hold `tool_calls` (written as `<tool_call>` text when native calls are
not possible), `never_ends` (generate until `max_tokens`, else until the
context is full), `broken_stream` (a streamed request gets an empty HTTP 200
body), and the `ScriptedOpenAI` keys. Replies are "generated" at
`tokens_per_s`, four characters a token; `prompt_tokens` counts the prompt's
words and punctuation marks, so any text added to a prompt is counted.
`generations` records each one: tokens made and how it ended ("stop",
"length", "disconnected").

`llama_cpp_server` runs the real thing (llama-cpp-python's OpenAI-compatible
server) for the tests and benchmarks that need it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tests.support.processes import terminate
from tests.support.scripted_openai import Responder, ScriptedOpenAI, completion, free_port

ToolHandling = Literal["native", "ignored", "choice", "refuse_choice"]
Stops = Literal["disconnect", "stream"]
CHARS_PER_TOKEN = 4
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Behaviour:
    tools: ToolHandling = "native"
    drops_tool_messages: bool = False
    stops: Stops = "disconnect"
    serial: bool = False
    context: int = 4096


PRESETS = {
    "llama-cpp-python": Behaviour("ignored", drops_tool_messages=True, stops="stream", serial=True),
    "llama-cpp-python-chatml-fc": Behaviour("choice", drops_tool_messages=True, stops="stream", serial=True),
    "llama-server-jinja": Behaviour("native"),
    "vllm-no-auto-tool-choice": Behaviour("refuse_choice"),
}


@dataclass(slots=True)
class Generation:
    prompt_tokens: int
    started: float = field(default_factory=time.monotonic)
    tokens: int = 0
    ended: float | None = None
    end: str | None = None  # "stop", "length", "disconnected"


class MimicServer(ScriptedOpenAI):
    """A `ScriptedOpenAI` that treats tools, prompts and disconnects like `behaviour` says."""

    def __init__(
        self,
        responder: Responder,
        behaviour: Behaviour | str = "llama-server-jinja",
        *,
        tokens_per_s: float = 2000.0,
    ) -> None:
        super().__init__(responder)
        self.behaviour = PRESETS[behaviour] if isinstance(behaviour, str) else behaviour
        self.tokens_per_s = tokens_per_s
        self.generations: list[Generation] = []
        self.prompts: list[str] = []
        self._lock = asyncio.Lock()

    async def _chat(self, request: Request) -> Response:  # type: ignore[override]
        body = await request.json()
        self.requests.append(body)
        behaviour = self.behaviour
        if behaviour.tools == "refuse_choice" and "tool_choice" in body:
            message = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
            return JSONResponse({"error": {"message": message}}, status_code=400)
        native = bool(body.get("tools")) and (
            behaviour.tools in ("native", "refuse_choice")
            or (behaviour.tools == "choice" and body.get("tool_choice") not in (None, "none", "required"))
        )
        prompt = self._render(body, native)
        self.prompts.append(prompt)
        view = {**body, "_prompt": prompt, "_native": native}
        reply = await asyncio.to_thread(self.responder, view)
        reply = {"content": reply} if isinstance(reply, str) else dict(reply)
        if reply.get("delay"):
            await asyncio.sleep(float(reply["delay"]))
        if reply.get("status"):
            error = {"error": {"message": reply.get("content", "error")}}
            return JSONResponse(error, status_code=int(reply["status"]))
        if reply.get("tool_calls") and not native:
            written = (
                json.dumps({"name": c["name"], "arguments": c.get("arguments", {})})
                for c in reply.pop("tool_calls")
            )
            calls = "".join(f"<tool_call>{call}</tool_call>" for call in written)
            reply["content"] = (reply.get("content") or "") + calls
        generation = Generation(len(_TOKEN.findall(prompt)))
        limit = body.get("max_tokens") or behaviour.context - generation.prompt_tokens
        text = reply.get("content") or ""
        if reply.get("never_ends"):
            text = "and so on " * (limit * CHARS_PER_TOKEN // 10 + 1)
        tokens = min(max(1, len(text) // CHARS_PER_TOKEN), limit)
        text = text[: tokens * CHARS_PER_TOKEN] if tokens == limit else text
        reply["content"] = text
        if reply.get("never_ends"):
            reply["finish_reason"] = "length"
        reply["usage"] = {
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": tokens,
            "total_tokens": generation.prompt_tokens + tokens,
        }
        self.generations.append(generation)
        if body.get("stream") and reply.get("broken_stream"):  # chatml-function-calling's native call
            return Response(status_code=200, media_type="text/event-stream")
        if body.get("stream"):
            return StreamingResponse(
                self._stream(reply, body["model"], tokens, generation), media_type="text/event-stream"
            )
        watch = request if behaviour.stops == "disconnect" else None
        async with self._serial():
            stopped = await self._generate(tokens, generation, watch, reply.get("finish_reason") or "stop")
        if stopped:
            return Response(status_code=499)
        return JSONResponse(completion(reply, body["model"]))

    def _serial(self) -> Any:
        return self._lock if self.behaviour.serial else _NoLock()

    async def _generate(self, tokens: int, generation: Generation, watch: Request | None, end: str) -> bool:
        """Spend the generation time; True when a watched client went away first."""
        step = 0.02
        per_step = max(1, int(self.tokens_per_s * step))
        while generation.tokens < tokens:
            await asyncio.sleep(step)
            generation.tokens = min(tokens, generation.tokens + per_step)
            if watch is not None and await watch.is_disconnected():
                generation.end, generation.ended = "disconnected", time.monotonic()
                return True
        generation.end, generation.ended = end, time.monotonic()
        return False

    async def _stream(self, reply: dict[str, Any], model: str, tokens: int, generation: Generation) -> Any:
        body = completion(reply, model)
        message = body["choices"][0]["message"]
        text = message.get("content") or ""
        base = {
            "id": body["id"],
            "object": "chat.completion.chunk",
            "created": body["created"],
            "model": model,
        }
        try:
            async with self._serial():
                per_chunk = max(1, int(self.tokens_per_s * 0.02))
                for start in range(0, max(tokens, 1), per_chunk):
                    await asyncio.sleep(0.02)
                    generation.tokens = min(tokens, start + per_chunk)
                    piece = text[start * CHARS_PER_TOKEN : (start + per_chunk) * CHARS_PER_TOKEN]
                    yield _sse(base, {"index": 0, "delta": {"content": piece}, "finish_reason": None})
                for index, call in enumerate(message.get("tool_calls") or ()):
                    delta = {"tool_calls": [{"index": index, **call}]}
                    yield _sse(base, {"index": 0, "delta": delta, "finish_reason": None})
                finish = body["choices"][0]["finish_reason"]
                yield _sse(base, {"index": 0, "delta": {}, "finish_reason": finish})
                yield "data: [DONE]\n\n"
                generation.end, generation.ended = finish or "stop", time.monotonic()
        finally:
            if generation.end is None:
                generation.end, generation.ended = "disconnected", time.monotonic()

    def _render(self, body: dict[str, Any], native: bool) -> str:
        """The prompt as the model reads it: kept messages only, tools when the template shows them."""
        drops = self.behaviour.drops_tool_messages
        parts = []
        if native:
            parts.append(json.dumps(body.get("tools")))
        for message in body.get("messages", []):
            role = message.get("role")
            if role == "tool" and drops:
                continue
            content = message.get("content") or ""
            if (
                role == "assistant"
                and message.get("tool_calls")
                and not (drops and self.behaviour.tools == "ignored")
            ):
                content += json.dumps([c["function"] for c in message["tool_calls"]])
            parts.append(f"<{role}>{content}</{role}>")
        return "\n".join(parts)


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: object) -> None:
        return None


def _sse(base: dict[str, Any], choice: dict[str, Any]) -> str:
    return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n"


@dataclass(frozen=True, slots=True)
class LlamaServer:
    """A running llama-cpp-python server: where it is, the model name it serves, its log."""

    chat_format: str
    base_url: str
    model: str
    log: Path


@contextlib.contextmanager
def llama_cpp_server(gguf: Path, log: Path, chat_format: str = "default") -> Iterator[LlamaServer]:
    """Run `python -m llama_cpp.server` on 127.0.0.1 (4096-token context, 2 threads) until exit."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    if chat_format != "default":
        command += ["--chat_format", chat_format]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"llama_cpp.server did not start: {log.read_text(errors='replace')[-2000:]}"
                )
            try:
                models = httpx2.get(f"{base_url}/models", timeout=2).json()
                break
            except httpx2.HTTPError:
                time.sleep(0.3)
        yield LlamaServer(chat_format, base_url, models["data"][0]["id"], log)
    finally:
        terminate(process, grace=15)
