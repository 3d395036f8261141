"""The boxes a server serves, each at its live version, swapped atomically on reload.

The registry is where the server meets the runtime: it turns box directories
into `BoxPool`s, routes calls by tool name, and on a change loads the new
version beside the old one. The swap happens only once the new version has
loaded at least as cleanly as the old; the old pool then drains its in-flight
calls and closes. A broken edit leaves the last good version serving and its
errors on record for `mcp-box ls`, the `box_status` tool and the status resource.

Each box loads in its own task, bounded by its load timeout: a box that hangs at
import delays nobody else's start or reload, and a newer edit of a box supersedes
a load of it still in progress. Two boxes of one name: the first found serves.
The server answers from its first moment; the first lists wait a little
(`STARTUP_GRACE`) for boxes still loading, and a box that loads later is listed
then, with a list_changed to every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_box_server.box import LoadFailure, Manifest, ManifestError, ToolSpec, find_boxes, read_manifest
from mcp_box_server.runtime import BoxPool, Conversation, UnknownTool, result_budget
from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.runtime.pool import MAX_RESULT_MB, MAX_TIMEOUT
from mcp_box_server.runtime.process import Zygote
from mcp_box_server.runtime.result_budget import ResultBudget
from mcp_box_server.server.spec_cache import Entry, SpecCache, fingerprint
from mcp_box_server.server.suggest import NameIndex

log = logging.getLogger("mcp_box.server")

Listener = Callable[[], Awaitable[None]]

# How long after the loads began the first lists wait for boxes still loading. A client
# that lists once (Claude Desktop) still sees boxes that load in a second or two; one that
# hangs is listed when it loads or fails, and clients hear of it through list_changed.
STARTUP_GRACE = 3.0


@dataclass(slots=True)
class BoxState:
    """One box directory: the version serving now and what went wrong last."""

    source: Path
    name: str
    pool: BoxPool | None = None
    errors: list[LoadFailure] = field(default_factory=list)
    loaded_at: float = 0.0
    reloads: int = 0
    shadowed_by: Path | None = None  # another box of the same name, found first, serves instead

    @property
    def serving(self) -> bool:
        return self.pool is not None and bool(self.pool.specs)

    def status(self) -> dict[str, Any]:
        pool = self.pool
        return {
            "box": self.name,
            "path": str(self.source),
            "version": pool.manifest.version if pool else None,
            "trust": pool.manifest.trust if pool else None,
            "serving": self.serving,
            "tools": [spec.name for spec in pool.specs] if pool else [],
            "errors": [str(error) for error in self.errors],
            "loaded_at": self.loaded_at,
            "reloads": self.reloads,
            "workers_started": pool.workers_started if pool else 0,
        }


class BoxRegistry:
    """All boxes found under `roots`; the server's single source of tools."""

    def __init__(
        self,
        roots: list[Path],
        only: set[str] | None = None,
        cache: SpecCache | None = None,
        *,
        max_timeout: float = MAX_TIMEOUT,
        budget: WorkerBudget | None = None,
        max_result_mb: int = MAX_RESULT_MB,
        results: ResultBudget | None = None,
    ) -> None:
        self.roots = [root.resolve() for root in roots]
        self.budget = budget or WorkerBudget()  # every box's workers, together
        self.only = only
        self.cache = cache  # the server lists unchanged boxes from it at start
        self.max_timeout = max_timeout
        self.max_result_mb = max_result_mb  # no box's results are larger, whatever it asks
        self.results = results  # result bytes in flight, every box together (None: unbounded)
        self._states: dict[Path, BoxState] = {}
        self._tools: dict[str, tuple[ToolSpec, BoxState]] = {}
        self._specs: dict[str, ToolSpec] = {}
        self._names = NameIndex(())  # for "did you mean", rebuilt with the index
        self._zygotes: dict[bool, Zygote] = {}  # one per trust level, shared by its boxes
        self._listeners: list[Listener] = []
        self._swap_listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._old_pools: set[BoxPool] = set()  # replaced versions still draining their calls
        self._loads: dict[Path, asyncio.Task[None]] = {}  # the latest load of each box
        self._starting: dict[Path, BoxPool] = {}  # its pool, while that starts
        self._initial: asyncio.Future[None] | None = None
        self._began = 0.0  # loop time of begin()
        self.generation = 0  # bumped on every change of the tool index

    def prestart(self) -> None:
        """Launch the zygotes now, before an event loop: their imports overlap ours.

        One zygote per trust level imports what all its boxes require: on two cores,
        one more process importing beside the server beats one per box.
        """
        requires: dict[bool, set[str]] = {}
        for box_dir in find_boxes(self.roots):
            try:
                manifest = read_manifest(box_dir)
            except ManifestError:
                continue
            if self.only is None or manifest.name in self.only:
                requires.setdefault(manifest.trust == "sandboxed", set()).update(manifest.requires)
        for sandboxed, modules in requires.items():
            label = "sandboxed boxes" if sandboxed else "trusted boxes"
            self._zygotes[sandboxed] = Zygote(sorted(modules), sandboxed, label)

    def on_change(self, listener: Listener) -> None:
        """Call `listener` after every change of the tool list."""
        self._listeners.append(listener)

    def on_swap(self, listener: Listener) -> None:
        """Call `listener` after every rebuild of the index (a box loaded, reloaded or removed),
        whether or not the tool list changed: a box's prompts and resources may have."""
        self._swap_listeners.append(listener)

    @property
    def states(self) -> list[BoxState]:
        return sorted(self._states.values(), key=lambda state: state.name)

    @property
    def tools(self) -> dict[str, ToolSpec]:
        """Every tool served now, by exposed name (rebuilt on change, not on each call)."""
        return self._specs

    def closest(self, name: str, k: int = 3) -> list[str]:
        """The tool names most like `name`, for "did you mean" answers (a prebuilt index)."""
        return self._names.closest(name, k)

    def status(self) -> list[dict[str, Any]]:
        return [state.status() for state in self.states]

    def begin(self) -> None:
        """Start loading every box in the background; the server answers meanwhile."""
        if self._initial is None:

            async def load_all() -> None:
                loads = await self.rescan()
                while loads:  # an edit during start-up supersedes a first load: wait for its successor
                    await asyncio.gather(*loads, return_exceptions=True)
                    loads = self._first_loads()

            self._initial = asyncio.ensure_future(load_all())
            self._began = asyncio.get_running_loop().time()

    @property
    def starting(self) -> bool:
        """True until every box found at start has loaded or failed (each within its load timeout)."""
        return self._initial is None or not self._initial.done()

    async def started(self) -> None:
        """Wait for the first load of every box (not for later reloads)."""
        self.begin()
        assert self._initial is not None
        await asyncio.shield(self._initial)

    async def settled(self) -> None:
        """Wait for the first load of every box, but no longer than `STARTUP_GRACE` after it began.

        What lists tools, prompts and resources waits here: a box still loading past the
        grace is left out until it loads, and never holds up the others.
        """
        self.begin()
        assert self._initial is not None
        left = self._began + STARTUP_GRACE - asyncio.get_running_loop().time()
        if left > 0 and not self._initial.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._initial), left)

    async def start(self) -> None:
        """Load every box found under the roots, in parallel, and wait for all of them."""
        await self.started()

    async def knows(self, name: str) -> bool:
        """Whether a tool of this name is served; one not (yet) known waits for the boxes still
        loading at start, since its box may be one of them."""
        if name not in self._tools and self.starting:
            await self.started()
        return name in self._tools

    async def call(
        self, name: str, arguments: dict[str, Any], conversation: Conversation | None = None
    ) -> Any:
        """Route a call by exposed name to the pool serving now (kept through the call)."""
        entry = self._tools.get(name) if await self.knows(name) else None
        if entry is None:
            raise UnknownTool(f"unknown tool '{name}'")
        spec, state = entry
        pool = state.pool
        if pool is None:
            raise UnknownTool(f"unknown tool '{name}'")
        with result_budget.holding(self.results):  # or the HTTP request's lease, until its response is out
            return await pool.call(spec.function, arguments, conversation=conversation)

    async def rescan(self, changed: set[Path] | None = None) -> list[asyncio.Task[None]]:
        """Bring the registry in line with the disk: new, changed and removed boxes.

        `changed` lists paths reported by the watcher; None reloads everything. Returns
        at once with the loads it started, one task per box (await them to wait).
        """
        async with self._lock:
            found = find_boxes(self.roots)
            before = self._tool_signature()
            for path in [path for path in self._states if path not in found]:
                self._cancel_load(path)
                self._retire(self._states.pop(path).pool)
            owners: dict[str, Path] = {}
            loads = []
            for path in found:
                manifest = self._read_manifest(path)
                if manifest is None or (self.only is not None and manifest.name not in self.only):
                    continue
                owner = owners.setdefault(manifest.name, path)
                state = self._states.get(path)
                if owner != path:
                    self._shadow(path, manifest.name, owner)
                elif state is None or state.shadowed_by or changed is None or _inside(path, changed):
                    loads.append(self._schedule(path, manifest))
            await self._publish(before)
        return loads

    async def close(self) -> None:
        """Stop every load, every pool (old versions too), every zygote; snapshots go with their pools."""
        loading = [*self._loads.values(), *([self._initial] if self._initial else [])]
        for task in loading:
            task.cancel()
        await asyncio.gather(*loading, return_exceptions=True)
        async with self._lock:
            pools = [state.pool for state in self._states.values() if state.pool]
            pools += [*self._old_pools, *self._starting.values()]
            self._states.clear()
            self._old_pools.clear()
            self._tools, self._specs = {}, {}
            await asyncio.gather(*(pool.close(keep_zygote=True) for pool in pools), return_exceptions=True)
            # the rest of the background work (closing superseded pools, draining retired ones,
            # now closed) finishes promptly; past a few seconds it is cut short
            _, late = await asyncio.wait(self._retiring, timeout=5) if self._retiring else ((), ())
            for task in late:
                task.cancel()
            await asyncio.gather(*(z.close() for z in self._zygotes.values()), return_exceptions=True)

    def _read_manifest(self, path: Path) -> Manifest | None:
        """The box's manifest; a bad one is recorded on the box (which keeps its last good version)."""
        try:
            return read_manifest(path)
        except ManifestError as exc:
            failure = LoadFailure(exc.path, exc.line, exc.message)
            state = self._states.get(path)
            if state is None:
                self._states[path] = BoxState(path, path.name, errors=[failure])
            else:
                state.errors = [failure]
            log.warning("box %s: %s", path, failure)
            return None

    def _shadow(self, path: Path, name: str, owner: Path) -> None:
        """A second box of an already served name: a load error that names both folders."""
        self._cancel_load(path)
        state = self._states.get(path)
        if state is not None:
            self._retire(state.pool)
        message = f"box name '{name}' is already served from {owner}; this box ({path}) is not loaded"
        failure = LoadFailure(str(path / "box.toml"), None, message)
        self._states[path] = BoxState(path, f"{name}@{path}", errors=[failure], shadowed_by=owner)
        log.warning("box %s: %s", path, message)

    def _schedule(self, path: Path, manifest: Manifest) -> asyncio.Task[None]:
        """Load `path` in a task of its own; it supersedes a load of the same box still starting."""
        previous = self._loads.get(path)
        self._cancel_load(path)
        task = asyncio.ensure_future(self._load(path, manifest, previous))
        self._loads[path] = task
        task.add_done_callback(lambda done: self._loads.pop(path) if self._loads.get(path) is done else None)
        return task

    def _first_loads(self) -> list[asyncio.Task[None]]:
        """The loads running for boxes that have never served yet."""
        return [
            task
            for path, task in self._loads.items()
            if not task.done() and (path not in self._states or self._states[path].pool is None)
        ]

    def _cancel_load(self, path: Path) -> None:
        """Stop a load of `path`: one still starting its pool stops there, any other swaps nothing in."""
        self._loads.pop(path, None)
        if (pool := self._starting.get(path)) is not None:
            pool.abort()

    async def _load(self, path: Path, manifest: Manifest, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # let a superseded load close its pool first
            await asyncio.gather(previous, return_exceptions=True)
            if self._loads.get(path) is not asyncio.current_task():
                return  # superseded while it waited: a storm of edits loads once, not once per edit
        try:
            await self._load_pool(path, manifest)
        except Exception as exc:  # a bug met by one box stays that box's error
            log.exception("box %s: load failed", manifest.name)
            state = self._states.setdefault(path, BoxState(path, manifest.name))
            state.errors = [LoadFailure(str(path), None, f"load failed: {type(exc).__name__}: {exc}")]

    async def _load_pool(self, path: Path, manifest: Manifest) -> None:
        state = self._states.get(path)
        sandboxed = manifest.trust == "sandboxed"
        zygote = self._zygotes.get(sandboxed)
        pool = BoxPool(
            self._within_ceilings(manifest),
            zygote=zygote,
            previous=state.pool if state else None,
            max_timeout=self.max_timeout,
            budget=self.budget,
        )
        if pool.zygote is not zygote:  # none yet, or it died: the pool's own becomes the shared one
            if zygote is not None:
                self._later(zygote.close())
            self._zygotes[sandboxed] = pool.zygote
        # Only a box's first load (at start) uses the cache: a reload's files are new anyway.
        key = fingerprint(manifest) if state is None and self.cache else None
        if key and self.cache and (cached := self.cache.load(key)):
            async with self._lock:
                before = self._tool_signature()
                self._serve_from_cache(path, manifest, pool, key, cached)
                await self._publish(before)
            return
        started = time.perf_counter()
        self._starting[path] = pool
        try:
            await pool.start()
        finally:
            if self._starting.get(path) is pool:
                del self._starting[path]
        async with self._lock:
            before = self._tool_signature()
            self._swap(path, manifest, pool, key, started)
            await self._publish(before)

    def _within_ceilings(self, manifest: Manifest) -> Manifest:
        """The box's limits cut to the server's: a box.toml is its author's word, not the server's."""
        ceilings = {"max_result_mb": self.max_result_mb, "workers": self.budget.limit}
        cut = {key: limit for key, limit in ceilings.items() if getattr(manifest, key) > limit}
        for key, limit in cut.items():
            log.info(
                "box %s: %s = %s cut to the server's %s", manifest.name, key, getattr(manifest, key), limit
            )
        return dataclasses.replace(manifest, **cut) if cut else manifest

    def _swap(self, path: Path, manifest: Manifest, pool: BoxPool, key: str | None, started: float) -> None:
        """Serve the freshly loaded `pool`, unless it loads worse than the version serving now."""
        if self._loads.get(path) is not asyncio.current_task():  # superseded, removed or shadowed
            log.info("box %s: a load superseded by a newer change was dropped", manifest.name)
            self._later(pool.close(keep_zygote=True))
            return
        if key and self.cache:
            self.cache.store(key, pool.specs, pool.failures)
        state = self._states.get(path)
        if state is None or state.shadowed_by:
            state = self._states[path] = BoxState(path, manifest.name)
        if not self._better_or_equal(pool, state.pool):
            state.errors = pool.failures
            log.warning(
                "box %s: new version failed to load, still serving the last good one: %s",
                manifest.name,
                "; ".join(map(str, pool.failures)),
            )
            self._later(pool.close(keep_zygote=True))
            return
        old, state.pool = state.pool, pool
        state.name = manifest.name
        state.errors = pool.failures
        state.loaded_at = time.time()
        state.reloads += old is not None
        for failure in pool.failures:
            log.warning("box %s: %s", manifest.name, failure)
        log.info(
            "box %s: %d tools from %s in %.0f ms",
            manifest.name,
            len(pool.specs),
            path,
            (time.perf_counter() - started) * 1000,
        )
        self._retire(old)

    def _serve_from_cache(
        self, path: Path, manifest: Manifest, pool: BoxPool, key: str, cached: Entry
    ) -> None:
        """List the cached tools now; the first worker loads in the background and has the last word."""
        specs, failures = cached
        pool.preset(specs, failures)
        self._states[path] = BoxState(path, manifest.name, pool, list(failures), time.time())

        async def confirm() -> None:
            await pool.start()
            state = self._states.get(path)
            if state is None or state.pool is not pool or (pool.specs, pool.failures) == cached:
                return
            log.warning("box %s: cached tool list was stale; using the loaded one", manifest.name)
            state.errors = pool.failures
            if self.cache:
                self.cache.store(key, pool.specs, pool.failures)
            async with self._lock:
                await self._publish(self._tool_signature())

        self._later(confirm())

    @staticmethod
    def _better_or_equal(new: BoxPool, old: BoxPool | None) -> bool:
        """Swap only if the new version fails in no file the old one loaded fine."""
        if old is None:
            return True
        if not new.specs and old.specs:
            return False
        old_failed = {failure.file for failure in old.failures}
        return all(failure.file in old_failed for failure in new.failures)

    def _retire(self, pool: BoxPool | None) -> None:
        """Let an old version finish its in-flight calls, then close it."""
        if pool is None:
            return
        self._old_pools.add(pool)

        async def retire() -> None:
            longest = max((pool.timeout_for(spec.timeout) for spec in pool.specs), default=30.0)
            await pool.drain(longest + 1)
            await pool.close(keep_zygote=True)
            self._old_pools.discard(pool)
            self._close_unused_zygotes()

        self._later(retire())

    def _close_unused_zygotes(self) -> None:
        """A zygote no box uses any more exits (closing its control socket tells it to).

        A box of its trust that comes later starts a new one.
        """
        pools = [state.pool for state in self._states.values() if state.pool]
        pools += [*self._old_pools, *self._starting.values()]
        for sandboxed, zygote in list(self._zygotes.items()):
            if not any(pool.zygote is zygote for pool in pools):
                del self._zygotes[sandboxed]
                self._later(zygote.close())

    def _later(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _publish(self, before: list[tuple[str, str, str]]) -> None:
        """Rebuild the tool index from the pools serving now; tell listeners if the list changed."""
        index: dict[str, tuple[ToolSpec, BoxState]] = {}
        for state in self.states:
            if state.pool is not None:
                for spec in state.pool.specs:
                    index[spec.name] = (spec, state)
        self._tools = index  # one assignment: calls see the old index or the new one
        self._specs = {name: spec for name, (spec, _) in index.items()}
        self._names = NameIndex(self._specs)
        self.generation += 1
        if self._tool_signature() != before:
            for listener in self._listeners:
                await listener()
        for listener in self._swap_listeners:
            await listener()

    def _tool_signature(self) -> list[tuple[str, str, str]]:
        return sorted((n, s.description, repr(s.parameters)) for n, (s, _) in self._tools.items())


def _inside(box_dir: Path, changed: set[Path]) -> bool:
    return any(path == box_dir or box_dir in path.parents for path in changed)
