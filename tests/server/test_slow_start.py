"""A box whose import is slow never holds up the server: the transport answers at once.

The slow box sleeps `SLOW_IMPORT` seconds at import, beside the bundled math box. Over HTTP
and over stdio the server answers while that box still imports (`/health` says "starting",
math is listed and called while the slow box is not listed yet), and when the slow box
loads, a connected client hears of it (list_changed, and the 2026-07-28 listen event) and
can call it. The spec cache is off: math is really loaded, as on a first start.

Judged by what happened before the slow box loaded, not by the clock: the times from the
spawn go to stdout (`pytest -s` shows them); `bench/slow_start.py` measures them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import listen
from mcp.shared.subscriptions import ToolsListChanged

from mcp_box_server.box import bundled_boxes_dir
from tests.support.boxes import make_box
from tests.support.servers import SERVE, ToolListWatcher, first_answer, free_port, stdio_args, stop_group

SLOW_IMPORT = 12.0  # seconds: past both bounds, well within the box's load timeout
MATH_CALL = ("math_gcd", {"numbers": [48, 180]})

SLOW = f'''
    import time

    time.sleep({SLOW_IMPORT})


    def hello() -> str:
        """Answer once the import is over."""
        return "awake"
'''


@pytest.fixture
def slow_box(tmp_path: Path) -> Path:
    return make_box(tmp_path, "sleepy", {"late": SLOW}, manifest='trust = "trusted"\nload_timeout = 60\n')


def serve_args(slow_box: Path) -> list[str]:
    boxes = ["--boxes", str(bundled_boxes_dir() / "math"), "--boxes", str(slow_box)]
    return [*boxes, "--box", "math", "--box", "sleepy", "--no-reload"]


ENV = os.environ | {"MCP_BOX_CACHE": "off"}


@contextlib.contextmanager
def http_process(slow_box: Path) -> Iterator[tuple[str, float]]:
    """The server over HTTP; yields its URL and the monotonic time it was spawned."""
    port = free_port()
    command = [*SERVE, "--transport", "http", "--port", str(port), *serve_args(slow_box)]
    with tempfile.TemporaryFile(mode="w+") as log:
        spawned = time.monotonic()
        process = subprocess.Popen(command, start_new_session=True, stderr=log, env=ENV)
        try:
            yield f"http://127.0.0.1:{port}", spawned
        finally:
            stop_group(process)


async def list_until(session: ClientSession, name: str, timeout: float) -> set[str]:
    """Tool names, listed again until `name` is among them (what a polling client does)."""
    async with asyncio.timeout(timeout):
        while True:
            names = {tool.name for tool in (await session.list_tools()).tools}
            if name in names:
                return names
            await asyncio.sleep(0.05)


async def serve_math(session: ClientSession, spawned: float) -> dict[str, float]:
    """Math listed and called while the slow box still imports; the figures, in s from the spawn."""
    figures = {"initialize answered": time.monotonic() - spawned}
    names = await list_until(session, MATH_CALL[0], SLOW_IMPORT)
    figures["math listed"] = time.monotonic() - spawned
    result = await session.call_tool(*MATH_CALL)
    figures["first math call answered"] = time.monotonic() - spawned
    assert not result.is_error and result.structured_content["gcd"] == 12
    assert "sleepy_hello" not in names  # still importing: listed without it
    return figures


async def wait_for_slow_box(session: ClientSession, watcher: ToolListWatcher, spawned: float) -> float:
    """The list_changed the slow box's load sends, then its tool listed and called.

    Math may load after the client connected: its list_changed comes first, without the slow box.
    """
    async with asyncio.timeout(SLOW_IMPORT + 30):
        while True:
            await watcher.wait(timeout=SLOW_IMPORT + 30)
            arrived = time.monotonic() - spawned
            if "sleepy_hello" in {tool.name for tool in (await session.list_tools()).tools}:
                break
    result = await session.call_tool("sleepy_hello", {})
    assert not result.is_error and result.structured_content == {"result": "awake"}
    return arrived


async def test_http_answers_at_once_and_announces_the_slow_box(slow_box):
    with http_process(slow_box) as (base, spawned):
        status = await asyncio.to_thread(first_answer, f"{base}/health")
        health = time.monotonic() - spawned
        assert status == 503  # "starting": answered while the slow box still imports
        watcher = ToolListWatcher()
        async with (
            streamable_http_client(f"{base}/mcp") as (read, write),
            ClientSession(read, write, message_handler=watcher) as session,
            Client(StreamableHttpTransport(f"{base}/mcp")) as modern,  # a sessionless 2026-07-28 client
        ):
            await session.initialize()
            assert modern.session.protocol_version == "2026-07-28"
            async with listen(modern.session, tools_list_changed=True) as events:
                figures = await serve_math(session, spawned)
                loaded = await wait_for_slow_box(session, watcher, spawned)
                event = await asyncio.wait_for(anext(aiter(events)), 10)
                assert isinstance(event, ToolsListChanged)
            assert "sleepy_hello" in {tool.name for tool in await modern.list_tools()}
    report("http", {"/health answered": health, **figures, "slow box's list_changed": loaded})


async def test_stdio_answers_at_once_and_announces_the_slow_box(slow_box):
    command, args = stdio_args(*serve_args(slow_box))
    params = StdioServerParameters(command=command, args=args, env=ENV)
    watcher = ToolListWatcher()
    spawned = time.monotonic()
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, message_handler=watcher) as session,
    ):
        await session.initialize()
        figures = await serve_math(session, spawned)
        loaded = await wait_for_slow_box(session, watcher, spawned)
    report("stdio", {**figures, "slow box's list_changed": loaded})


def report(transport: str, figures: dict[str, Any]) -> None:
    measured = ", ".join(f"{what} {seconds:.2f} s" for what, seconds in figures.items())
    print(f"\n{transport}, from the spawn: {measured}")
