"""A box's prompts, resources and templates through a real server, in both protocol eras.

The official SDK client (`mcp.ClientSession`, handshake era) and `fastmcp.Client`
(2026-07-28, `subscriptions/listen`) against `mcp-box serve --transport http` with
reload on: each reads what the box serves, completes arguments, and hears of edits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import listen
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.subscriptions import PromptsListChanged, ResourcesListChanged, ResourceUpdated

from tests.support.boxes import make_box
from tests.support.servers import http_server

ITEM = '''
def item(id: str) -> dict:
    """One item by ID.

    Args:
        id: the item's ID.
    """
    return {"id": id, "label": "item " + id}
'''

ASK = """---
description: Ask about a topic.
arguments:
  - name: topic
    description: What to ask about.
    required: true
    values: [algebra, algorithms, biology]
attach:
  - resources/dot.png
---
Tell me about {{topic}}.
"""

MANIFEST = """
[resources]
"docs://notes" = "resources/notes.txt"
[templates."docs://item/{id}"]
function = "item"
values = { id = ["7", "42"] }
"""

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


@pytest.fixture
def box(tmp_path: Path) -> Path:
    box = make_box(tmp_path, "docs", {"items": ITEM}, manifest=MANIFEST)
    (box / "prompts").mkdir()
    (box / "resources").mkdir()
    write(box / "prompts" / "ask.md", ASK)
    write(box / "resources" / "notes.txt", "first notes")
    (box / "resources" / "dot.png").write_bytes(PNG)
    return box


def write(path: Path, text: str) -> None:
    """Replace a file atomically, as editors do, so the watcher sees one change."""
    scratch = path.with_name(f".{path.name}.tmp")
    scratch.write_text(text)
    scratch.replace(path)


class Notifications:
    """A message handler that records server notifications by method."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self._arrived = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        root = getattr(message, "root", message)
        if method := getattr(root, "method", None):
            self.seen.append((method, getattr(root, "params", None)))
            self._arrived.set()

    async def wait(self, method: str, timeout: float = 15.0) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                for seen, params in self.seen:
                    if seen == method:
                        self.seen.remove((seen, params))
                        return params
                self._arrived.clear()
                await self._arrived.wait()


@contextlib.asynccontextmanager
async def sdk_session(
    url: str, handler: Notifications
) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    async with (
        streamable_http_client(url) as (read, write_stream),
        ClientSession(read, write_stream, message_handler=handler) as session,
    ):
        yield session, await session.initialize()


async def test_handshake_era_reads_completes_and_hears_of_edits(box):
    notifications = Notifications()
    with http_server("--boxes", str(box.parent)) as base:
        async with sdk_session(f"{base}/mcp", notifications) as (session, initialized):
            capabilities = initialized.capabilities
            assert capabilities.prompts.list_changed and capabilities.resources.subscribe
            assert capabilities.completions is not None

            (prompt,) = (await session.list_prompts()).prompts
            assert (prompt.name, prompt.description) == ("docs_ask", "Ask about a topic.")
            assert [(a.name, a.required) for a in prompt.arguments] == [("topic", True)]
            image, text = (await session.get_prompt("docs_ask", {"topic": "rain"})).messages
            assert image.content.type == "image" and base64.b64decode(image.content.data) == PNG
            assert text.content.text == "Tell me about rain."
            with pytest.raises(MCPError) as missing:
                await session.get_prompt("docs_ask", {})
            assert (
                missing.value.code == -32602 and "missing required argument 'topic'" in missing.value.message
            )

            uris = {str(r.uri) for r in (await session.list_resources()).resources}
            assert {"docs://notes", "box://docs/notes.txt", "box://docs/dot.png"} <= uris
            (notes,) = (await session.read_resource("docs://notes")).contents
            assert (notes.text, notes.mime_type) == ("first notes", "text/plain")
            (dot,) = (await session.read_resource("box://docs/dot.png")).contents
            assert base64.b64decode(dot.blob) == PNG and dot.mime_type == "image/png"
            (template,) = (await session.list_resource_templates()).resource_templates
            assert template.uri_template == "docs://item/{id}"
            (item,) = (await session.read_resource("docs://item/42")).contents
            assert (json.loads(item.text), item.mime_type) == (
                {"id": "42", "label": "item 42"},
                "application/json",
            )

            completed = await session.complete(
                types.PromptReference(type="ref/prompt", name="docs_ask"), {"name": "topic", "value": "AL"}
            )
            assert completed.completion.values == ["algebra", "algorithms"]
            completed = await session.complete(
                types.ResourceTemplateReference(type="ref/resource", uri="docs://item/{id}"),
                {"name": "id", "value": "4"},
            )
            assert completed.completion.values == ["42"]

            with pytest.warns(MCPDeprecationWarning):  # handshake era: still the way to subscribe
                await session.subscribe_resource("docs://notes")
            write(box / "resources" / "notes.txt", "second notes")
            updated = await notifications.wait("notifications/resources/updated")
            assert str(updated.uri) == "docs://notes"
            (notes,) = (await session.read_resource("docs://notes")).contents
            assert notes.text == "second notes"

            write(box / "prompts" / "ask.md", ASK.replace("Tell me about", "Explain"))
            await notifications.wait("notifications/prompts/list_changed")
            _, text = (await session.get_prompt("docs_ask", {"topic": "rain"})).messages
            assert text.content.text == "Explain rain."

            write(box / "resources" / "more.txt", "more")
            await notifications.wait("notifications/resources/list_changed")
            uris = {str(r.uri) for r in (await session.list_resources()).resources}
            assert "box://docs/more.txt" in uris


async def test_sessionless_clients_get_listen_events(box):
    with http_server("--boxes", str(box.parent)) as base:
        async with Client(f"{base}/mcp") as client:
            assert client.session.protocol_version == "2026-07-28"
            assert [p.name for p in await client.list_prompts()] == ["docs_ask"]
            async with listen(
                client.session,
                prompts_list_changed=True,
                resources_list_changed=True,
                resource_subscriptions=["docs://notes", "docs://item/7"],
            ) as subscription:
                write(box / "prompts" / "ask.md", ASK.replace("Ask about a topic.", "Ask anything."))
                write(box / "resources" / "notes.txt", "edited")
                write(box / "resources" / "new.txt", "new")
                events: set[Any] = set()
                wanted = {
                    PromptsListChanged(),
                    ResourcesListChanged(),
                    ResourceUpdated("docs://notes"),
                    ResourceUpdated("docs://item/7"),  # its box reloaded: its template may render anew
                }
                async with asyncio.timeout(20):
                    while not wanted <= events:
                        events.add(await anext(aiter(subscription)))
            (prompt,) = await client.list_prompts()
            assert prompt.description == "Ask anything."
            assert (await client.read_resource("docs://notes"))[0].text == "edited"


async def test_a_bad_prompt_file_is_reported_and_the_rest_serve(box):
    write(box / "prompts" / "broken.md", "---\narguments: 3\n---\nx")
    with http_server("--boxes", str(box.parent), "--no-reload") as base:
        async with Client(f"{base}/mcp") as client:
            assert [p.name for p in await client.list_prompts()] == ["docs_ask"]
            status = (await client.read_resource("box://status"))[0].text
            assert "broken.md" in status and "'arguments' must be a list" in status
