"""Hot reload against real server processes, in both protocol eras and on every transport."""

import asyncio
import shutil

import pytest
from fastmcp import Client
from fastmcp.client.transports import SSETransport, StreamableHttpTransport
from mcp.client.subscriptions import listen
from mcp.shared.subscriptions import ToolsListChanged

from tests.support.boxes import make_box
from tests.support.servers import http_server, legacy_client, stdio_transport, wait_for_tools, write_tool

VERSION = 'def version() -> int:\n    """Which version of the code runs."""\n    return {n}\n'
DOUBLE = 'def double(x: int) -> int:\n    """Double a number."""\n    return 2 * x\n'


@pytest.fixture
def root(tmp_path):
    make_box(tmp_path, "live", {"core": VERSION.format(n=1)})
    return tmp_path


async def test_add_edit_break_fix_delete_over_stdio_legacy(root):
    box = root / "live"
    async with legacy_client(stdio_transport("--boxes", str(root))) as (client, changes):
        assert (await client.call_tool("live_version", {})).structured_content == {"result": 1}
        changes.forget()  # its first load's list_changed came before that answer

        write_tool(box, "extra", DOUBLE)  # add a module
        await changes.wait()
        assert "live_double" in [t.name for t in await client.list_tools()]
        assert (await client.call_tool("live_double", {"x": 21})).structured_content == {"result": 42}

        write_tool(box, "core", VERSION.format(n=2))  # edit behaviour only: same tool list
        await wait_until(client, "live_version", 2)

        write_tool(box, "core", "def version( -> int:\n")  # a broken edit
        await wait_for_status_error(client, "core.py:1: syntax error")
        assert (await client.call_tool("live_version", {})).structured_content == {"result": 2}

        write_tool(box, "core", VERSION.format(n=3))  # fixed
        await wait_until(client, "live_version", 3)
        status = (await client.call_tool("box_status", {})).structured_content["boxes"][0]
        assert status["errors"] == [] and status["serving"]

        (box / "tools" / "extra.py").unlink()  # delete a module
        await changes.wait()
        assert "live_double" not in [t.name for t in await client.list_tools()]

        make_box(root, "fresh", {"m": DOUBLE})  # a whole new box
        await wait_for_tools(client, lambda names: "fresh_double" in names)

        shutil.rmtree(box)  # delete a box
        names = await wait_for_tools(client, lambda names: "live_version" not in names)
        assert "fresh_double" in names
        assert changes.count >= 3


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_list_changed_reaches_legacy_sessions_over_http_and_sse(root, transport):
    with http_server("--boxes", str(root), transport=transport) as base:
        client_transport = (
            StreamableHttpTransport(f"{base}/mcp") if transport == "http" else SSETransport(f"{base}/sse")
        )
        async with legacy_client(client_transport) as (client, changes):
            await client.list_tools()
            write_tool(root / "live", "extra", DOUBLE)
            await changes.wait()
            assert (await client.call_tool("live_double", {"x": 4})).structured_content == {"result": 8}


async def test_sessionless_clients_get_a_listen_event(root):
    async with Client(stdio_transport("--boxes", str(root))) as client:
        assert client.session.protocol_version == "2026-07-28"
        await wait_for_tools(client, lambda names: "live_version" in names)  # its first load announced
        async with listen(client.session, tools_list_changed=True) as subscription:
            write_tool(root / "live", "extra", DOUBLE)
            event = await asyncio.wait_for(anext(aiter(subscription)), 10)
            assert isinstance(event, ToolsListChanged)
        assert "live_double" in [t.name for t in await client.list_tools()]


async def test_no_call_fails_while_the_box_reloads_under_load(root):
    box = root / "live"
    async with legacy_client(stdio_transport("--boxes", str(root))) as (client, _):
        await wait_until(client, "live_version", 1)  # served: what follows are reloads, not its first load
        seen: set[int] = set()
        failures: list[str] = []
        stop = asyncio.Event()

        async def caller() -> None:
            while not stop.is_set():
                result = await client.call_tool("live_version", {}, raise_on_error=False)
                if result.is_error:
                    failures.append(result.content[0].text)
                else:
                    seen.add(result.structured_content["result"])

        callers = [asyncio.create_task(caller()) for _ in range(4)]
        for n in range(2, 7):
            write_tool(box, "core", VERSION.format(n=n))
            await asyncio.sleep(0.4)
        await wait_until(client, "live_version", 6)
        stop.set()
        await asyncio.gather(*callers)
        assert failures == []
        assert {1, 6} <= seen and len(seen) >= 3


async def wait_until(client: Client, tool: str, expected: int, timeout: float = 10) -> None:
    async def poll() -> None:
        while (await client.call_tool(tool, {})).structured_content != {"result": expected}:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def wait_for_status_error(client: Client, text: str, timeout: float = 10) -> None:
    async def poll() -> None:
        while True:
            boxes = (await client.call_tool("box_status", {})).structured_content["boxes"]
            if any(text in error for box in boxes for error in box["errors"]):
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)
