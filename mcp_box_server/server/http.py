"""What the HTTP transports add to FastMCP's: ASGI middleware, and a protocol that times out requests."""

from __future__ import annotations

import asyncio
import contextlib
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
LINGER = 2.0  # seconds a connection answered 408 drops what its client still sends, before closing
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


class RequestDeadlines(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request head or body is late.

    uvicorn times a connection out only while idle between requests, and stops that timer
    at the first byte of the next head: a client that sends half a head, or a whole head
    and then a body that never ends (or trickles in a byte a second), holds its connection,
    a slot of the process's descriptors and the handler waiting on `receive()`, forever.
    Only the protocol sees the bytes and owns the socket, so the deadlines live here, not
    in ASGI middleware (which cannot close a connection, nor see a body nobody reads).

    A head must arrive whole within HEAD_TIMEOUT of the connection's start or of the last
    response; a body within `body_timeout` of its head, however steadily it trickles. A
    late body is answered 408 (when no response has begun) and its connection closed: its
    handler sees the client disconnect. After a 408 the connection lingers (nginx's
    `lingering_close`): closing a socket with unread bytes makes the kernel reset it, and a
    reset can destroy the 408 before the client reads it, so the server half-closes, drops
    what still comes for LINGER seconds, then closes.
    """

    body_timeout: float  # set by `request_deadlines`, from --body-timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._awaiting: tuple[str, asyncio.TimerHandle] | None = None
        self._lingering = False
        self._watch()

    def data_received(self, data: bytes) -> None:
        if self._lingering:  # the rest of a late body: read so that closing sends no reset
            return
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Time what the client owes now: a head (IDLE), a body (SEND_BODY), or nothing."""
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase is None or self.transport.is_closing():
            self._disarm()
        elif self._awaiting is None or self._awaiting[0] != phase:  # more bytes do not restart it
            self._disarm()
            seconds = HEAD_TIMEOUT if phase == "head" else self.body_timeout
            self._awaiting = (phase, self.loop.call_later(seconds, self._late, phase, seconds))

    def _disarm(self) -> None:
        if self._awaiting is not None:
            self._awaiting[1].cancel()
            self._awaiting = None

    def _late(self, phase: str, seconds: float) -> None:
        self._awaiting = None
        if self.transport.is_closing():
            return
        log.info("closed a connection from %s: no whole request %s in %g s", self.client, phase, seconds)
        if phase == "body" and self.cycle is not None and not self.cycle.response_started:
            self._answer_late_body(seconds)
            if self.transport.can_write_eof():
                self._lingering = True
                self.transport.resume_reading()  # uvicorn may have paused it: unread bytes mean a reset
                self.transport.write_eof()
                self.loop.call_later(LINGER, self.transport.close)
                return
        self.transport.close()

    def _answer_late_body(self, seconds: float) -> None:
        """408 with why; the handler's own answer, if it ever comes, goes nowhere."""
        self.cycle.disconnected = True
        text = f"request body not received whole within {seconds:g} s (the server's --body-timeout)\n"
        body = text.encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        with contextlib.suppress(h11.LocalProtocolError):
            self.transport.write(
                self.conn.send(h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"))
            )
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))


def request_deadlines(body_timeout: float) -> type[RequestDeadlines]:
    """The protocol class for uvicorn's `http` setting, with this body deadline."""
    return type("RequestDeadlines", (RequestDeadlines,), {"body_timeout": body_timeout})
