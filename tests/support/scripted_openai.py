"""A scripted OpenAI-compatible chat server: real HTTP on 127.0.0.1, canned replies.

The only stand-in the tests allow is for language models. This server speaks
`POST /v1/chat/completions` (and `GET /v1/models`) like Ollama, vLLM or
llama-server, and answers from a script, so tests can replay exactly what small
models really send, malformed replies included.

A script is a callable `(request_json) -> reply`, where a reply is
- a `str`: an assistant message with that text content,
- a `dict` with any of `content`, `tool_calls` (OpenAI shape, or the short
  `[{"name": ..., "arguments": {...} | "json string"}]`), `status` (an HTTP error
  status to return instead), `headers` (sent with that error, e.g. `Retry-After`),
  `finish_reason` (e.g. "length" for a reply cut off at `max_tokens`), `delay`
  (seconds to wait first), `usage`, or `body` (a raw text body sent as is, with
  `media_type`, default text/html, and `status`, default 200: a login page, a web UI),
- or a full response body (a dict with `choices`), sent as is.

`POST /v1/completions` (base models) is answered from the same script: the request
holds `prompt` and `stop`, the reply's `content` is the continuation, cut at the first
stop sequence as real servers do (`finish_reason` "stop" unless the reply says).

A request with `"stream": true` gets the reply as server-sent chunks (text only), with a
usage chunk when `stream_options.include_usage` asks for one.

`Script.sequence([...])` replays replies in order; `Script.by_question({...})`
picks a reply list per user question (for concurrent evals).

`ScriptedOpenAI(responder, models=..., honour_n=True, latency_s=0.0)`: a request
for a model not in `models` gets a 404 "model not found" like Ollama's;
`honour_n=False` answers one choice whatever `n` asks (as Ollama does);
`latency_s` delays every answer (for concurrency benchmarks); `port` reuses an address
(a restarted server, as far as a client can tell).

Example:
    with ScriptedOpenAI(Script.sequence(["The answer is 4."])) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="x")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Reply = str | dict[str, Any]
Responder = Callable[[dict[str, Any]], Reply]


class Script:
    """Ready-made responders."""

    @staticmethod
    def sequence(replies: list[Reply]) -> Responder:
        """Replay `replies` in order; past the end, every request gets a 500 that says so."""
        items = iter(replies)
        lock = threading.Lock()

        def respond(_: dict[str, Any]) -> Reply:
            with lock:
                try:
                    return next(items)
                except StopIteration:
                    return {"status": 500, "content": "scripted model: script exhausted"}

        return respond

    @staticmethod
    def by_question(scripts: dict[str, list[Reply]], default: Reply | None = None) -> Responder:
        """Per first-user-message scripts: each question replays its own list in order.

        The key matches when it is a substring of the first user message.
        """
        cursors = {key: itertools.count() for key in scripts}
        lock = threading.Lock()

        def respond(request: dict[str, Any]) -> Reply:
            question = first_user_text(request)
            for key, replies in scripts.items():
                if key in question:
                    with lock:
                        index = next(cursors[key])
                    if index < len(replies):
                        return replies[index]
                    return {"status": 500, "content": f"scripted model: script for {key!r} exhausted"}
            if default is not None:
                return default
            return {"status": 500, "content": f"scripted model: no script for {question[:80]!r}"}

        return respond


def first_user_text(request: dict[str, Any]) -> str:
    for message in request.get("messages", []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            return str(content or "")
    return ""


def _tool_call(index: int, call: dict[str, Any]) -> dict[str, Any]:
    if "function" in call:
        return {"id": call.get("id", f"call_{index}"), "type": "function", **call}
    arguments = call.get("arguments", {})
    return {
        "id": call.get("id", f"call_{index}"),
        "type": "function",
        "function": {
            "name": call["name"],
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


def completion(reply: dict[str, Any], model: str) -> dict[str, Any]:
    """Wrap a short reply into an OpenAI chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    calls = reply.get("tool_calls")
    if calls:
        message["tool_calls"] = [_tool_call(i, c) for i, c in enumerate(calls)]
    finish_reason = reply.get("finish_reason") or ("tool_calls" if calls else "stop")
    usage = reply.get("usage") or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


