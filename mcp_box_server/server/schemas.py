"""Tool schemas as each client's protocol reads them: `$defs`/`$ref` kept, the dialect named.

Box schemas are JSON Schema 2020-12 (pydantic writes `$defs`, `prefixItems`). From
protocol 2025-11-25 on (SEP-1613) that is the dialect a schema is read in, and
`tools/list` names it with `$schema`; older protocols named none, and their clients'
validators (draft-07 Ajv in older TypeScript SDKs) may refuse a `$schema` they do not
know, so their schemas stay as they were. FastMCP's own inlining of `$ref`
(`dereference_schemas`) is off: it loses shared and recursive definitions.

A parameter whose schema has `x-mcp-header` (SEP-2243) is mirrored by 2026-07-28 HTTP
clients in an `Mcp-Param-*` header, which the SDK checks against the body before a
`tools/call` runs, with the schema `check_param_headers` hands it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import mcp_types as mt
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool
from mcp_types.version import is_version_at_least

from mcp_box_server.box.schema import with_dialect

if TYPE_CHECKING:
    from fastmcp import FastMCP

    from mcp_box_server.server.registry import BoxRegistry

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


def check_param_headers(server: FastMCP, registry: BoxRegistry) -> None:
    """Check `Mcp-Param-*` headers against each box tool's schema as the registry serves it now.

    FastMCP hands the SDK the schemas of its last `tools/list`, and its provider tools are
    not known before one: a `tools/call` before the first listing (a client that cached
    the list, a restarted server), or a tool a reload added or changed, went unchecked.
    Other tools (the meta tools) keep FastMCP's lookup. A box still loading at start is
    not in the registry yet: a call to it then goes unchecked, as before.
    """
    low_level = server._mcp_server  # the SDK's hook; FastMCP 4.1 has no public setter
    listed = low_level.get_tool_input_schema

    def schema_of(name: str) -> Mapping[str, Any] | None:
        spec = registry.tools.get(name)
        if spec is not None:
            return spec.parameters
        return listed(name) if listed is not None else None

    low_level.get_tool_input_schema = schema_of
