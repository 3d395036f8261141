"""A tool talks to its client while it runs: progress, logs, questions, rich results.

Through a real server over streamable HTTP, with the official SDK client (handshake era)
and `fastmcp.Client` in both eras; the box is sandboxed, so all of it crosses the
kernel sandbox through the worker's channel and nothing else.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.boxes import make_box
from tests.support.servers import http_server

CHATTY = '''
import time

from mcp_box_server import Image, elicit, log, progress, sample

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005050200"
    "5fc8f1d20000000049454e44ae426082"
)


def count(upto: int) -> str:
    """Count, reporting progress and logging each step.

    Args:
        upto: the last number.
    """
    for number in range(1, upto + 1):
        progress(number, upto, f"at {number}")
        log(f"counted {number}")
        time.sleep(0.06)
    return f"counted to {upto}"


def greet() -> str:
    """Ask the user's name, then greet them."""
    answer = elicit("What is your name?", {"name": str})
    if answer["action"] != "accept":
        return "no name given"
    return "Hello, " + answer["content"]["name"]


def twice() -> str:
    """Ask two questions in a row."""
    first = elicit("First colour?", {"colour": ["red", "green"]})
    second = elicit("Second colour?", {"colour": ["blue", "black"]})
    return first["content"]["colour"] + "+" + second["content"]["colour"]


def haiku(topic: str) -> str:
    """Have the client's model write about a topic.

    Args:
        topic: what to write about.
    """
    return sample("Write about " + topic, max_tokens=50)


def double(n: int) -> int:
    """Twice n.

    Args:
        n: a whole number.
    """
    return 2 * n


def liar() -> int:
    """Promise a number, return a word."""
    return "seven"


def picture() -> list:
    """A caption and a picture."""
    return ["a red pixel", Image(PNG, "image/png")]


def flood(count: int, compact: bool = True) -> str:
    """Write raw note frames past the helpers' own limits, as hostile code could."""
    import json

    from mcp_box_server.box import context

    call = context._channel
    separators = (",", ":") if compact else (", ", ": ")  # the runtime's framing, or another
    for number in range(count):
        for kind, params in (
            ("log", {"level": "info", "message": f"line {number} " + "x" * 10_000}),
            ("progress", {"progress": count, "total": count, "message": None}),  # "the last", every time
        ):
            frame = {"op": "event", "id": call._id, "kind": kind, "params": params}
            call._send(json.dumps(frame, separators=separators).encode() + b"\\n")
    return "flooded"
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Any:
    root = tmp_path_factory.mktemp("chatty")
    make_box(root, "chat", {"chatty": CHATTY}, manifest='trust = "sandboxed"\ntimeout = 5\n')
    with http_server("--boxes", str(root), "--no-reload") as base:
        yield f"{base}/mcp"


@contextlib.asynccontextmanager
async def sdk_session(url: str, **handlers: Any) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write, **handlers) as session,
    ):
        await session.initialize()
        yield session


async def test_progress_and_logs_arrive_during_the_call_handshake_era(server):
    logs: list[str] = []
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(str(params.data))

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with sdk_session(server, logging_callback=on_log) as session:
        result = await session.call_tool("chat_count", {"upto": 3}, progress_callback=on_progress)
    assert not result.is_error and result.content[0].text == "counted to 3"
    assert logs == ["counted 1", "counted 2", "counted 3"]
    assert [done for done, _, _ in progress] == [1.0, 2.0, 3.0]
    assert progress[-1] == (3.0, 3.0, "at 3")