class ScriptedOpenAI:
    """Runs the scripted server in a background thread; use as a context manager."""

    def __init__(
        self,
        responder: Responder,
        models: tuple[str, ...] = ("scripted",),
        *,
        honour_n: bool = True,
        latency_s: float = 0.0,
        port: int | None = None,
    ) -> None:
        self.responder = responder
        self.models = models
        self.honour_n = honour_n
        self.latency_s = latency_s
        self.requests: list[dict[str, Any]] = []
        self._port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if body.get("model") not in self.models:
            return JSONResponse(
                {"error": {"message": f"model '{body.get('model')}' not found", "type": "not_found"}},
                status_code=404,
            )
        samples = int(body.get("n") or 1) if self.honour_n else 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        replies = [await asyncio.to_thread(self.responder, body) for _ in range(samples)]
        first = replies[0]
        if isinstance(first, dict):
            if first.get("delay"):
                await asyncio.sleep(float(first["delay"]))
            if first.get("body") is not None:
                media_type = first.get("media_type", "text/html")
                return Response(first["body"], int(first.get("status", 200)), media_type=media_type)
            if first.get("status"):
                return JSONResponse(
                    {"error": {"message": first.get("content", "error"), "type": "scripted"}},
                    status_code=int(first["status"]),
                    headers=first.get("headers"),
                )
            if "choices" in first:
                return JSONResponse(first)
        bodies = [completion({"content": r} if isinstance(r, str) else r, body["model"]) for r in replies]
        merged = bodies[0]
        merged["choices"] = [dict(b["choices"][0], index=i) for i, b in enumerate(bodies)]
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage", False)
            return StreamingResponse(_chunks(merged, usage), media_type="text/event-stream")
        return JSONResponse(merged)

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        samples = int(body.get("n") or 1) if self.honour_n else 1
        replies = [await asyncio.to_thread(self.responder, body) for _ in range(samples)]
        replies = [{"content": r} if isinstance(r, str) else r for r in replies]
        if replies[0].get("delay"):
            await asyncio.sleep(float(replies[0]["delay"]))
        if replies[0].get("status"):
            error = {"error": {"message": replies[0].get("content", "error"), "type": "scripted"}}
            return JSONResponse(error, status_code=int(replies[0]["status"]))
        choices = []
        for index, reply in enumerate(replies):
            text = reply.get("content") or ""
            cuts = [text.index(stop) for stop in body.get("stop") or () if stop in text]
            text = text[: min(cuts)] if cuts else text
            finish = reply.get("finish_reason") or "stop"
            choices.append({"index": index, "text": text, "logprobs": None, "finish_reason": finish})
        usage = replies[0].get("usage") or {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        return JSONResponse(
            {
                "id": "cmpl-scripted",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
            }
            | {"choices": choices, "usage": usage}
        )

    async def _models(self, _: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    def __enter__(self) -> ScriptedOpenAI:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/completions", self._complete, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self._port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("scripted OpenAI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _chunks(body: dict[str, Any], usage: bool, pieces: int = 3) -> Iterator[str]:
    """A chat.completion as the server-sent chunks of a streamed reply (text in a few pieces)."""
    choice = body["choices"][0]
    text = choice["message"].get("content") or ""
    step = max(1, -(-len(text) // pieces))
    base = {
        "id": body["id"],
        "object": "chat.completion.chunk",
        "created": body["created"],
        "model": body["model"],
    }
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text[i : i + step]}}]}
        for i in range(0, len(text), step)
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]})
    if usage:
        events.append({**base, "choices": [], "usage": body["usage"]})
    for event in events:
        yield f"data: {json.dumps(event)}\n\n"
    yield "data: [DONE]\n\n"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_free_port = free_port  # kept for existing callers
