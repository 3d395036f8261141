"""Box prompts as MCP prompts: `prompts/get` renders the Markdown body and its attachments.

Attachments come before the body, each as a user message: an image as image content,
any other file as an embedded resource (text or base64 blob). A missing required
argument is an invalid-params error that names it, not an internal error.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from fastmcp.prompts.base import Message, Prompt, PromptArgument, PromptResult
from mcp import MCPError
from mcp_types import (
    INVALID_PARAMS,
    BlobResourceContents,
    EmbeddedResource,
    ImageContent,
    TextResourceContents,
)

from mcp_box_server.box.files import BoxFileError, is_text, mime_type, read_file
from mcp_box_server.box.prompts import PromptArgumentError, PromptSpec, substitute
from mcp_box_server.box.resources import box_uri
from mcp_box_server.server.catalog import BoxContent


class BoxPrompt(Prompt):
    """One prompt of one version of a box."""

    spec: Any = None  # PromptSpec; Any keeps pydantic from inspecting it
    content: Any = None  # BoxContent: the snapshot the prompt's attachments are read from

    @classmethod
    def build(cls, name: str, spec: PromptSpec, content: BoxContent) -> BoxPrompt:
        arguments = [
            PromptArgument(name=a.name, description=a.description or None, required=a.required)
            for a in spec.arguments
        ]
        return cls(
            name=name,
            description=spec.description or f"Prompt '{spec.name}' of the '{content.box}' box.",
            arguments=arguments,
            tags={f"box:{content.box}"},
            meta={"mcp-box": {"box": content.box, "prompt": spec.name}},
            spec=spec,
            content=content,
        )

    async def render(self, arguments: dict[str, Any] | None = None) -> PromptResult:
        try:
            values = self.spec.bind(arguments)
        except PromptArgumentError as exc:
            raise MCPError(INVALID_PARAMS, f"prompt '{self.name}': {exc}") from None
        try:
            attachments = await asyncio.to_thread(self._attachments, values)
        except BoxFileError as exc:  # the file went away with its version: a reload is under way
            raise MCPError(INVALID_PARAMS, f"prompt '{self.name}': {exc}") from None
        messages = [Message(block) for block in attachments]
        if body := self.spec.render(values):
            messages.append(Message(body))
        return PromptResult(messages, description=self.description)

    def _attachments(self, values: dict[str, str]) -> list[ImageContent | EmbeddedResource]:
        content: BoxContent = self.content
        blocks: list[ImageContent | EmbeddedResource] = []
        for attachment in self.spec.attach:
            data = read_file(content.root, attachment.file, content.limit)
            mime = mime_type(attachment.file)
            uri = (
                substitute(attachment.uri, values)
                if attachment.uri
                else box_uri(content.box, attachment.file)
            )
            if mime.startswith("image/") and attachment.uri is None:
                blocks.append(
                    ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=mime)
                )
            elif is_text(mime):
                text = data.decode("utf-8", errors="replace")
                resource = TextResourceContents(uri=uri, mime_type=mime, text=text)
                blocks.append(EmbeddedResource(type="resource", resource=resource))
            else:
                blob = BlobResourceContents(uri=uri, mime_type=mime, blob=base64.b64encode(data).decode())
                blocks.append(EmbeddedResource(type="resource", resource=blob))
        return blocks
