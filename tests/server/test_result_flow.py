"""Huge HTTP responses: the same bytes on the wire, sent in slices, a lease held until the end."""

import asyncio
import json

from sse_starlette.event import ServerSentEvent

from mcp_box_server.runtime import result_budget
from mcp_box_server.runtime.result_budget import ResultBudget
from mcp_box_server.server.result_flow import SLICE, ResultFlow, lean_sse_events

PING = b": ping\r\n\r\n"
LONG = json.dumps({"jsonrpc": "2.0", "id": 7, "result": {"text": "x" * (3 * SLICE)}})


def test_lean_sse_events_encode_every_event_as_before():
    events = [
        {"data": LONG, "event": "message"},
        {"data": LONG, "event": "message", "id": "1\n2"},
        {"data": LONG},
        {"data": LONG + "\n" + LONG, "event": "message"},  # several lines: the library's own way
        {"data": LONG, "comment": "note"},
        {"data": "short", "event": "message"},
    ]
    before = [ServerSentEvent(**event).encode() for event in events]
    lean_sse_events()
    lean_sse_events()  # once is enough; twice changes nothing
    assert [ServerSentEvent(**event).encode() for event in events] == before


async def test_a_long_body_goes_out_in_slices_that_nothing_interleaves():
    budget = ResultBudget(10 * SLICE)
    sent: list[bytes] = []
    body = b"y" * (2 * SLICE + 5)

    async def send(message):
        sent.append(bytes(message.get("body", b"")))
        await asyncio.sleep(0)  # let the pinging task run between slices

    async def app(scope, receive, send):
        await result_budget.reserve(3 * SLICE)  # what a call in this request read
        assert budget.held == 3 * SLICE
        await send({"type": "http.response.start", "status": 200, "headers": []})
        ping = asyncio.create_task(
            send({"type": "http.response.body", "body": b": ping\r\n\r\n", "more_body": True})
        )
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await ping
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    await ResultFlow(app, budget)({"type": "http"}, None, send)
    assert budget.held == 0  # given back once the response was written
    pieces = sent[1:]
    whole = b"".join(pieces)
    assert body in whole and whole.replace(body, b"", 1) == PING
    assert max(len(piece) for piece in pieces) <= SLICE
