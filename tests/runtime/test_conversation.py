"""The runtime's side of a call's conversation: time with the client, and what it may say.

The client here is the `Conversation` interface itself (the server-side one, over MCP, is
tested in tests/server/test_call_conversation.py with real clients).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, ToolTimeout
from tests.support.boxes import make_box

STALL = '''
import threading
import time

from mcp_box_server import elicit


def stall(seconds: float) -> str:
    """Compute in a thread while the user is asked."""

    def spin() -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass

    threading.Thread(target=spin, daemon=True).start()
    elicit("Still there?", {"yes": bool})
    return "answered"


def wait() -> str:
    """Ask, idle, while the user takes their time."""
    return elicit("Still there?", {"yes": bool})["action"]
'''


class SlowUser:
    """Answers every question after `delay` seconds."""

    interactive = True
    capabilities = frozenset({"elicit"})

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.answers: dict[str, Any] = {}

    async def note(self, kind: str, params: dict[str, Any]) -> None:
        pass

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(self.delay)
        return {"action": "accept", "content": {"yes": True}}


@pytest.fixture
async def pool(tmp_path):
    box = make_box(tmp_path, "chat", {"stall": STALL}, manifest='trust = "sandboxed"\ntimeout = 2\n')
    pool = BoxPool(read_manifest(box))
    await pool.start()
    yield pool
    await pool.close()


async def test_waiting_for_an_answer_does_not_count_against_the_timeout(pool):
    started = time.monotonic()
    assert await pool.call("wait", {}, conversation=SlowUser(3.0)) == "accept"
    assert time.monotonic() - started >= 3.0  # longer than the tool's 2 s: the user's time


async def test_but_computing_meanwhile_does(pool):
    started = time.monotonic()
    with pytest.raises(ToolTimeout):
        await pool.call("stall", {"seconds": 30}, conversation=SlowUser(6.0))
    assert time.monotonic() - started < 8
