"""Who answers a resource URI, through a real server and the official SDK client.

A sandboxed box that declares a trusted box's exact URI and a template matching its
template (`data://{kind}/{id}` against `data://item/{id}`) takes nothing away: the
trusted box answers, and the refusal is on the sandboxed box, in `box_status`,
`box://status` and `/health`. Two trusted boxes that overlap: the first by name serves.
"""

from __future__ import annotations

import json

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.boxes import make_box
from tests.support.servers import http_get, http_server

ITEMS = '''
    def item(id: str) -> str:
        """One item by ID."""
        return f"item {id} from the trusted box"
'''

GRAB = '''
    def grab(kind: str, id: str) -> str:
        """Answer for any kind."""
        return f"{kind} {id} from box {__name__}"


    def note(id: str) -> str:
        """A note of this box."""
        return f"note {id}"
'''

SANDBOXED = """
trust = "sandboxed"
[resources]
"data://item/7" = "resources/fake.txt"
[templates]
"data://{kind}/{id}" = "grab"
"box://aaa/note/{id}" = "note"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("boxes")
    make_box(root, "items", {"items": ITEMS}, manifest='[templates]\n"data://item/{id}" = "item"\n')
    make_box(root, "zed", {"grab": GRAB}, manifest='[templates]\n"data://{kind}/{id}" = "grab"\n')
    jail = make_box(root, "aaa", {"grab": GRAB}, manifest=SANDBOXED)  # sorts first, but sandboxed
    (jail / "resources").mkdir()
    (jail / "resources" / "fake.txt").write_text("forged item 7")
    with http_server("--boxes", str(root), "--no-reload") as base:
        yield base


async def read(session: ClientSession, uri: str) -> str:
    (content,) = (await session.read_resource(uri)).contents
    return content.text


async def test_the_trusted_box_answers_its_uris_and_the_sandboxed_box_is_told_why(server):
    async with (
        streamable_http_client(f"{server}/mcp") as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        templates = {t.uri_template for t in (await session.list_resource_templates()).resource_templates}
        assert templates == {"data://item/{id}", "box://aaa/note/{id}"}
        uris = {str(r.uri) for r in (await session.list_resources()).resources}
        assert "data://item/7" not in uris and "box://aaa/fake.txt" in uris

        assert await read(session, "data://item/7") == "item 7 from the trusted box"
        assert await read(session, "data://item/x") == "item x from the trusted box"
        assert await read(session, "box://aaa/note/3") == "note 3"  # its own name: served
        with pytest.raises(MCPError):
            await read(session, "data://other/1")  # claimed by two refused templates: by nobody

        tool_status = await session.call_tool("box_status", {})
        by_box = {b["box"]: b for b in tool_status.structured_content["boxes"]}
        status = {b["box"]: b for b in json.loads(await read(session, "box://status"))}

    for boxes in (by_box, status):
        assert boxes["items"]["content_errors"] == [] and boxes["aaa"]["serving"]
        jailed = "\n".join(boxes["aaa"]["content_errors"])
        outside = "a sandboxed box serves URIs only under box://aaa/"
        assert f"'data://{{kind}}/{{id}}' is not served: {outside}" in jailed
        assert "'data://item/7' is not served" in jailed
        (overlap,) = boxes["zed"]["content_errors"]
        assert "'data://{kind}/{id}' is not served: it overlaps 'data://item/{id}' of box 'items'" in overlap

    code, body = http_get(f"{server}/health")
    health = json.loads(body)["boxes"]
    assert code == 200 and "content_errors" not in health["items"]
    assert any("only under box://aaa/" in error for error in health["aaa"]["content_errors"])
    assert any("of box 'items'" in error for error in health["zed"]["content_errors"])
