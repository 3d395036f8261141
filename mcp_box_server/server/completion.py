"""`completion/complete` for box prompt arguments and template variables.

Candidates are the values a box declares (`values`/`enum` of a prompt argument in its
front matter, `values` of a template in `box.toml`) that start with what the user has
typed, case aside; an argument with none declared completes to nothing.
"""

from __future__ import annotations

from mcp_types import CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

from mcp_box_server.server.catalog import Catalog


class Completer:
    """The server's completion handler (FastMCP's `add_completion_handler`)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def __call__(
        self,
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> list[str]:
        return matching(await self._declared(ref, argument.name), argument.value)

    async def _declared(self, ref: PromptReference | ResourceTemplateReference, name: str) -> tuple[str, ...]:
        for content in await self.catalog.contents():
            if isinstance(ref, PromptReference) and (prompt := content.prompts.get(ref.name)):
                return next((a.values for a in prompt.arguments if a.name == name), ())
            if isinstance(ref, ResourceTemplateReference):
                for template in content.templates:
                    if template.uri_template == ref.uri:
                        return template.entry.values.get(name, ())
        return ()


def matching(values: tuple[str, ...], typed: str) -> list[str]:
    """The values that start with `typed` (case-insensitive), in declared order."""
    prefix = typed.casefold()
    return [value for value in values if value.casefold().startswith(prefix)]
