"""A FastMCP provider that serves the registry's boxes: tools and resources.

FastMCP asks the provider for its components on every request, so a swap in the
registry is visible to the very next `tools/list` with no re-registration.
Tool objects are cached per version of the tool list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastmcp.resources.base import Resource
from fastmcp.resources.types import TextResource
from fastmcp.server.providers import Provider
from fastmcp.tools.base import Tool, ToolResult
from fastmcp.utilities.versions import VersionSpec
from mcp_types import ToolAnnotations

from mcp_box_server.box import ToolSpec
from mcp_box_server.runtime import BoxRuntimeError
from mcp_box_server.server import results
from mcp_box_server.server.registry import BoxRegistry

STATUS_URI = "box://status"


class BoxTool(Tool):
    """A tool whose body runs in a box worker, reached through the registry."""

    registry: Any = None  # BoxRegistry; Any keeps pydantic from inspecting it

    @classmethod
    def from_spec(cls, spec: ToolSpec, registry: BoxRegistry) -> BoxTool:
        annotations = ToolAnnotations(**spec.annotations) if spec.annotations else None
        return cls(
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters,
            annotations=annotations,
            tags={f"box:{spec.box}"},
            meta={"mcp-box": {"box": spec.box, "function": spec.function, "timeout": spec.timeout}},
            registry=registry,
        )

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        try:
            return results.success(await self.registry.call(self.name, arguments))
        except BoxRuntimeError as error:
            return results.failure(error)


class BoxProvider(Provider):
    """Lists the registry's tools, one README resource per box, and a status resource."""

    def __init__(self, registry: BoxRegistry) -> None:
        super().__init__()
        self.registry = registry
        self._cache_generation = -1
        self._cache: dict[str, BoxTool] = {}

    async def _list_tools(self) -> Sequence[Tool]:
        await self.registry.started()  # the first list has every box (each within its load timeout)
        return list(self._tools().values())

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        tool = self._tools().get(name)
        if tool is None and self.registry.starting:  # its box may still be loading
            await self.registry.started()
            tool = self._tools().get(name)
        return tool

    async def _list_resources(self) -> Sequence[Resource]:
        resources: list[Resource] = [
            TextResource(
                uri=STATUS_URI,
                name="box-status",
                description="Every box: version, tools, load errors (JSON).",
                mime_type="application/json",
                text=json.dumps(self.registry.status(), indent=2),
            )
        ]
        for state in self.registry.states:
            readme = state.pool.readme if state.pool is not None else None
            if state.serving and readme is not None:
                resources.append(
                    TextResource(
                        uri=f"box://{state.name}/readme",
                        name=f"{state.name}-readme",
                        description=f"README of the '{state.name}' box.",
                        mime_type="text/markdown",
                        text=readme,  # read from the snapshot, never through a link
                    )
                )
        return resources

    def _tools(self) -> dict[str, BoxTool]:
        if self._cache_generation != self.registry.generation:
            specs = self.registry.tools
            self._cache = {name: BoxTool.from_spec(spec, self.registry) for name, spec in specs.items()}
            self._cache_generation = self.registry.generation
        return self._cache
