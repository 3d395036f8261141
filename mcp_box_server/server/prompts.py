"""Box prompts as MCP prompts: `prompts/get` renders the Markdown body and its attachments.

Attachments come before the body, each as a user message: an image as image content,
any other file as an embedded resource (text or base64 blob). A missing required
argument is an invalid-params error that names it, not an internal error.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from fastmcp.prompts.base import InputRequiredPromptResult, Message, Prompt, PromptArgument, PromptResult
from fastmcp.server.dependencies import get_context
from mcp import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    BlobResourceContents,
    EmbeddedResource,
    ImageContent,
    TextResourceContents,
)

from mcp_box_server.box.files import BoxFileError, is_text, mime_type, read_file
from mcp_box_server.box.prompts import PromptArgumentError, PromptSpec, substitute
from mcp_box_server.box.resources import box_uri
from mcp_box_server.box.spec import exposed_name
from mcp_box_server.runtime import BoxRuntimeError, InputNeeded
from mcp_box_server.server.catalog import BoxContent
from mcp_box_server.server.conversation import ClientConversation


class BoxPrompt(Prompt):
    """One prompt of one version of a box."""

    spec: Any = None  # PromptSpec; Any keeps pydantic from inspecting it
    content: Any = None  # BoxContent: the snapshot the prompt's attachments are read from
    registry: Any = None  # BoxRegistry: runs the function that writes the text, if any

    @classmethod
    def build(cls, name: str, spec: PromptSpec, content: BoxContent, registry: Any) -> BoxPrompt:
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
            registry=registry,
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
        text = await self._written(values) if self.spec.function else self.spec.render(values)
        if isinstance(text, InputRequiredPromptResult):
            return text
        if text:
            messages.append(Message(text))
        return PromptResult(messages, description=self.description)

    async def _written(self, values: dict[str, str]) -> str | InputRequiredPromptResult:
        """The text the prompt's function writes, in a worker; its questions go to the client."""
        tool = exposed_name(self.content.box, self.spec.function)
        conversation = ClientConversation(get_context(), tool, values, self.registry)
        try:
            value = await self.registry.call(tool, values, conversation)
        except InputNeeded as needed:  # 2026-07-28: the questions end this round
            required = conversation.input_required(needed)
            if required is None:
                raise MCPError(INTERNAL_ERROR, f"prompt '{self.name}': a malformed question") from None
            return InputRequiredPromptResult(required)
        except BoxRuntimeError as exc:
            raise MCPError(INTERNAL_ERROR, f"prompt '{self.name}': {exc}") from None
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

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
