"""`Mcp-Param-*` headers (SEP-2243) are checked against box tool schemas from the first call.

A parameter annotated `x-mcp-header` is mirrored by 2026-07-28 HTTP clients in a header an
intermediary may route on; the server must refuse a call whose header is missing, bad
Base64 or not the body's value (HTTP 400, -32020) before the tool runs. The schemas used
to come from the last `tools/list` only, so a call sent before any listing, or to a tool a
reload added, ran unchecked. Judged by effects: a refused call leaves no trace of the tool.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.boxes import make_box
from tests.support.servers import http_server, mcp_post, write_tool

MODERN = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
}

ROUTED = '''
from typing import Annotated

from pydantic import Field

LOG = {log!r}


def {function}(region: Annotated[str, Field(json_schema_extra={{"x-mcp-header": "Region"}})]) -> str:
    """Record and echo the region a call was routed by.

    Args:
        region: A region name, mirrored in the Mcp-Param-Region header.
    """
    with open(LOG, "a") as log:
        log.write(region + "\\n")
    return "region: " + region
'''


def call(base: str, tool: str, region: str, header: str | None) -> tuple[int, dict]:
    """A raw 2026-07-28 `tools/call`: the SDK client always sends the header right."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {"region": region}, "_meta": META},
    }
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}
    if header is not None:
        headers["Mcp-Param-Region"] = header
    status, text = mcp_post(f"{base}/mcp", body, headers)
    return status, json.loads(text)


def refused(answer: tuple[int, dict]) -> bool:
    status, body = answer
    return status == 400 and body.get("error", {}).get("code") == -32020


def test_headers_are_checked_before_any_listing_and_for_tools_a_reload_adds(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    box = make_box(tmp_path / "boxes", "geo", {"route": ROUTED.format(log=str(log), function="route")})
    with http_server("--boxes", str(tmp_path / "boxes")) as base:
        # No tools/list first: a client that cached the list, or a restarted server.
        assert refused(call(base, "geo_route", "eu", "us"))  # not the body's value
        assert refused(call(base, "geo_route", "eu", None))  # missing
        assert refused(call(base, "geo_route", "eu", "=?base64?ZXU?="))  # bad padding
        assert not log.exists()  # none of them ran
        encoded = "=?base64?" + base64.b64encode(b"eu").decode() + "?="
        status, body = call(base, "geo_route", "eu", encoded)
        assert status == 200 and body["result"]["content"][0]["text"] == "region: eu"
        assert log.read_text() == "eu\n"

        write_tool(box, "later", ROUTED.format(log=str(log), function="later"))
        deadline = time.monotonic() + 30
        while call(base, "geo_later", "eu", "eu")[1]["result"].get("isError"):  # until the reload serves it
            assert time.monotonic() < deadline, "the reload never served geo_later"
            time.sleep(0.2)
        assert refused(call(base, "geo_later", "eu", "us"))
        assert log.read_text() == "eu\neu\n"  # the checked call ran, the refused one did not


async def test_the_official_client_mirrors_the_header_and_is_served(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    make_box(tmp_path / "boxes", "geo", {"route": ROUTED.format(log=str(log), function="route")})
    with http_server("--boxes", str(tmp_path / "boxes")) as base:
        async with (
            streamable_http_client(f"{base}/mcp") as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.discover()  # 2026-07-28: headers mirrored from x-mcp-header
            tools = await client.list_tools()
            tool = next(tool for tool in tools.tools if tool.name == "geo_route")
            assert tool.input_schema["properties"]["region"]["x-mcp-header"] == "Region"
            result = await client.call_tool("geo_route", {"region": "eu-west"})
        assert not result.is_error and result.content[0].text == "region: eu-west"
        assert log.read_text() == "eu-west\n"
