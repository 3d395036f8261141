"""A tool's sealed `request_state` answers only in the session it was asked in, over real HTTP.

A handshake-era (2025-11-25) session never ends a round with `input_required`: its tool
asks on the session's back-channel while it waits, and a `request_state` sent in it is
not read. The state is bound to a session only where a 2026-07-28 request carries a
session id (`Mcp-Session-Id`): here the id of a live handshake-era session, opened by
the official `mcp` client, sent on the 2026-07-28 requests of another official client.
Judged by the marker file the tool writes with the answer it got: a state replayed in
another session, or with none, is refused with a clear error and the tool never runs
with its answers; in its own session the same state completes the call.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import types
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.boxes import make_box
from tests.support.servers import http_server

GREET = '''
    from mcp_box_server import elicit


    def greet(marker: str) -> str:
        """Ask the user's name, add it to the file `marker`, then greet them."""
        name = elicit("What is your name?", {"name": str})["content"]["name"]
        with open(marker, "a") as out:
            out.write(name + "\\n")
        return "Hello, " + name
'''

ADA = types.ElicitResult(action="accept", content={"name": "Ada"})
REFUSED = "request_state belongs to another session: answer in the session that asked"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("boxes")
    make_box(root, "ask", {"greet": GREET})
    with http_server("--boxes", str(root), "--no-reload") as url:
        yield url


async def _by_hand(*_: object) -> types.ElicitResult:
    raise AssertionError("the rounds are driven by hand: no question comes on a back-channel")


def modern(base: str, session: str | None = None) -> Client:
    """A 2026-07-28 client whose every request carries `session` as its Mcp-Session-Id."""
    headers = {"Mcp-Session-Id": session} if session else {}
    http = httpx2.AsyncClient(headers=headers, timeout=30)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), elicitation_callback=_by_hand)


@contextlib.asynccontextmanager
async def handshake_session(base: str) -> AsyncIterator[str]:
    """A live handshake-era session of the official client; yields the id the server gave it."""
    ids: list[str] = []

    async def note_id(response: httpx2.Response) -> None:
        if session := response.headers.get("mcp-session-id"):
            ids.append(session)

    http = httpx2.AsyncClient(timeout=30, event_hooks={"response": [note_id]})
    async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25" and ids
        yield ids[0]


async def first_round(client: Client, marker: Path) -> str:
    """Call the tool: its question ends the round; the sealed state of that round."""
    asked = await client.session.call_tool("ask_greet", {"marker": str(marker)}, allow_input_required=True)
    assert isinstance(asked, types.InputRequiredResult) and list(asked.input_requests) == ["1"]
    assert asked.request_state
    return asked.request_state


async def answer(client: Client, marker: Path, state: str) -> types.CallToolResult:
    result = await client.session.call_tool(
        "ask_greet", {"marker": str(marker)}, input_responses={"1": ADA}, request_state=state
    )
    assert isinstance(result, types.CallToolResult)
    return result


async def test_a_state_is_refused_in_another_session_and_completes_in_its_own(base, tmp_path):
    marker = tmp_path / "answers"
    async with handshake_session(base) as mine, handshake_session(base) as theirs:
        async with modern(base, mine) as client:
            assert client.protocol_version == "2026-07-28"
            state = await first_round(client, marker)
        for session in (theirs, None):  # another live session's id, and none
            async with modern(base, session) as replay:
                refused = await answer(replay, marker, state)
            assert refused.is_error and REFUSED in refused.content[0].text
            assert not marker.exists()  # the tool never ran with the replayed answer
        async with modern(base, mine) as client:
            done = await answer(client, marker, state)
    assert not done.is_error and done.content[0].text == "Hello, Ada"
    assert marker.read_text() == "Ada\n"


async def test_a_sessionless_state_is_refused_in_a_session(base, tmp_path):
    marker = tmp_path / "answers"
    async with modern(base) as client:
        state = await first_round(client, marker)
    async with handshake_session(base) as session, modern(base, session) as replay:
        refused = await answer(replay, marker, state)
    assert refused.is_error and REFUSED in refused.content[0].text
    assert not marker.exists()
    async with modern(base) as client:
        assert (await answer(client, marker, state)).content[0].text == "Hello, Ada"
    assert marker.read_text() == "Ada\n"


async def test_a_handshake_era_session_asks_afresh_and_never_takes_a_states_answers(base, tmp_path):
    marker = tmp_path / "answers"
    async with modern(base) as client:
        state = await first_round(client, marker)
    asked: list[str] = []

    async def grace(_: object, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"name": "Grace"})

    async with Client(f"{base}/mcp", mode="legacy", elicitation_callback=grace) as legacy:
        assert legacy.protocol_version == "2025-11-25"
        result = await answer(legacy, marker, state)  # the state and Ada's answer go along, unread
    assert asked == ["What is your name?"]  # asked on the session's back-channel instead
    assert not result.is_error and result.content[0].text == "Hello, Grace"
    assert marker.read_text() == "Grace\n"
