"""The server as a real process over streamable HTTP and SSE on 127.0.0.1."""

import json
import subprocess
import sys

import pytest
from fastmcp import Client
from fastmcp.client.transports import SSETransport, StreamableHttpTransport
from mcp import ClientSession
from mcp.client.sse import sse_client

from tests.support.boxes import ARITH, make_box
from tests.support.servers import INITIALIZE, http_get, http_server, mcp_post

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    root = tmp_path_factory.mktemp("boxes")
    make_box(root, "calc", {"arith": ARITH})
    return root


@pytest.fixture(scope="module")
def server(boxes):
    with http_server("--boxes", str(boxes), "--no-reload") as base:
        yield base


@pytest.fixture(scope="module")
def secured(boxes):
    with http_server("--boxes", str(boxes), "--no-reload", token=TOKEN) as base:
        yield base


def test_health(server):
    status, body = http_get(f"{server}/health")
    assert status == 200
    health = json.loads(body)
    assert health["status"] == "ok" and health["boxes"] == {"calc": {"serving": True, "errors": 0}}
    assert health["tools"] == 4 + 3 and health["box_tools"] == 4  # tools/list also has 3 meta-tools


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_streamable_http_both_eras(server, mode):
    async with Client(StreamableHttpTransport(f"{server}/mcp"), mode=mode) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert {"calc_add", "find_tools"} <= names
        assert (await client.call_tool("calc_add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        bad = await client.call_tool("calc_add", {"b": 3}, raise_on_error=False)
        assert bad.is_error and "missing required parameter 'a'" in bad.content[0].text


async def test_sse_transport_with_fastmcp_and_sdk_clients(boxes):
    with http_server("--boxes", str(boxes), "--no-reload", transport="sse") as base:
        async with Client(SSETransport(f"{base}/sse")) as client:
            assert (await client.call_tool("calc_add", {"a": 1})).structured_content == {"result": 3}
        async with sse_client(f"{base}/sse") as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("calc_add", {"a": 5})
            assert result.structured_content == {"result": 7}


def test_auth_rejects_missing_and_wrong_tokens(secured):
    status, body = mcp_post(f"{secured}/mcp", INITIALIZE)
    assert status == 401 and "missing_token" in body and "Authorization: Bearer" in body
    status, body = mcp_post(f"{secured}/mcp", INITIALIZE, {"Authorization": "Bearer wrong"})
    assert status == 401 and "invalid_token" in body
    status, _ = mcp_post(f"{secured}/mcp", INITIALIZE, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200


async def test_auth_accepts_the_right_token_with_a_real_client(secured):
    async with Client(f"{secured}/mcp", auth=TOKEN) as client:
        assert (await client.call_tool("calc_add", {"a": 0})).structured_content == {"result": 2}
    with pytest.raises(Exception, match="error response"):
        async with Client(f"{secured}/mcp", auth="wrong") as client:
            await client.list_tools()


def test_foreign_host_and_origin_are_refused(server):
    status, _ = mcp_post(f"{server}/mcp", INITIALIZE, {"Host": "evil.example.com"})
    assert status == 421
    status, _ = mcp_post(f"{server}/mcp", INITIALIZE, {"Origin": "http://evil.example.com"})
    assert status == 403
    port = server.rsplit(":", 1)[1]
    status, _ = mcp_post(f"{server}/mcp", INITIALIZE, {"Origin": f"http://localhost:{port}"})
    assert status == 200


def test_public_bind_without_token_is_refused_at_start(boxes):
    done = subprocess.run(
        [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "http", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "refusing to bind 0.0.0.0 without a token" in done.stderr
