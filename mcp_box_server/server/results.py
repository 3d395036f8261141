"""Turn runtime outcomes into MCP tool results, in one place.

Success: a readable text (a string result as is, anything else as compact JSON:
what models read) plus structured content (a dict result as is, anything else
under "result"). A result whose text is over `ONCE_OVER` goes to the client once:
both would hold it twice in every copy the server makes on the way (the JSON reply,
its SSE event, their bytes). Failure: an `isError` result whose
text names the kind of failure and what was wrong, never a protocol error.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastmcp.tools.base import ToolResult
from mcp_types import AudioContent, ContentBlock, EmbeddedResource, ImageContent, TextContent

from mcp_box_server.box.content import Rich
from mcp_box_server.runtime import (
    BoxRuntimeError,
    BoxUnavailable,
    InvalidArguments,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
    WorkerCrashed,
    call_note,
)
from mcp_box_server.runtime.errors import ResultTooLarge

_PREFIX: dict[type[BoxRuntimeError], str] = {
    InvalidArguments: "",
    UnknownTool: "",
    ToolFailed: "tool error: ",
    ToolTimeout: "timeout: ",
    WorkerCrashed: "worker crashed: ",
    BoxUnavailable: "unavailable: ",
    ResultTooLarge: "result too large: ",
}


ONCE_OVER = 1024 * 1024  # characters
# Built once: `json.dumps` with options builds an encoder on every call.
_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def success(value: Any, *, schema: bool = False) -> ToolResult:
    """`schema`: the tool declares an output schema, so structured content must be sent."""
    if isinstance(value, Rich):
        return ToolResult(content=[_block(block) for block in value.blocks])
    structured = value if isinstance(value, dict) else {"result": value}
    text = value if isinstance(value, str) else _TEXT(value)
    make = _as_json if isinstance(value, str) or not _NON_FINITE.search(text) else ToolResult
    if len(text) <= ONCE_OVER:
        return make(content=[TextContent(type="text", text=text)], structured_content=structured)
    if not schema:  # the text alone: what every client reads
        return make(content=[TextContent(type="text", text=text)])
    note = f"(a result of {len(text) / 1024 / 1024:.1f} MB, sent once: in structuredContent, not as text)"
    return make(content=[TextContent(type="text", text=note)], structured_content=structured)


_NON_FINITE = re.compile(r"NaN|Infinity")  # how `json.dumps` writes the floats JSON cannot hold


def _as_json(content: list[ContentBlock], structured_content: dict[str, Any] | None = None) -> ToolResult:
    """A result whose structured content `json.dumps` has just written, every float finite.

    FastMCP's constructor serialises the structured content to JSON and parses it back, to
    turn objects into JSON and reject NaN; for JSON that is two copies of it for nothing (a
    tenth of a small call's time in the server; tens of MB for a big result sent as
    structured content). A value with a non-finite float takes that constructor, and its error.
    """
    return ToolResult.model_construct(
        content=content, structured_content=structured_content, meta=None, is_error=False
    )


def failure(error: BoxRuntimeError | str) -> ToolResult:
    if not isinstance(error, str):
        call_note.failed(error)  # its kind, for the call log and /metrics
    text = error if isinstance(error, str) else _PREFIX.get(type(error), "") + str(error)
    return ToolResult(content=[TextContent(type="text", text=text)], is_error=True)


_BLOCKS = {"text": TextContent, "image": ImageContent, "audio": AudioContent, "resource": EmbeddedResource}


def _block(block: dict[str, Any]) -> ContentBlock:
    """One content block of a rich result (see `box.content.to_wire`)."""
    kind = _BLOCKS.get(str(block.get("type")))
    if kind is None:
        return TextContent(type="text", text=f"(unknown content block type {block.get('type')!r})")
    return kind.model_validate(block)
