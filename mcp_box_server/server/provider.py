"""A FastMCP provider that serves the registry's boxes: tools, prompts and resources.

FastMCP asks the provider for its components on every request, so a swap in the
registry is visible to the very next `tools/list` with no re-registration.
Tool objects are cached per version of the tool list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastmcp.prompts.base import Prompt
from fastmcp.resources.base import Resource
from fastmcp.resources.template import ResourceTemplate
from fastmcp.resources.types import TextResource
from fastmcp.server.dependencies import get_context
from fastmcp.server.providers import Provider
from fastmcp.tools.base import InputRequiredToolResult, Tool, ToolResult
from fastmcp.utilities.components import FastMCPComponent
from fastmcp.utilities.versions import VersionSpec
from mcp_types import ToolAnnotations

from mcp_box_server.box import ToolSpec
from mcp_box_server.runtime import BoxRuntimeError, InputNeeded
from mcp_box_server.server import results
from mcp_box_server.server.catalog import Catalog
from mcp_box_server.server.conversation import ClientConversation
from mcp_box_server.server.ownership import STATUS_URI, readme_uri
from mcp_box_server.server.prompts import BoxPrompt
from mcp_box_server.server.registry import BoxRegistry
from mcp_box_server.server.resources import BoxResource, BoxTemplate


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
            output_schema=spec.output,
            tags={f"box:{spec.box}"},
            meta={"mcp-box": {"box": spec.box, "function": spec.function, "timeout": spec.timeout}},
            registry=registry,
        )

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        conversation = ClientConversation(get_context(), self.name, arguments, self.registry)
        try:
            try:
                value = await self.registry.call(self.name, arguments, conversation)
            except InputNeeded as needed:
                if not conversation.adopt(needed):  # answered before asked: the round runs again
                    raise
                value = await self.registry.call(self.name, arguments, conversation)
            return results.success(value, schema=self.output_schema is not None)
        except InputNeeded as needed:  # 2026-07-28: the questions end this round
            required = conversation.input_required(needed)
            if required is None:
                return results.failure("the tool asked the client a malformed question")
            return InputRequiredToolResult(required)
        except BoxRuntimeError as error:
            return results.failure(error)


class BoxProvider(Provider):
    """The registry's tools; each box's prompts, resources and templates; READMEs and a status."""

    def __init__(self, registry: BoxRegistry, catalog: Catalog | None = None) -> None:
        super().__init__()
        self.registry = registry
        self.catalog = catalog or Catalog(registry)
        self._cache_generation = -1
        self._cache: dict[str, BoxTool] = {}

    async def get_tasks(self) -> Sequence[FastMCPComponent]:
        """None: a box tool runs in its worker, never as a background task.

        FastMCP asks this once at start-up, before its transport answers anything; the
        default lists every component, which would make the server wait for every box.
        """
        return []

    async def _list_tools(self) -> Sequence[Tool]:
        await self.registry.settled()  # boxes loading past the start-up grace come by list_changed
        return list(self._tools().values())

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        return self._tools().get(name) if await self.registry.knows(name) else None

    async def _list_resources(self) -> Sequence[Resource]:
        resources: list[Resource] = [
            TextResource(
                uri=STATUS_URI,
                name="box-status",
                description="Every box: version, tools, load errors (JSON).",
                mime_type="application/json",
                text=json.dumps(self.catalog.status(), indent=2),
            )
        ]
        for state in self.registry.states:
            readme = state.pool.readme if state.pool is not None else None
            if state.serving and readme is not None:
                resources.append(
                    TextResource(
                        uri=readme_uri(state.name),
                        name=f"{state.name}-readme",
                        description=f"README of the '{state.name}' box.",
                        mime_type="text/markdown",
                        text=readme,  # read from the snapshot, never through a link
                    )
                )
        for content in await self.catalog.contents():
            resources += [BoxResource.build(uri, content) for uri in content.resources]
        return resources

    async def _list_resource_templates(self) -> Sequence[ResourceTemplate]:
        contents = await self.catalog.contents()
        return [BoxTemplate.build(t, c, self.registry) for c in contents for t in c.templates]

    async def _list_prompts(self) -> Sequence[Prompt]:
        contents = await self.catalog.contents()
        return [
            BoxPrompt.build(name, spec, c, self.registry)
            for c in contents
            for name, spec in c.prompts.items()
        ]

    def _tools(self) -> dict[str, BoxTool]:
        if self._cache_generation != self.registry.generation:
            specs = self.registry.tools
            self._cache = {name: BoxTool.from_spec(spec, self.registry) for name, spec in specs.items()}
            self._cache_generation = self.registry.generation
        return self._cache
