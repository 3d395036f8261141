"""Huge results over HTTP: held against the result budget until sent, and sent in slices.

A tool's result is read from its worker under the server's budget of result bytes in
flight (`runtime.result_budget`); over streamable HTTP its copies live on until the
response is written (serialised JSON, the SSE event, its bytes), so each HTTP request
holds a lease that its calls take from and that is given back when the request ends.

The response body reaches uvicorn as one `bytes`; handed over whole, h11 joins it with
its chunk framing (a second copy) and the socket's send buffer keeps what the client has
not read yet (a third). Handed over in `SLICE`s, each copy is one slice, and uvicorn
waits for the socket to drain between them.

Before that, sse-starlette (3.x) turns the JSON reply into its SSE event in five copies:
the data split into lines, each line formatted, written to a StringIO, copied out of it,
encoded. `lean_sse_events()` makes a long one-line event (a JSON reply is one line) two:
the data encoded, joined with its field names.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_box_server.runtime import result_budget
from mcp_box_server.runtime.result_budget import Lease, ResultBudget

SLICE = 256 * 1024


class ResultFlow:
    """ASGI middleware: a result-budget lease per HTTP request; big bodies sent in slices."""

    def __init__(self, app: ASGIApp, budget: ResultBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lease = Lease(self.budget)
        try:
            with result_budget.leased(lease):
                await self.app(scope, receive, _sliced(send))
        finally:
            lease.close()


def _sliced(send: Send) -> Send:
    """`send`, with a long body in slices; a message another task sends (an SSE ping) waits for
    the last slice, or it would land inside the event."""
    whole = anyio.Lock()

    async def sliced(message: Message) -> None:
        body = message.get("body", b"")
        async with whole:
            if message["type"] != "http.response.body" or len(body) <= SLICE:
                await send(message)
                return
            more = message.get("more_body", False)
            view = memoryview(body)
            for start in range(0, len(body), SLICE):
                end = start + SLICE
                await send(
                    {
                        "type": message["type"],
                        "body": bytes(view[start:end]),
                        "more_body": more or end < len(body),
                    }
                )

    return sliced


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lean_sse_events() -> None:
    """Encode long one-line SSE events in two copies (see the module's docstring); once per process."""
    from sse_starlette.event import ServerSentEvent

    original = ServerSentEvent.encode
    if getattr(original, "lean", False):
        return

    def encode(self: Any) -> bytes:
        data, sep = self.data, self._sep
        plain = self.comment is None and self.retry is None
        if not (plain and isinstance(data, str) and len(data) > SLICE) or "\n" in data or "\r" in data:
            return original(self)
        fields = {key: value for key, value in (("id", self.id), ("event", self.event)) if value is not None}
        head = "".join(f"{key}: {_LINE_BREAK.sub('', value)}{sep}" for key, value in fields.items())
        return b"".join(((head + "data: ").encode(), data.encode(), (sep + sep).encode()))

    encode.lean = True  # type: ignore[attr-defined]
    ServerSentEvent.encode = encode  # type: ignore[method-assign]
