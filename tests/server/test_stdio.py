"""The server as a real process over stdio, with the mcp SDK client and fastmcp.Client."""

import json

import pytest
from fastmcp import Client
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.boxes import ARITH, make_box
from tests.support.servers import stdio_args, stdio_transport


@pytest.fixture
def boxes(tmp_path):
    make_box(
        tmp_path,
        "calc",
        {"arith": ARITH},
        manifest="timeout = 2\n",
        README__md="# calc\nAdds numbers.\n",
    )
    make_box(tmp_path, "broken", {"bad": "def f(:\n"})
    return tmp_path


async def test_mcp_sdk_client_lists_calls_and_reads_resources(boxes):
    command, args = stdio_args("--boxes", str(boxes), "--no-reload")
    params = StdioServerParameters(command=command, args=args)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"calc_add", "calc_slow", "find_tools", "call_tool", "box_status"} <= names
        add = next(t for t in (await session.list_tools()).tools if t.name == "calc_add")
        assert add.input_schema["properties"]["a"] == {
            "type": "integer",
            "description": "the first addend.",
        }

        result = await session.call_tool("calc_add", {"a": 40})
        assert not result.is_error
        assert result.structured_content == {"result": 42}
        assert result.content[0].text == "42"

        bad = await session.call_tool("calc_add", {"a": "forty"})
        assert bad.is_error
        assert "parameter 'a'" in bad.content[0].text

        failing = await session.call_tool("calc_fail", {"message": "boom"})
        assert failing.is_error and failing.content[0].text == "tool error: ValueError: boom"

        resources = {str(r.uri) for r in (await session.list_resources()).resources}
        assert resources == {"box://status", "box://calc/readme"}
        readme = await session.read_resource("box://calc/readme")
        assert readme.contents[0].text.startswith("# calc")
        status = json.loads((await session.read_resource("box://status")).contents[0].text)
        broken = next(box for box in status if box["box"] == "broken")
        assert not broken["serving"] and "bad.py:1: syntax error" in broken["errors"][0]


async def test_hung_and_crashing_tools_are_errors_and_the_server_goes_on(boxes):
    async with Client(stdio_transport("--boxes", str(boxes), "--no-reload"), timeout=60) as client:
        hung = await client.call_tool("calc_slow", {"seconds": 60}, raise_on_error=False)
        assert hung.is_error and "timeout: tool 'slow' timed out after 2 s" in hung.content[0].text
        crashed = await client.call_tool("calc_crash", {"code": 9}, raise_on_error=False)
        assert crashed.is_error and "exit code 9" in crashed.content[0].text
        assert (await client.call_tool("calc_add", {"a": 1})).structured_content == {"result": 3}


async def test_sessionless_client_over_stdio(boxes):
    async with Client(stdio_transport("--boxes", str(boxes), "--no-reload")) as client:
        assert client.session.protocol_version == "2026-07-28"
        result = await client.call_tool("calc_add", {"a": 1, "b": 1})
        assert result.structured_content == {"result": 2}


async def test_unknown_tool_is_an_error(boxes):
    async with Client(stdio_transport("--boxes", str(boxes), "--no-reload")) as client:
        result = await client.call_tool("calc_nope", {}, raise_on_error=False)
        assert result.is_error
        assert result.content[0].text.startswith("unknown tool 'calc_nope'; did you mean calc_")
