"""The harness's MCP connection: stdio with hot reload, SSE with a token, errors."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from mcp_box_server.student.connection import BoxConnection, ServerTarget, classify
from mcp_box_server.student.errors import ServerUnavailable
from mcp_box_server.student.steps import ErrorKind
from tests.student.conftest import serve_http
from tests.support.processes import terminate
from tests.support.scripted_openai import free_port

NEW_TOOL = '''
def triple(x: int) -> int:
    """Multiply an integer by three.

    Args:
        x: the integer.
    """
    return 3 * x
'''


async def test_stdio_follows_tool_list_changes(boxes_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "boxes"
    shutil.copytree(boxes_root / "calc", root / "calc")
    async with BoxConnection(ServerTarget.local([root])) as box:
        before = {t.name for t in await box.list_tools()}
        assert "calc_add" in before and "calc_triple" not in before
        heard = box.list_changes  # calc's first load may have announced itself: it loads after connect
        await asyncio.sleep(0.5)  # let the watcher start before editing
        (root / "calc" / "tools" / "more.py").write_text(NEW_TOOL)
        deadline = time.monotonic() + 30
        while box.list_changes == heard and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert box.list_changes > heard, "no notifications/tools/list_changed within 30 s"
        after = {t.name for t in await box.list_tools()}
        assert after == before | {"calc_triple"}
        outcome = await box.call_tool("calc_triple", {"x": 4})
        assert outcome.ok and outcome.structured == {"result": 12}


async def test_sse_with_token(boxes_root: Path, tmp_path: Path) -> None:
    port = free_port()
    process = serve_http(boxes_root, port, tmp_path / "serve.log", "--transport", "sse", "--token", "s3cret")
    try:
        url = f"http://127.0.0.1:{port}/sse"
        async with BoxConnection(ServerTarget.remote(url, token="s3cret")) as box:
            assert box.target.transport == "sse"
            outcome = await box.call_tool("calc_add", {"a": 40, "b": 2})
            assert outcome.ok and outcome.text == "42"
        with pytest.raises(ServerUnavailable, match="could not connect to the box server at"):
            async with BoxConnection(ServerTarget.remote(url, token="wrong"), connect_timeout_s=10):
                pass
    finally:
        terminate(process)


async def test_nothing_listening_is_server_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ServerUnavailable, match=f"could not connect to the box server at {url}"):
        async with BoxConnection(ServerTarget.remote(url), connect_timeout_s=5):
            pass


async def test_server_that_cannot_start_is_reported(tmp_path: Path) -> None:
    target = ServerTarget.local([tmp_path / "missing"])
    with pytest.raises(ServerUnavailable, match="could not start the box server"):
        async with BoxConnection(target, connect_timeout_s=20):
            pass


def test_remote_target_transport() -> None:
    assert ServerTarget.remote("http://h:1/mcp").transport == "http"
    assert ServerTarget.remote("http://h:1/sse/").transport == "sse"
    with pytest.raises(ValueError, match="http"):
        ServerTarget.remote("h:1/mcp")
    command = ServerTarget.local(["/b"], ["math"], reload=False).command
    assert command[1:] == (
        "-m",
        "mcp_box_server",
        "serve",
        "--transport",
        "stdio",
        "--boxes",
        "/b",
        "--no-bundled",
        "--box",
        "math",
        "--no-reload",
    )


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("invalid arguments: missing required parameter 'b'", ErrorKind.BAD_ARGUMENTS),
        ("unknown tool 'x'; did you mean y?", ErrorKind.UNKNOWN_TOOL),
        ("tool error: ValueError: division by zero", ErrorKind.TOOL_FAILED),
        ("tool 'x' timed out after 30 s", ErrorKind.TOOL_FAILED),
    ],
)
def test_classify(message: str, kind: ErrorKind) -> None:
    assert classify(message) is kind
