"""Meta-tools: reach every box tool through three fixed tools.

Claude Desktop never refreshes its tool list, and small models do badly facing
dozens of tools; both can still find (`find_tools`) and call (`call_tool`) any
tool, including ones added by hot reload after the client connected. Their
arguments are checked by the same schema code as box tools, so a bad argument
reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.server.middleware import Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from mcp_box_server.box.schema import describe_function, validate_arguments
from mcp_box_server.box.search import Document, rank
from mcp_box_server.runtime import BoxRuntimeError
from mcp_box_server.server import results
from mcp_box_server.server.code_mode import (
    CODE_MODE_TOOLS,
    CodeMode,
    CodeModeOnly,
    ProgramLimit,
    ProgramLimits,
    answer,
    client_conversation,
    schema_text,
)
from mcp_box_server.server.registry import BoxRegistry

META_TOOLS = ("find_tools", "call_tool", "box_status")

Handler = Callable[..., Awaitable[ToolResult]]


class MetaTool(Tool):
    """A tool served by the server itself; arguments validated like a box tool's."""

    handler: Any = None
    arguments_model: Any = None

    @classmethod
    def build(cls, handler: Handler, read_only: bool = False) -> MetaTool:
        name = handler.__name__
        signature = describe_function(handler, name)
        return cls(
            name=name,
            description=signature.description,
            parameters=signature.schema,
            annotations=ToolAnnotations(read_only_hint=True) if read_only else None,
            handler=handler,
            arguments_model=signature.model,
        )

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        model: type[BaseModel] = self.arguments_model
        try:
            checked = validate_arguments(model, arguments)
        except ValueError as error:
            return results.failure(str(error))
        return await self.handler(**checked)


def tool_document(name: str, description: str, parameters: dict[str, Any]) -> Document:
    words = [name, description]
    for param, schema in parameters.get("properties", {}).items():
        words += [param, str(schema.get("description", ""))]
    return Document(name, " ".join(words))


def unknown_tool_message(name: str, registry: BoxRegistry) -> str:
    close = registry.closest(name)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown tool '{name}'{hint}"


class UnknownToolHint(Middleware):
    """Answer a call to a missing tool the way `call_tool` does: with close names."""

    def __init__(self, registry: BoxRegistry) -> None:
        self.registry = registry

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        name = context.message.name
        if name not in META_TOOLS + CODE_MODE_TOOLS and not await self.registry.knows(name):
            return results.failure(unknown_tool_message(name, self.registry))
        return await call_next(context)


def register_meta_tools(
    server: FastMCP, registry: BoxRegistry, status: Callable[[], list[dict[str, Any]]] | None = None
) -> None:
    """Add `find_tools`, `call_tool` and `box_status` to `server`; `status` (by default the
    registry's) is what `box_status` reports."""

    async def find_tools(query: str, k: Annotated[int, Field(ge=1, le=50)] = 5) -> ToolResult:
        """Find the box tools that best match a task; returns names, descriptions and input schemas.

        Use it when the tool you need is not in your list, then call the tool by name
        (or through `call_tool`). Example: find_tools(query="reverse complement of DNA").

        Args:
            query: what you want to do, in a few words.
            k: how many tools to return (1 to 50).
        """
        specs = registry.tools
        documents = [tool_document(s.name, s.description, s.parameters) for s in specs.values()]
        tools = [
            {
                "name": name,
                "description": specs[name].description,
                "input_schema": specs[name].parameters,
                "score": round(score, 3),
            }
            for name, score in rank(query, documents, k)
        ]
        return results.success({"query": query, "tools": tools})

    async def call_tool(name: str, arguments: dict[str, Any] | None = None) -> ToolResult:
        """Call any box tool by name; use it for tools found with find_tools.

        Example: call_tool(name="math_solve_24", arguments={"numbers": [4, 7, 8, 8]}).

        Args:
            name: exact tool name, as returned by find_tools.
            arguments: the tool's arguments as an object.
        """
        if name in META_TOOLS or name in CODE_MODE_TOOLS:
            return results.failure(f"call_tool cannot call the meta-tool '{name}'; call it directly")
        if not await registry.knows(name):
            return results.failure(unknown_tool_message(name, registry))
        try:
            return results.success(await registry.call(name, arguments or {}))
        except BoxRuntimeError as error:
            return results.failure(error)

    async def box_status() -> ToolResult:
        """Every box this server serves: version, tools, and load errors from the last (re)load;
        `starting` while boxes found at start are still loading.

        Use it when a tool is missing or a box was just edited.
        """
        return results.success({"boxes": (status or registry.status)(), "starting": registry.starting})

    server.add_middleware(UnknownToolHint(registry))
    server.add_tool(MetaTool.build(find_tools, read_only=True))
    server.add_tool(MetaTool.build(call_tool))
    server.add_tool(MetaTool.build(box_status, read_only=True))


def register_code_mode(
    server: FastMCP, registry: BoxRegistry, *, only: bool = False, limits: ProgramLimits | None = None
) -> CodeMode:
    """Add `execute` and `get_schema` (serve --code-mode); with `only`, hide every other tool
    but `find_tools` (serve --code-mode-only). The caller closes the returned `CodeMode`."""
    code_mode = CodeMode(registry, limits)
    limit = code_mode.limits

    async def execute(code: str) -> ToolResult:
        """Run a Python program against the box tools, in a sandbox; returns what it prints and its result.

        Each box is a module of functions: `math.solve_24(numbers=[4, 9, 10, 13])`,
        `bio.gc_content(sequence="ATGC")`; `help(bio)` lists them, get_schema gives their
        signatures. Loop, filter and combine in Python, then print what you need or end
        with an expression or `final_answer(value)`; a failing tool raises `ToolError`.
        No network, no files but the program's temp dir.

        Args:
            code: the Python program.
        """
        try:
            outcome = await code_mode.run(code, client_conversation(registry, code))
        except ProgramLimit as stop:
            return results.failure(str(stop))
        except BoxRuntimeError as error:
            return results.failure(error)
        return answer(outcome)

    execute.__doc__ = (execute.__doc__ or "") + (
        f"\n        Limits: {limit.timeout:g} s, {limit.memory_mb} MB, {limit.tool_calls} tool calls, "
        f"{limit.output:,} characters of output.\n"
    )

    async def get_schema(names: list[str]) -> ToolResult:
        """The Python signatures and docstrings of box tools, to call them from `execute`.

        Example: get_schema(names=["math_solve_24", "bio.gc_content"]).

        Args:
            names: tool names, as find_tools gives them (math_solve_24) or as in a program (math.solve_24).
        """
        await registry.started()
        text, unknown = schema_text(code_mode, names)
        if unknown:
            hints = "; ".join(unknown_tool_message(name, registry) for name in unknown)
            return results.failure(f"{hints} (or a tool kept out of code mode)")
        return results.success(text)

    if only:
        server.add_middleware(CodeModeOnly())
    server.add_tool(MetaTool.build(execute))
    server.add_tool(MetaTool.build(get_schema, read_only=True))
    return code_mode
