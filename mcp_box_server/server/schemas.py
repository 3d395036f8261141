"""Tool schemas as each client's protocol reads them: `$defs`/`$ref` kept, the dialect named.

Box schemas are JSON Schema 2020-12 (pydantic writes `$defs`, `prefixItems`). From
protocol 2025-11-25 on (SEP-1613) that is the dialect a schema is read in, and
`tools/list` names it with `$schema`; older protocols named none, and their clients'
validators (draft-07 Ajv in older TypeScript SDKs) may refuse a `$schema` they do not
know, so their schemas stay as they were. FastMCP's own inlining of `$ref`
(`dereference_schemas`) is off: it loses shared and recursive definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mcp_types as mt
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool
from mcp_types.version import is_version_at_least

from mcp_box_server.box.schema import with_dialect

DIALECT_SINCE = "2025-11-25"


class SchemaDialect(Middleware):
    """Adds `$schema` (2020-12) to every tool's input and output schema for clients that read it."""

    async def on_list_tools(
        self,
        context: MiddlewareContext[mt.ListToolsRequest],
        call_next: CallNext[mt.ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        tools = await call_next(context)
        if not names_dialect(context):
            return tools
        return [_declared(tool) for tool in tools]


def names_dialect(context: MiddlewareContext[Any]) -> bool:
    """Whether the client's protocol revision reads `$schema` (2025-11-25 and later)."""
    ctx = context.fastmcp_context
    request = ctx.request_context if ctx is not None else None
    version = request.protocol_version if request is not None else None
    return version is not None and is_version_at_least(version, DIALECT_SINCE)


def _declared(tool: Tool) -> Tool:
    update: dict[str, Any] = {"parameters": with_dialect(tool.parameters)}
    if tool.output_schema:
        update["output_schema"] = with_dialect(tool.output_schema)
    return tool.model_copy(update=update)
