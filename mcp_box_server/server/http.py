"""What the HTTP transports add to FastMCP's: ASGI middleware, and a protocol that times out heads."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import h11
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from mcp_box_server.server.binding import is_loopback, origin

log = logging.getLogger("mcp_box.server")

HEAD_TIMEOUT = 10.0  # seconds for a client to send a whole request head
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")

MISSING_TOKEN = json.dumps(
    {
        "error": "missing_token",
        "error_description": "this mcp-box server requires 'Authorization: Bearer <token>'; "
        "the token is the one the server was started with (--token or $MCP_BOX_TOKEN)",
    }
).encode()


class ExplainMissingToken:
    """Give the bare 401 that a request without a token gets a body that says why.

    The SDK's bearer middleware answers a missing token with an empty 401; a
    wrong token already gets an `invalid_token` description, which passes through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_explained(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = dict(message.get("headers", []))
                if headers.get(b"content-length") == b"0":
                    replaced = True
                    headers[b"content-length"] = str(len(MISSING_TOKEN)).encode()
                    headers[b"content-type"] = b"application/json"
                    message = {**message, "headers": list(headers.items())}
            elif message["type"] == "http.response.body" and replaced:
                message = {**message, "body": MISSING_TOKEN}
            await send(message)

        await self.app(scope, receive, send_explained)


class OriginGuard:
    """403 for a browser request whose Origin is neither this server's own nor configured.

    FastMCP's guard lets any loopback origin reach a loopback server, whatever its port,
    so a page from any other local program (a dev server, a notebook, a local web app)
    could call tools. Own origins: `http://` with this server's port and a name it
    answers to (the bind address; the loopback names when bound to loopback or to every
    interface; each `--allow-host`). Anything else only by `--allow-origin`. A request
    without an Origin (every non-browser client) is not a browser's, and passes.
    """

    def __init__(
        self, app: ASGIApp, host: str, port: int, hosts: Iterable[str], allowed: Iterable[str]
    ) -> None:
        self.app = app
        names = [host, *hosts]
        if host in ("", "0.0.0.0", "::") or is_loopback(host):
            names += LOOPBACK_NAMES
        self.own = {("http", _host(name), port) for name in names if "*" not in name}
        self.allowed = {origin(text) for text in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = Headers(scope=scope).get("origin") if scope["type"] == "http" else None
        if sent is not None and _parsed(sent) not in self.own | self.allowed:
            message = f"Forbidden Origin: {sent!r} is not this server's; allow it with --allow-origin"
            await PlainTextResponse(message, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _parsed(text: str) -> tuple[str, str, int] | None:
    try:
        return origin(text)
    except ValueError:  # "null", or anything a browser would not send: never allowed
        return None


def _host(name: str) -> str:
    """A host name or address as `urlsplit` gives it: lower case, no brackets, no port."""
    return urlsplit(f"//{name}").hostname or name.lower()


class HeadTimeout(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection that sends no whole request head in time.

    uvicorn times a connection out only while idle between requests, and stops that timer
    at the first byte of the next head: a client that sends half a head and stalls holds
    its connection (and a slot of the process's descriptors) forever. This timer runs
    whenever a head is awaited, from the connection's start and after each response,
    and stops once h11 has read a whole head.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a whole head was read
            self._stop_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.info("closed a connection from %s: no whole request head in %g s", self.client, HEAD_TIMEOUT)
            self.transport.close()
