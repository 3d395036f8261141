"""Box resources as MCP resources: files read from the snapshot, templates rendered by tools.

A file is served as text when its MIME type is textual, else as a base64 blob. A
template read calls the box's tool function with the URI's variables, in a worker
like any call; its result becomes the contents (a string as text, an image or any
bytes as a blob, other values as JSON).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from fastmcp.exceptions import ResourceError
from fastmcp.resources.base import Resource, ResourceContent, ResourceResult
from fastmcp.resources.template import ResourceTemplate

from mcp_box_server.box.content import Rich
from mcp_box_server.box.files import BoxFileError, is_text, read_file
from mcp_box_server.runtime import BoxRuntimeError
from mcp_box_server.server.catalog import BoxContent, Template


class BoxResource(Resource):
    """One file of one version of a box."""

    content: Any = None  # BoxContent; Any keeps pydantic from inspecting it
    file: Any = None  # PurePosixPath inside the snapshot

    @classmethod
    def build(cls, uri: str, content: BoxContent) -> BoxResource:
        resource = content.resources[uri]
        return cls(
            uri=uri,
            name=resource.name,
            description=resource.description,
            mime_type=resource.mime_type,
            tags={f"box:{content.box}"},
            content=content,
            file=resource.file,
        )

    async def read(self) -> str | bytes:
        content: BoxContent = self.content
        try:
            data = await asyncio.to_thread(read_file, content.root, self.file, content.limit)
        except BoxFileError as exc:  # its version was replaced meanwhile: the client lists again
            raise ResourceError(f"{self.uri}: {exc}") from None
        return data.decode("utf-8", errors="replace") if is_text(self.mime_type) else data


class BoxTemplate(ResourceTemplate):
    """A `[templates]` entry: reads call a tool function of the box."""

    registry: Any = None  # BoxRegistry
    tool: str = ""  # the exposed name of the rendering tool
    declared_mime: str | None = None  # from box.toml; else each read's own (text, JSON, image...)

    @classmethod
    def build(cls, template: Template, content: BoxContent, registry: Any) -> BoxTemplate:
        entry = template.entry
        return cls(
            uri_template=template.uri_template,
            name=entry.name or template.tool.name,
            description=entry.description or template.tool.description,
            mime_type=entry.mime_type,
            parameters=template.tool.parameters,
            tags={f"box:{content.box}"},
            security=None,  # the variables are the tool's arguments, validated by its schema
            registry=registry,
            tool=template.tool.name,
            declared_mime=entry.mime_type,
        )

    async def _read(self, uri: str, params: dict[str, Any]) -> ResourceResult:
        try:
            value = await self.registry.call(self.tool, params)
        except BoxRuntimeError as exc:
            raise ResourceError(f"{uri}: {exc}") from None
        return ResourceResult(contents(value, self.declared_mime))


def contents(value: Any, mime: str | None) -> list[ResourceContent]:
    """A tool result as resource contents; `mime` (declared in box.toml) overrides the guess."""
    if not isinstance(value, Rich):
        return [ResourceContent(value, mime_type=mime)]
    items = []
    for block in value.blocks:
        kind = block.get("type")
        if kind in ("image", "audio"):
            items.append(ResourceContent(base64.b64decode(block["data"]), mime_type=block["mimeType"]))
        elif kind == "resource":
            inner = block["resource"]
            data = inner["text"] if "text" in inner else base64.b64decode(inner.get("blob", ""))
            items.append(ResourceContent(data, mime_type=inner.get("mimeType")))
        else:
            items.append(ResourceContent(str(block.get("text", "")), mime_type=mime))
    return items
