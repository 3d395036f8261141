"""A tool's round state (`request_state`, 2026-07-28) is bound to its session and the tool's version.

Through a real server with reload on and `fastmcp.Client`: the box is edited while the
user answers, so the answer comes back with a state sealed for the old version; it is
refused with a clear error and the new version never gets an answer meant for the old.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from mcp.shared.exceptions import MCPError

from mcp_box_server.server.conversation import seal, unseal
from tests.support.boxes import make_box
from tests.support.servers import http_server

GREET = '''
    from mcp_box_server import elicit


    def greet() -> str:
        """Ask the user's name, then greet them."""
        answer = elicit("What is your name?", {"name": str})
        return "Hello, " + answer["content"]["name"]
'''


async def served_version(client: Client, box: str) -> str:
    status = await client.call_tool("box_status", {})
    return next(b["version"] for b in status.structured_content["boxes"] if b["box"] == box)


async def test_a_state_sealed_for_an_older_version_is_refused(tmp_path: Path):
    box = make_box(tmp_path, "ask", {"greet": GREET})
    manifest = box / "box.toml"
    with http_server("--boxes", str(tmp_path)) as base:
        async with Client(f"{base}/mcp") as watcher:
            reloads = 0

            async def bump_then_answer(message: str, *_: object) -> ElicitResult:
                """The box is edited while the user types: answer once version 2 serves."""
                nonlocal reloads
                if reloads == 0:
                    scratch = manifest.with_name(".box.toml.tmp")
                    scratch.write_text(manifest.read_text().replace('"1.0.0"', '"2.0.0"'))
                    scratch.replace(manifest)
                    async with asyncio.timeout(90):  # a reload, on a loaded machine
                        while await served_version(watcher, "ask") != "2.0.0":
                            await asyncio.sleep(0.1)
                    reloads += 1
                return ElicitResult(action="accept", content={"name": "Grace"})

            async with Client(f"{base}/mcp", elicitation_handler=bump_then_answer) as client:
                with pytest.raises(Exception) as refused:
                    await client.call_tool("ask_greet", {})
                message = str(refused.value)
                assert "request_state was sealed for version 1.0.0+" in message
                assert "which now serves 2.0.0+" in message and "call the tool again" in message
                again = await client.call_tool("ask_greet", {})  # a fresh call: the new version asks
                assert again.content[0].text == "Hello, Grace"


def test_a_state_from_another_session_or_version_is_refused():
    answer = {"action": "accept", "content": {"name": "Ada"}}
    state = seal("ask_greet", {}, {"1": answer}, asked=["2"], session="s1", version="1.0.0+abc")
    assert unseal(state, "ask_greet", {}, session="s1", version="1.0.0+abc") == ({"1": answer}, {"2"})
    for session, version, why in (
        ("s2", "1.0.0+abc", "another session"),
        (None, "1.0.0+abc", "another session"),
        ("s1", "1.0.1+abc", "sealed for version 1.0.0\\+abc of tool 'ask_greet', which now serves 1.0.1"),
    ):
        with pytest.raises(MCPError, match=why) as caught:
            unseal(state, "ask_greet", {}, session=session, version=version)
        assert caught.value.code == -32602
    sessionless = seal("ask_greet", {}, {}, asked=["1"], version="1.0.0+abc")
    with pytest.raises(MCPError, match="another session"):
        unseal(sessionless, "ask_greet", {}, session="s1", version="1.0.0+abc")
