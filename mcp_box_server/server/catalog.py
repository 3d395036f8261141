"""What each serving box offers beside tools: prompts, resource files, URI templates.

Read from the pool's private snapshot (the files its workers run, never the user's
folder, which may change or hold links) once per version of a box, off the event
loop. `refresh()` runs after every swap in the registry and says what changed, so the
notifier can send `prompts/list_changed`, `resources/list_changed` and
`resources/updated` only when something did.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastmcp.resources.template import match_uri_template

from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.files import read_file
from mcp_box_server.box.manifest import MANIFEST, Manifest, TemplateEntry
from mcp_box_server.box.prompts import PromptSpec, read_prompts
from mcp_box_server.box.resources import ResourceFile, read_resources
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name
from mcp_box_server.runtime import BoxPool
from mcp_box_server.server.ownership import Declared, refusals
from mcp_box_server.server.registry import BoxRegistry

log = logging.getLogger("mcp_box.server")


@dataclass(frozen=True, slots=True)
class Template:
    """A `[templates]` entry of a box, bound to the exposed name of the tool that renders it."""

    uri_template: str
    entry: TemplateEntry
    tool: ToolSpec


@dataclass(slots=True)
class BoxContent:
    """One version of one box: its prompts (by exposed name), resource files and templates."""

    box: str
    pool: BoxPool
    root: Path  # the snapshot
    prompts: dict[str, PromptSpec] = field(default_factory=dict)
    resources: dict[str, ResourceFile] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # resource URI -> sha256 of its bytes

    @property
    def limit(self) -> int:
        """The most bytes one read serves: the box's result cap."""
        return self.pool.result_cap  # the box's max_result_mb, at most the server's ceiling


@dataclass(frozen=True, slots=True)
class Changes:
    prompts: bool = False
    resources: bool = False
    updated: frozenset[str] = frozenset()  # resource URIs whose bytes changed
    templates: frozenset[str] = frozenset()  # templates of reloaded boxes: their reads may differ now

    def touches(self, uri: str) -> bool:
        """Whether a client subscribed to `uri` should read it again."""
        return uri in self.updated or any(match_uri_template(uri, t) is not None for t in self.templates)


class Catalog:
    """Prompts, resources and templates of every serving box, cached per pool."""

    def __init__(self, registry: BoxRegistry) -> None:
        self.registry = registry
        self._cache: dict[int, BoxContent] = {}
        self._last: list[BoxContent] = []
        self._refused: dict[str, list[str]] = {}  # by box: URIs it may not serve, and why

    async def contents(self, *, wait: bool = True) -> list[BoxContent]:
        """One `BoxContent` per serving box, by box name (each read once per version).

        `wait`: for the boxes found at start (within the start-up grace), and for a
        snapshot still being taken; without it such boxes are left out (the registry's
        listeners cannot wait).
        """
        if wait:
            await self.registry.settled()
        current: list[BoxContent] = []
        for state in self.registry.states:
            pool = state.pool
            if pool is None or not state.serving:
                continue
            content = self._cache.get(id(pool))
            if content is None or content.pool is not pool:
                content = await self._read(state.name, pool, wait)
                if content is None:
                    continue
                self._cache[id(pool)] = content
            current.append(content)
        live = {id(content.pool) for content in current}
        self._cache = {key: content for key, content in self._cache.items() if key in live}
        return self._owned(current)

    async def refresh(self) -> Changes:
        """Re-read after a swap; what changed since the last refresh."""
        before, after = self._last, await self.contents(wait=False)
        self._last = after
        old_resources = {uri for c in before for uri in c.resources} | _templates(before)
        new_resources = {uri for c in after for uri in c.resources} | _templates(after)
        old_digests = {uri: d for c in before for uri, d in c.digests.items()}
        updated = {uri for c in after for uri, d in c.digests.items() if old_digests.get(uri, d) != d}
        reloaded = {c.box for c in after} - {c.box for c in before if any(c.pool is a.pool for a in after)}
        return Changes(
            prompts=_prompt_signature(before) != _prompt_signature(after),
            resources=old_resources != new_resources,
            updated=frozenset(updated),
            templates=frozenset(t.uri_template for c in after if c.box in reloaded for t in c.templates),
        )

    def failures(self) -> dict[str, list[str]]:
        """Prompt and resource files and URIs that could not be served, by box (for the status)."""
        found = {c.box: [str(f) for f in c.failures] for c in self._cache.values() if c.failures}
        for box, reasons in self._refused.items():
            found[box] = [*found.get(box, []), *reasons]
        return found

    def status(self) -> list[dict[str, Any]]:
        """The registry's status, with the files and URIs each box could not serve."""
        failures = self.failures()
        return [{**box, "content_errors": failures.get(box["box"], [])} for box in self.registry.status()]

    def _owned(self, contents: list[BoxContent]) -> list[BoxContent]:
        """Each URI served by one box at most (server/ownership.py); the refusals kept for the status."""
        refused = refusals(
            Declared(
                c.box,
                c.pool.manifest.trust == "trusted",
                tuple(c.resources),
                tuple(t.uri_template for t in c.templates),
                readme=c.pool.readme is not None,
            )
            for c in contents
        )
        self._refused = {
            c.box: [str(LoadFailure(str(c.pool.source), None, why)) for why in refused[c.box].values()]
            for c in contents
            if c.box in refused
        }
        return [_without(c, refused[c.box]) if c.box in refused else c for c in contents]

    async def _read(self, box: str, pool: BoxPool, wait: bool) -> BoxContent | None:
        if not wait and not pool.snapshot_taken:  # listed from the spec cache: being copied
            return None
        try:
            root = await asyncio.wait_for(pool.snapshot(), pool.manifest.load_timeout)
        except TimeoutError:
            return None
        if root is None:
            return None
        try:
            return await asyncio.to_thread(_read_box, box, pool, root)
        except Exception:  # one box's odd files never break listing the others
            log.exception("box %s: cannot read prompts and resources", box)
            return None


