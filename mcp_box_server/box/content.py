"""Rich tool results: images, audio and embedded resources beside plain JSON values.

A tool returns one of these (or a list mixing them with strings and JSON values)
to show a picture or carry a file; anything else is a JSON value as before. They
travel from the worker as plain dicts (`to_wire`), base64 for bytes, and the
server turns them into MCP content blocks.

Example:
    >>> from mcp_box_server import Image
    >>> def plot(expression: str) -> list:
    ...     '''Plot an expression.'''
    ...     return ["y = " + expression, Image(render(expression), "image/png")]
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Image:
    """A picture: raw bytes (PNG, JPEG, GIF, WebP, SVG) and their MIME type."""

    data: bytes
    mime_type: str = "image/png"


@dataclass(frozen=True, slots=True)
class Audio:
    """A sound: raw bytes (WAV, MP3, OGG) and their MIME type."""

    data: bytes
    mime_type: str = "audio/wav"


@dataclass(frozen=True, slots=True)
class Resource:
    """A file embedded in the result: text or bytes, named by a URI."""

    uri: str
    text: str | None = None
    data: bytes | None = None
    mime_type: str = "text/plain"

    def __post_init__(self) -> None:
        if (self.text is None) == (self.data is None):
            raise ValueError("a Resource holds either text or data")


RICH = (Image, Audio, Resource)


@dataclass(frozen=True, slots=True)
class Rich:
    """A result that travelled as content blocks (the `to_wire` dicts), as the server gets it."""

    blocks: list[dict[str, Any]]


def is_rich(value: Any) -> bool:
    """Whether a tool result needs content blocks rather than one JSON value."""
    if isinstance(value, RICH):
        return True
    return isinstance(value, list | tuple) and any(isinstance(item, RICH) for item in value)


def to_wire(value: Any, jsonable: Any = None) -> list[dict[str, Any]]:
    """Content blocks as plain dicts; `jsonable` converts the JSON parts (numbers, dicts)."""
    items = value if isinstance(value, list | tuple) else [value]
    blocks = []
    for item in items:
        if isinstance(item, Image | Audio):
            kind = "image" if isinstance(item, Image) else "audio"
            data = base64.b64encode(item.data).decode()
            blocks.append({"type": kind, "data": data, "mimeType": item.mime_type})
        elif isinstance(item, Resource):
            resource: dict[str, Any] = {"uri": item.uri, "mimeType": item.mime_type}
            if item.text is not None:
                resource["text"] = item.text
            else:
                resource["blob"] = base64.b64encode(item.data or b"").decode()
            blocks.append({"type": "resource", "resource": resource})
        elif isinstance(item, str):
            blocks.append({"type": "text", "text": item})
        else:
            plain = jsonable(item) if jsonable else item
            blocks.append({"type": "text", "text": json.dumps(plain, ensure_ascii=False)})
    return blocks