async def test_elicitation_and_sampling_round_trips_handshake_era(server):
    async def on_elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert params.message == "What is your name?"
        assert params.requested_schema["properties"]["name"] == {"type": "string"}
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_sample(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        assert params.messages[0].content.text == "Write about rain"
        text = types.TextContent(type="text", text="Soft rain on the roof")
        return types.CreateMessageResult(role="assistant", content=text, model="scripted")

    async with sdk_session(server, elicitation_callback=on_elicit, sampling_callback=on_sample) as session:
        greeted = await session.call_tool("chat_greet", {})
        poem = await session.call_tool("chat_haiku", {"topic": "rain"})
    assert greeted.content[0].text == "Hello, Ada"
    assert poem.content[0].text == "Soft rain on the roof"


async def test_a_client_without_elicitation_is_refused_with_32021(server):
    async with sdk_session(server) as session:
        with pytest.raises(MCPError) as caught:
            await session.call_tool("chat_greet", {})
        assert caught.value.code == -32021 and "elicitation" in caught.value.message
        assert (await session.call_tool("chat_count", {"upto": 1})).content[0].text == "counted to 1"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_questions_in_both_eras_with_fastmcp_client(server, mode):
    """`auto` speaks 2026-07-28: each question ends a round and the tool runs again."""
    asked: list[str] = []

    async def on_elicit(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        asked.append(message)
        colour = {"First colour?": "red", "Second colour?": "blue", "What is your name?": "Grace"}[message]
        key = "colour" if "colour" in message else "name"
        return ElicitResult(action="accept", content={key: colour})

    async with Client(server, mode=mode, elicitation_handler=on_elicit) as client:
        greeted = await client.call_tool("chat_greet", {})
        both = await client.call_tool("chat_twice", {})
    assert greeted.content[0].text == "Hello, Grace"
    assert both.content[0].text == "red+blue"
    assert asked == ["What is your name?", "First colour?", "Second colour?"]


async def test_a_flood_of_notes_reaches_the_client_bounded(server):
    logs: list[str] = []
    progress: list[float] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(str(params.data))

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with sdk_session(server, logging_callback=on_log) as session:
        small = await session.call_tool("chat_flood", {"count": 150}, progress_callback=on_progress)
        assert small.content[0].text == "flooded"  # 1.5 MB of raw notes: over the limits, within FRAMES
        assert [line.split()[:2] for line in logs[:100]] == [["line", str(n)] for n in range(100)]
        assert all(len(line) < 4200 for line in logs)  # each cut at 4 KB; 1 MB of notes in all
        assert len(logs) <= 200 and 1 <= len(progress) < 100
        logs.clear()
        # 30 MB of raw notes: past what the runtime would ever send, the worker goes
        result = await session.call_tool("chat_flood", {"count": 3000})
        assert result.is_error and "more than 4 MB of notes" in result.content[0].text
        assert len(logs) <= 200
        # a note in a form the runtime never writes is not counted as one: the worker goes
        odd = await session.call_tool("chat_flood", {"count": 1, "compact": False})
        assert odd.is_error and "in a form its runtime never writes" in odd.content[0].text
        assert (await session.call_tool("chat_count", {"upto": 1})).content[0].text == "counted to 1"
    assert logs[-1] == "counted 1"


async def test_the_return_type_is_the_output_schema_and_results_are_held_to_it(server):
    async with sdk_session(server) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        output = {k: v for k, v in tools["chat_double"].output_schema.items() if k != "$schema"}
        assert output == {
            "type": "object",
            "properties": {"result": {"type": "integer"}},
            "required": ["result"],
        }
        assert tools["chat_picture"].output_schema is None  # pictures: nothing structured to promise
        result = await session.call_tool("chat_double", {"n": 21})
        assert result.structured_content == {"result": 42}
        lie = await session.call_tool("chat_liar", {})
        assert lie.is_error and "does not match the declared return type" in lie.content[0].text


async def test_an_image_result_is_an_image_block(server):
    async with sdk_session(server) as session:
        result = await session.call_tool("chat_picture", {})
    text, image = result.content
    assert text.type == "text" and text.text == "a red pixel"
    assert image.type == "image" and image.mime_type == "image/png"
    assert base64.b64decode(image.data).startswith(b"\x89PNG")


def test_round_state_is_sealed_to_its_call():
    from mcp.shared.exceptions import MCPError

    from mcp_box_server.server.conversation import seal, unseal

    answer = {"action": "accept", "content": {"name": "Ada"}}
    state = seal("chat_greet", {"a": 1}, {"1": answer}, asked=["2"])
    assert unseal(state, "chat_greet", {"a": 1}) == ({"1": answer}, {"2"})
    body, _, signature = state.partition(".")
    forged = seal("chat_greet", {"a": 1}, {"1": answer | {"content": {"name": "Eve"}}}, asked=["2"])
    for bad, why in (
        (forged.partition(".")[0] + "." + signature, "integrity"),
        (body + "." + "0" * len(signature), "integrity"),
        (state, "another call"),
    ):
        arguments = {"a": 2} if why == "another call" else {"a": 1}
        with pytest.raises(MCPError, match=why) as caught:
            unseal(bad, "chat_greet", arguments)
        assert caught.value.code == -32602