def _read_box(box: str, pool: BoxPool, root: Path) -> BoxContent:
    """Blocking: parse prompts, list resources, bind templates, hash resource files."""
    content = BoxContent(box, pool, root)
    manifest: Manifest = pool.manifest
    prompts, failures = read_prompts(root)
    for prompt in prompts:
        name = exposed_name(box, prompt.name)
        if TOOL_NAME.fullmatch(name):
            content.prompts[name] = prompt
        else:
            failures.append(LoadFailure(prompt.file, None, f"prompt name '{name}' is longer than 64"))
    resources, refused = read_resources(root, manifest)
    failures += refused
    limit = content.limit
    for resource in resources:
        try:
            data = read_file(root, resource.file, limit)
        except Exception as exc:
            failures.append(LoadFailure(str(root / resource.file), None, str(exc)))
            continue
        content.resources[resource.uri] = resource
        content.digests[resource.uri] = hashlib.sha256(data).hexdigest()
    tools = {spec.function: spec for spec in pool.specs}
    for uri_template, entry in manifest.templates.items():
        if entry.function not in tools:
            message = f"[templates] {uri_template!r}: '{entry.function}' is not a tool of this box"
            failures.append(LoadFailure(str(manifest.path / MANIFEST), None, message))
            continue
        content.templates.append(Template(uri_template, entry, tools[entry.function]))
    content.failures = [_unsnapshot(f, root, manifest.path) for f in failures]
    return content


def _unsnapshot(failure: LoadFailure, root: Path, source: Path) -> LoadFailure:
    """Name files at the user's path, not inside the private snapshot."""
    return LoadFailure(
        failure.file.replace(str(root), str(source), 1),
        failure.line,
        failure.message.replace(str(root), str(source)),
    )


def _without(content: BoxContent, refused: dict[str, str]) -> BoxContent:
    """`content` less the URIs and templates it may not serve."""
    return replace(
        content,
        resources={uri: r for uri, r in content.resources.items() if uri not in refused},
        templates=[t for t in content.templates if t.uri_template not in refused],
    )


def _templates(contents: list[BoxContent]) -> set[str]:
    return {t.uri_template for c in contents for t in c.templates}


def _prompt_signature(contents: list[BoxContent]) -> list[Any]:
    """Whole prompts, body included: no notification says "this prompt changed", so a list change does."""
    return sorted(
        (name, repr((p.description, p.arguments, p.body, p.attach)))
        for c in contents
        for name, p in c.prompts.items()
    )
