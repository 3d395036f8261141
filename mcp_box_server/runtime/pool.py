"""A pool of workers for one version of one box.

The pool owns a private snapshot of the box directory, so every worker it ever
starts runs the same code even while the user edits the files: a new version is
a new pool, and the old one drains its in-flight calls before it closes.
Each worker runs one call at a time; the pool grows up to `manifest.workers`
on demand and replaces killed workers. Workers are forked from a zygote, which
other boxes of the same trust and the next version of this one may share
(`zygote=`): a reload costs a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.manifest import Manifest
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name
from mcp_box_server.runtime import confine, snapshot
from mcp_box_server.runtime.conversation import Conversation
from mcp_box_server.runtime.errors import BoxUnavailable, ToolTimeout, UnknownTool, WorkerCrashed
from mcp_box_server.runtime.process import MB, Ready, Worker, Zygote, worker_env
from mcp_box_server.runtime.protocol import WorkerConfig

log = logging.getLogger("mcp_box.runtime")

MAX_TIMEOUT = 300.0  # no call runs longer, whatever its box asks (serve --max-timeout)
_pool_ids = itertools.count(1)
_background: set[asyncio.Task[None]] = set()


def zygote_for(manifest: Manifest) -> Zygote:
    """A zygote preloaded with what this box declares it needs."""
    return Zygote(list(manifest.requires), manifest.trust == "sandboxed", manifest.name)


def zygote_fits(zygote: Zygote, manifest: Manifest) -> bool:
    """Any live zygote of the same trust can fork this box's workers (it imports what is missing)."""
    return zygote.alive and zygote.sandboxed == (manifest.trust == "sandboxed")


