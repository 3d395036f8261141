"""Meta-tools: reach every box tool through three fixed tools.

Claude Desktop never refreshes its tool list, and small models do badly facing
dozens of tools; both can still find (`find_tools`) and call (`call_tool`) any
tool, including ones added by hot reload after the client connected.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from mcp_box_server.box.search import Document, rank
from mcp_box_server.runtime import BoxRuntimeError
from mcp_box_server.server import results
from mcp_box_server.server.registry import BoxRegistry

META_TOOLS = ("find_tools", "call_tool", "box_status")


def tool_document(name: str, description: str, parameters: dict[str, Any]) -> Document:
    words = [name, description]
    for param, schema in parameters.get("properties", {}).items():
        words += [param, str(schema.get("description", ""))]
    return Document(name, " ".join(words))


def register_meta_tools(server: FastMCP, registry: BoxRegistry) -> None:
    """Add `find_tools`, `call_tool` and `box_status` to `server`."""

    @server.tool(annotations={"readOnlyHint": True})
    def find_tools(
        query: Annotated[str, Field(description="What you want to do, in a few words.")],
        k: Annotated[int, Field(ge=1, le=50, description="How many tools to return.")] = 5,
    ) -> dict[str, Any]:
        """Find the box tools that best match a task; returns names, descriptions and input schemas.

        Use it when the tool you need is not in your list, then call the tool by name
        (or through `call_tool`). Example: find_tools(query="reverse complement of DNA").
        """
        specs = registry.tools
        documents = [tool_document(s.name, s.description, s.parameters) for s in specs.values()]
        found = rank(query, documents, k)
        return {
            "query": query,
            "tools": [
                {
                    "name": name,
                    "description": specs[name].description,
                    "input_schema": specs[name].parameters,
                    "score": round(score, 3),
                }
                for name, score in found
            ],
        }

    @server.tool
    async def call_tool(
        name: Annotated[str, Field(description="Exact tool name, as returned by find_tools.")],
        arguments: Annotated[
            dict[str, Any] | None, Field(description="The tool's arguments as an object.")
        ] = None,
    ) -> ToolResult:
        """Call any box tool by name; use it for tools found with find_tools.

        Example: call_tool(name="math_solve_24", arguments={"numbers": [4, 7, 8, 8]}).
        """
        if name in META_TOOLS:
            return results.failure(f"call_tool cannot call the meta-tool '{name}'; call it directly")
        if name not in registry.tools:
            close = rank(name, [tool_document(n, "", {}) for n in registry.tools], 3)
            hint = f"; did you mean {', '.join(n for n, _ in close)}?" if close else ""
            return results.failure(f"unknown tool '{name}'{hint}")
        try:
            return results.success(await registry.call(name, arguments or {}))
        except BoxRuntimeError as error:
            return results.failure(error)

    @server.tool(annotations={"readOnlyHint": True})
    def box_status() -> dict[str, Any]:
        """Every box this server serves: version, tools, and load errors from the last (re)load.

        Use it when a tool is missing or a box was just edited.
        """
        return {"boxes": registry.status()}