class BoxPool:
    """Workers for one snapshot of one box: construct, `await start()`, `call()`, `close()`."""

    def __init__(
        self,
        manifest: Manifest,
        zygote: Zygote | None = None,
        previous: BoxPool | None = None,
        *,
        max_timeout: float = MAX_TIMEOUT,
    ) -> None:
        self.manifest = manifest
        self.source = manifest.path
        self.max_timeout = max_timeout
        self.readme: str | None = None  # read from the snapshot, never through a link
        self.specs: list[ToolSpec] = []
        self.failures: list[LoadFailure] = []
        self.confinement: dict[str, Any] = {}  # the kernel layers the first worker reported
        # what the previous version learnt of each module: unchanged ones are not described again
        self.modules: dict[str, Any] = dict(previous.modules) if previous is not None else {}
        if zygote is not None and zygote_fits(zygote, manifest):
            zygote.preload(manifest.requires)
            self.zygote = zygote
        else:
            self.zygote = zygote_for(manifest)
        self._shared_zygote = self.zygote  # may be kept for the next version; replacements are ours
        self._root = snapshot.make_root(manifest.name)
        self._snapshot = self._root / "box"  # copied by start(), off the event loop
        self._label = f"{manifest.name}#{next(_pool_ids)}"
        self._worker_ids = itertools.count(1)
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._starting = 0
        self._reserved = 0  # workers being grown whose spawn has not begun yet
        self._changed = asyncio.Condition()  # binds to the running loop on first use
        self._started = asyncio.Event()
        self._in_flight = 0
        self._closed = False

    def preset(self, specs: list[ToolSpec], failures: list[LoadFailure]) -> None:
        """Describe the box from a cache before `start()`: calls wait until it has run."""
        self.specs, self.failures = specs, failures

    async def start(self) -> None:
        """Snapshot the box, fork the first worker and wait for it to load the box and report its tools."""
        try:
            self.readme = await asyncio.to_thread(
                snapshot.take, self.source, self._snapshot, self.manifest.max_box_mb
            )
        except snapshot.SnapshotError as exc:
            self.specs, self.failures = [], [LoadFailure(exc.path, None, exc.message)]
            self._started.set()
            return
        try:
            worker, ready = await self._spawn()
        except (WorkerCrashed, BoxUnavailable) as exc:
            self.specs, self.failures = [], [LoadFailure(str(self.source), None, str(exc))]
            self._started.set()
            return
        self.zygote.preload(ready.imported)  # the next fork (a reload, a replacement) skips them
        self.modules = ready.modules
        self.confinement = ready.confinement
        if self.manifest.trust == "trusted" and "pid namespace" in ready.confinement.get("missing", {}):
            log.warning(
                "%s: no PID namespace (%s); a process a tool starts in a new session may outlive its worker",
                self._label,
                ready.confinement["missing"]["pid namespace"],
            )
        self.specs, refused = self._served_specs(ready.specs)
        self.failures = [self._unsnapshot_failure(f) for f in ready.failures] + refused
        if worker.alive:
            self._idle.append(worker)
        self._started.set()

    async def call(
        self,
        function: str,
        arguments: dict[str, Any],
        timeout: float | None = None,
        conversation: Conversation | None = None,
    ) -> Any:
        """Run `function` in an idle worker, raising a `BoxRuntimeError` on any failure.

        The timeout covers the wait for a free worker as well as the run, so a call ends
        within it however many others queue; it is capped at `max_timeout`.
        """
        spec = next((s for s in self.specs if s.function == function), None)
        if spec is None:
            raise UnknownTool(f"box '{self.manifest.name}' has no tool '{function}'")
        timeout = self.timeout_for(timeout or spec.timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        self._in_flight += 1
        try:
            worker = await self._acquire(deadline)
            if worker is None:
                raise ToolTimeout(
                    f"tool '{function}' timed out after {timeout:g} s waiting for a free worker "
                    f"(all {self.manifest.workers} busy); it did not run"
                )
            waited = loop.time() - started
            try:
                limit = self.manifest.max_result_mb * MB
                return await worker.call(function, arguments, deadline - loop.time(), limit, conversation)
            except ToolTimeout:
                queued = f", {waited:.1f} s of it waiting for a free worker" if waited >= 0.1 else ""
                raise ToolTimeout(
                    f"tool '{function}' timed out after {timeout:g} s running{queued}; "
                    "its worker was stopped and replaced"
                ) from None
            finally:
                await self._release(worker)
        finally:
            self._in_flight -= 1
            await self._notify()

    def timeout_for(self, requested: float) -> float:
        """A call's timeout: what its tool asks, at most `max_timeout` (which also replaces nonsense)."""
        return requested if 0 < requested <= self.max_timeout else self.max_timeout

    def abort(self) -> None:
        """End a `start()` in progress at once (a newer version supersedes it): it reports a failure.

        Its workers are killed, not its tasks cancelled: a fork is never cut in the middle.
        `close()` still follows.
        """
        self._closed = True
        for worker in self._workers:
            worker.kill()

    async def drain(self, timeout: float) -> None:
        """Wait until no call is in flight (or `timeout` passes)."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self._in_flight == 0), timeout)

    async def close(self, *, keep_zygote: bool = False) -> None:
        """Stop every worker and remove the snapshot; waiting calls fail with BoxUnavailable."""
        self._closed = True
        workers, self._workers, self._idle = list(self._workers), set(), []
        for worker in workers:  # now, before any await: a close cut short still kills them all
            worker.kill()
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        if not keep_zygote or self.zygote is not self._shared_zygote:
            await self.zygote.close()
        await self._notify()
        await asyncio.to_thread(snapshot.remove, self._root)

    async def _spawn(self) -> tuple[Worker, Ready]:
        number = next(self._worker_ids)
        workdir = self._root / f"work-{number}"
        workdir.mkdir()
        sandboxed = self.manifest.trust == "sandboxed"
        config = WorkerConfig(
            box_dir=str(self._snapshot),
            workdir=str(workdir),
            memory_mb=self.manifest.memory_mb,
            sandboxed=sandboxed,
            env=worker_env(True, workdir) if sandboxed else {},
            allow_imports=list(self.manifest.allow_imports),
            known_modules=self.modules,
            max_result_bytes=self.manifest.max_result_mb * MB,
            unsafe_weak_sandbox=sandboxed and confine.unsafe_allowed(),
        )
        if self._closed:
            raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
        if not self.zygote.alive:
            if self.zygote is not self._shared_zygote:
                await self.zygote.close()
            log.warning("zygote of %s died; starting a new one", self._label)
            self.zygote = zygote_for(self.manifest)
        self._starting += 1
        try:
            worker = await self.zygote.fork(config, f"{self._label}.{number}")
            if self._closed:  # closed while forking: nobody would ever stop this one
                await worker.close()
                raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
            self._workers.add(worker)
            ready = await worker.ready(self.manifest.load_timeout, str(self._snapshot))
        finally:
            self._starting -= 1
        return worker, ready

    async def _acquire(self, deadline: float) -> Worker | None:
        """An idle worker, growing the pool if it may; None once `deadline` passes.

        Workers grow in the background, so a caller that gives up never strands one.
        """
        loop = asyncio.get_running_loop()
        if not self._started.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._started.wait(), max(deadline - loop.time(), 0))
        grown: asyncio.Task[str | None] | None = None
        while True:
            if self._closed:
                raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
            if self._idle and deadline - loop.time() > 0.01:
                return self._idle.pop()
            if grown is not None and grown.done() and (reason := grown.result()) is not None:
                raise WorkerCrashed(f"could not start a worker for box '{self.manifest.name}': {reason}")
            busy = len(self._workers) + self._starting + self._reserved
            if (grown is None or grown.done()) and busy < self.manifest.workers:
                grown = self._grow()
            remaining = deadline - loop.time()
            if remaining <= 0.01:
                return None
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def _release(self, worker: Worker) -> None:
        if worker.alive and not self._closed:
            self._idle.append(worker)
            return
        self._workers.discard(worker)
        await worker.close()
        if not self._closed and not self._workers and not self._starting and not self._reserved:
            self._grow()  # a replacement now, so the next call finds a loaded worker

    def _grow(self) -> asyncio.Task[str | None]:
        """Start one more worker in the background; the task's result is why it failed, or None."""
        self._reserved += 1  # counted at once, so concurrent callers do not grow past `workers`

        async def grow() -> str | None:
            self._reserved -= 1
            try:
                worker, ready = await self._spawn()
            except (WorkerCrashed, BoxUnavailable) as exc:
                await self._notify()
                return str(exc)
            if worker.alive and ready.specs and not self._closed:
                self._idle.append(worker)
                await self._notify()
                return None
            self._workers.discard(worker)
            await worker.close()
            await self._notify()
            return ready.failures[0].message if ready.failures else "no tools loaded"

        task = asyncio.create_task(grow())
        _background.add(task)
        task.add_done_callback(_background.discard)
        return task

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _served_specs(self, reported: list[ToolSpec]) -> tuple[list[ToolSpec], list[LoadFailure]]:
        """Names are the server's: `<box>_<function>` from the manifest, whatever the worker said.

        Box code runs in the worker and may have rewritten its own naming; here it can
        only choose function names, and every name stays under its box's prefix.
        """
        specs: list[ToolSpec] = []
        refused: list[LoadFailure] = []
        for spec in reported:
            name = exposed_name(self.manifest.name, spec.function)
            file = self._unsnapshot(spec.file)
            if not TOOL_NAME.match(name) or any(s.name == name for s in specs):
                problem = "is not unique" if TOOL_NAME.match(name) else f"must match {TOOL_NAME.pattern}"
                refused.append(LoadFailure(file, spec.line, f"tool name '{name}' {problem}"))
                continue
            data = spec.to_dict() | {"name": name, "box": self.manifest.name, "file": file}
            specs.append(ToolSpec.from_dict(data))
        return specs, refused

    def _unsnapshot_failure(self, failure: LoadFailure) -> LoadFailure:
        message = failure.message.replace(str(self._snapshot), str(self.source))
        return LoadFailure(self._unsnapshot(failure.file), failure.line, message)

    def _unsnapshot(self, path: str) -> str:
        """Report files at the user's path, not at the private snapshot."""
        return path.replace(str(self._snapshot), str(self.source), 1)
