"""A pool of workers for one version of one box.

The pool owns a private snapshot of the box directory, so every worker it ever
starts runs the same code even while the user edits the files: a new version is
a new pool, and the old one drains its in-flight calls before it closes.
Each worker runs one call at a time; the pool grows up to `manifest.workers`
on demand, within the server-wide `WorkerBudget`, and an idle worker retires
after the budget's idle time (one stays with `keep_warm = true`). A freed worker
goes to the waiting call whose wait is longest for its tool's usual run time
(it may wait `SLOWDOWN` times that): quick calls do not queue behind a flood of
slow ones, and slow ones are not starved.
Workers are forked from a zygote, which other boxes of the same trust and the
next version of this one may share (`zygote=`): a reload costs a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.manifest import Manifest
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name
from mcp_box_server.runtime import call_note, confine, platform, snapshot
from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.runtime.conversation import Conversation
from mcp_box_server.runtime.errors import BoxUnavailable, ToolTimeout, UnknownTool, WorkerCrashed
from mcp_box_server.runtime.process import MB, Ready, Worker, Zygote, worker_env
from mcp_box_server.runtime.protocol import WorkerConfig

log = logging.getLogger("mcp_box.runtime")

# A box.toml is its author's word; these server-side ceilings bound what it may ask for.
MAX_MEMORY_MB = 16 * 1024  # per worker
MAX_RESULT_MB = 64
MAX_BOX_MB = 1024  # a box's files, as copied into its snapshot
RECHECK = 0.5  # seconds between liveness checks of a call waiting for a worker
SLOWDOWN = 3.0  # a queued call may wait this many times its tool's usual run time before others
MAX_TIMEOUT = 300.0  # no call runs longer, whatever its box asks (serve --max-timeout)
_pool_ids = itertools.count(1)
_background: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` without waiting for it, holding a reference until it ends."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


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
        budget: WorkerBudget | None = None,
        single_use: bool = False,
    ) -> None:
        self.manifest = manifest
        self.single_use = single_use  # each worker serves one call, then goes (code mode's programs)
        self.budget = budget or WorkerBudget(manifest.workers)
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
        # Where no worker runs at all (Windows), nothing is copied: start() reports why.
        self.refusal: str | None = platform.current().SERVE_REFUSAL
        self._root = None if self.refusal else snapshot.make_root(manifest.name)
        self._snapshot = self._root / "box" if self._root else self.source  # copied by start()
        self._label = f"{manifest.name}#{next(_pool_ids)}"
        self.workers_started = 0  # forks asked for (each worker's number): churn shows here
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._starting = 0  # workers being forked or loading their box
        self._loading = 0  # of those, the ones already in _workers (forked, loading)
        self._reserved = 0  # workers being grown whose spawn has not begun yet
        self._queue: dict[str, deque[tuple[float, asyncio.Future[Worker]]]] = {}  # per tool: since, call
        self._run_time: dict[str, float] = {}  # per tool: a moving average of its calls' run times
        self._expiry: dict[Worker, tuple[float, asyncio.TimerHandle]] = {}  # idle since, retirement
        self._keep_until: dict[Worker, float] = {}  # loaded at + time to load: kept for its box till then
        self._slot: asyncio.Future[None] | None = None  # start() waiting for the budget
        self._changed = asyncio.Condition()  # binds to the running loop on first use
        self._started = asyncio.Event()
        self._copied: asyncio.Future[Path | None] | None = None  # the snapshot, once start() took it
        self._in_flight = 0
        self._closed = False

    def preset(self, specs: list[ToolSpec], failures: list[LoadFailure]) -> None:
        """Describe the box from a cache before `start()`: calls wait until it has run."""
        self.specs, self.failures = specs, failures

    async def start(self) -> None:
        """Snapshot the box, fork the first worker and wait for it to load the box and report its tools."""
        copied = self._snapshot_future()
        if self.refusal is not None:  # this OS runs no worker: the box's one error says so
            self.specs, self.failures = [], [LoadFailure(str(self.source), None, self.refusal)]
            self._started.set()
            copied.set_result(None)
            return
        try:
            self.readme = await asyncio.to_thread(
                snapshot.take,
                self.source,
                self._snapshot,
                min(self.manifest.max_box_mb, MAX_BOX_MB),
                trusted=self.manifest.trust == "trusted",
            )
        except snapshot.SnapshotError as exc:
            self.specs, self.failures = [], [LoadFailure(exc.path, None, exc.message)]
            self._started.set()
            copied.set_result(None)
            return
        if not copied.done():
            copied.set_result(self._snapshot)
        try:
            await self._take_slot()
            worker, ready = await self._spawn_on_slot()
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
        self._started.set()
        if self._in_flight and worker.alive and not self._closed:
            self._park(worker)  # for a call that waited for this load: it takes it in `_acquire`
        else:
            self._free(worker)

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
            worker = await self._acquire(function, deadline)
            if worker is not None and deadline - loop.time() <= 0.01:  # handed over as time ran out
                self._free(worker)  # the call does not start: the worker is not killed for it
                worker = None
            if worker is None:
                call_note.waited(loop.time() - started)
                raise ToolTimeout(
                    f"tool '{function}' timed out after {timeout:g} s waiting for a free worker "
                    f"({self._busy_reason()}); it did not run"
                )
            waited = loop.time() - started
            call_note.waited(waited)
            try:
                limit = self.result_cap
                return await worker.call(function, arguments, deadline - loop.time(), limit, conversation)
            except ToolTimeout:
                queued = f", {waited:.1f} s of it waiting for a free worker" if waited >= 0.1 else ""
                raise ToolTimeout(
                    f"tool '{function}' timed out after {timeout:g} s running{queued}; "
                    "its worker was stopped and replaced"
                ) from None
            finally:
                ran = loop.time() - started - waited
                self._run_time[function] = 0.8 * self._run_time.get(function, ran) + 0.2 * ran
                if self.single_use:
                    worker.kill()  # decided here, not by the worker: nothing it did reaches the next call
                self._free(worker)
        finally:
            self._in_flight -= 1
            await self._notify()

    async def snapshot(self) -> Path | None:
        """The box's files as its workers see them, once copied; None if they could not be.

        Does not wait for a worker: a box listed from the spec cache has its prompts and
        resources read from here while its first worker still loads.
        """
        return await asyncio.shield(self._snapshot_future())

    @property
    def snapshot_taken(self) -> bool:
        return self._copied is not None and self._copied.done()

    def _snapshot_future(self) -> asyncio.Future[Path | None]:
        if self._copied is None:
            self._copied = asyncio.get_running_loop().create_future()
        return self._copied

    @property
    def result_cap(self) -> int:
        """The largest result in bytes: the box's `max_result_mb`, at most MAX_RESULT_MB."""
        return min(self.manifest.max_result_mb, MAX_RESULT_MB) * MB

    def worker_counts(self) -> dict[str, int]:
        """Workers by state, and the calls queued for one: what /metrics shows of this pool."""
        idle = len(self._idle)
        busy = len(self._workers) - idle - self._loading
        return {"starting": self._starting, "idle": idle, "busy": busy, "queued": self._waiting()}

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
        self._fail_waiters(BoxUnavailable(f"box '{self.manifest.name}' is shut down"))

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
        for _, timer in self._expiry.values():
            timer.cancel()
        self._expiry.clear()
        self._fail_waiters(BoxUnavailable(f"box '{self.manifest.name}' is shut down"))
        if self._copied is not None and not self._copied.done():
            self._copied.set_result(None)
        self.budget.forget(self)
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)
        if not keep_zygote or self.zygote is not self._shared_zygote:
            await self.zygote.close()
        await self._notify()
        if self._root is not None:
            await asyncio.to_thread(snapshot.remove, self._root)

    async def _spawn(self) -> tuple[Worker, Ready]:
        self.workers_started += 1
        number = self.workers_started
        if self._root is None:
            raise BoxUnavailable(self.refusal or f"box '{self.manifest.name}' has no snapshot")
        workdir = self._root / f"work-{number}"
        workdir.mkdir(mode=0o700)  # private, as the snapshot is (a sandboxed worker gets it chowned)
        sandboxed = self.manifest.trust == "sandboxed"
        config = WorkerConfig(
            box_dir=str(self._snapshot),
            workdir=str(workdir),
            memory_mb=min(self.manifest.memory_mb, MAX_MEMORY_MB),
            sandboxed=sandboxed,
            env=worker_env(True, workdir) if sandboxed else {},
            allow_imports=list(self.manifest.allow_imports),
            # A single-use worker describes its tools while it loads, off the clock; one given the
            # descriptions would build its argument models during its one call (~10 ms).
            known_modules={} if self.single_use else self.modules,
            max_result_bytes=self.result_cap,
            unsafe_weak_sandbox=sandboxed and confine.unsafe_allowed(),
        )
        if self._closed:
            raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
        self._starting += 1  # before any await: `_grow` no longer counts it as reserved
        began = asyncio.get_running_loop().time()
        try:
            if not self.zygote.alive:
                if self.zygote is not self._shared_zygote:
                    await self.zygote.close()
                log.warning("zygote of %s died; starting a new one", self._label)
                self.zygote = zygote_for(self.manifest)
            worker = await self.zygote.fork(config, f"{self._label}.{number}")
            if self._closed:  # closed while forking: nobody would ever stop this one
                await worker.close()
                raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
            self._workers.add(worker)
            self._loading += 1
            load_timeout = min(self.manifest.load_timeout, self.max_timeout)
            try:
                ready = await worker.ready(load_timeout, str(self._snapshot), config.sandboxed)
            except BaseException:  # cancelled: the worker goes, and its slot with it (_spawn_on_slot)
                self._workers.discard(worker)
                worker.kill()
                _in_background(worker.close())
                raise
            finally:
                self._loading -= 1
        finally:
            self._starting -= 1
        now = asyncio.get_running_loop().time()
        self._keep_until[worker] = now + (now - began)
        return worker, ready

    async def _take_slot(self) -> None:
        """Wait until the budget counts a worker slot for this pool.

        Asked again every `RECHECK` seconds: a worker another box left idle meanwhile is
        reclaimed even if no hand-over reached this pool (its first load waits here).
        """
        if self._closed:  # aborted while copying its files: it must not evict another box's worker
            raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
        if self.budget.take(self):
            return
        slot = self._slot = asyncio.get_running_loop().create_future()
        try:
            while not slot.done():
                await asyncio.wait({slot}, timeout=RECHECK)
                if not slot.done() and self.budget.take(self):
                    return
            slot.result()
        except BaseException:
            self.budget.withdraw(self)
            if slot.done() and not slot.cancelled() and slot.exception() is None:
                self.budget.release(self)  # granted just as the wait was cut short
            raise
        finally:
            self._slot = None

    async def _spawn_on_slot(self) -> tuple[Worker, Ready]:
        """`_spawn` on a slot already counted: a failure gives the slot back."""
        try:
            return await self._spawn()
        except BaseException:
            self.budget.release(self)
            raise

    def granted(self) -> None:
        """The budget counted a slot for us (see `WorkerBudget`): start a worker, or give it back."""
        if self._slot is not None and not self._slot.done():
            self._slot.set_result(None)
        elif not self._closed and self._waiting() > self._starting + self._reserved:
            self._grow()
        else:
            self.budget.release(self)

    def idle_rank(self) -> tuple[int, float] | None:
        """(pinned, idle since) of the worker idle longest; pinned: the one `keep_warm` keeps."""
        if not self._idle:
            return None
        pinned = int(self.manifest.keep_warm and len(self._workers) == 1)
        return pinned, self._expiry[self._idle[0]][0]

    def evict(self) -> None:
        """End the worker idle longest for another box; the budget has taken its slot back."""
        worker = self._idle.pop(0)
        self._expiry.pop(worker)[1].cancel()
        self._end(worker, release=False)

    async def _acquire(self, function: str, deadline: float) -> Worker | None:
        """A worker for a call of `function`; None once `deadline` passes.

        Waiting calls are served by `_free` in fair order; workers grow in the
        background, so a caller that gives up never strands one.
        """
        loop = asyncio.get_running_loop()
        if not self._started.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._started.wait(), max(deadline - loop.time(), 0))
        if self._closed:
            raise BoxUnavailable(f"box '{self.manifest.name}' is shut down")
        if deadline - loop.time() <= 0.01:
            return None
        while self._idle and not self._waiting():
            worker = self._idle.pop()  # the latest idle: the others may retire
            self._expiry.pop(worker)[1].cancel()
            if worker.alive:
                return worker
            self._end(worker)  # it died while idle: its slot goes back, a fresh one takes the call
        waiter: asyncio.Future[Worker] = loop.create_future()
        self._queue.setdefault(function, deque()).append((loop.time(), waiter))
        self._ensure_workers()
        try:
            while not waiter.done() and (left := deadline - loop.time()) > 0:
                await asyncio.wait({waiter}, timeout=min(left, RECHECK))
                if not waiter.done():
                    self._unstick()
        except BaseException:
            self._drop_waiter(function, waiter)
            raise
        if not waiter.done():
            self._drop_waiter(function, waiter)
            return None
        return waiter.result()  # WorkerCrashed or BoxUnavailable when no worker could be had

    def _unstick(self) -> None:
        """Keep waiting calls live whatever handed a worker or a slot past them.

        Every `RECHECK` seconds of waiting: an idle worker goes to the waiting call due
        first, and a slot is asked for again (reclaiming another box's idle worker).
        """
        while self._idle:
            worker = self._idle[-1]
            if not worker.alive:
                self._idle.pop()
                self._expiry.pop(worker)[1].cancel()
                self._end(worker)
                continue
            waiter = self._next_waiter()
            if waiter is None:
                break
            self._idle.pop()
            self._expiry.pop(worker)[1].cancel()
            waiter.set_result(worker)
        self._ensure_workers()

    def _drop_waiter(self, function: str, waiter: asyncio.Future[Worker]) -> None:
        """A waiting call gave up: out of its queue, or its worker back to the pool."""
        if waiter.done():
            if not waiter.cancelled() and waiter.exception() is None:
                self._free(waiter.result())
            return
        waiter.cancel()
        queue = self._queue.get(function, deque())
        for item in queue:
            if item[1] is waiter:
                queue.remove(item)
                break
        if not queue:
            self._queue.pop(function, None)
        self._want_no_more()

    def _want_no_more(self) -> None:
        """Out of the budget's waiting list once the workers on their way cover the calls left.

        A stale entry would make other boxes give their workers up for a slot nobody uses.
        """
        if self._slot is None and self._waiting() <= self._starting + self._reserved:
            self.budget.withdraw(self)

    def _waiting(self) -> int:
        return sum(len(queue) for queue in self._queue.values())

    def _next_waiter(self) -> asyncio.Future[Worker] | None:
        """The first waiting call of the tool whose head is due first.

        A call is due `SLOWDOWN` times its tool's usual run time after it queued (a tool
        not run yet counts as quick), judged now: a flood of slow calls queued before a
        quick one is seen as slow once the first of them has run.
        """
        if not self._queue:
            return None
        function = min(
            self._queue, key=lambda f: self._queue[f][0][0] + SLOWDOWN * self._run_time.get(f, 0.0)
        )
        queue = self._queue[function]
        _, waiter = queue.popleft()
        if not queue:
            del self._queue[function]
        self._want_no_more()
        return waiter

    def _free(self, worker: Worker, *, fresh: bool = False) -> None:
        """A free worker goes to the fairest waiting call, to a box owed a slot, or idle.

        A `fresh` worker (just started for the calls waiting here) serves one of them
        before its slot may go to a box owed one: were it handed on at once, boxes
        short of slots would start workers for each other in a ring and none would run.
        Nor is it handed on while calls wait here until it has served as long as it took
        to start: with more boxes busy than slots, a fork per call would cost more than
        the calls.
        """
        if not worker.alive or self._closed:
            self._end(worker)
            self._ensure_workers(warm=self.manifest.keep_warm and bool(self.specs) and not self._workers)
            return
        loop = asyncio.get_running_loop()
        young = loop.time() < self._keep_until.get(worker, 0.0)
        owed = self.budget.owed(self) and not ((fresh or young) and self._waiting())
        if owed or (not self._waiting() and self.budget.waiting(self)):
            self._end(worker)  # its slot goes to a box that has fewer
            self._ensure_workers()
            return
        if (waiter := self._next_waiter()) is not None:
            waiter.set_result(worker)
            return
        self._park(worker)

    def _park(self, worker: Worker) -> None:
        """Idle until a call takes it or the budget's idle time passes."""
        self._idle.append(worker)
        loop = asyncio.get_running_loop()
        self._expiry[worker] = (loop.time(), loop.call_later(self.budget.idle, self._expire, worker))

    def _expire(self, worker: Worker) -> None:
        """Retire a worker idle for the budget's idle time (`keep_warm` keeps the last one)."""
        since, _ = self._expiry[worker]
        if self.manifest.keep_warm and len(self._workers) == 1:
            timer = asyncio.get_running_loop().call_later(self.budget.idle, self._expire, worker)
            self._expiry[worker] = (since, timer)
            return
        self._idle.remove(worker)
        del self._expiry[worker]
        self._end(worker)

    def _end(self, worker: Worker, *, release: bool = True) -> None:
        """Stop `worker` and give its slot back (unless the budget took it already)."""
        self._keep_until.pop(worker, None)
        if worker in self._workers:
            self._workers.discard(worker)
            if release:
                self.budget.release(self)
        worker.kill()
        _in_background(worker.close())

    def _ensure_workers(self, *, warm: bool = False) -> None:
        """Grow while calls wait that no starting worker will take, within `workers` and the budget.

        `warm`: one worker even with no call waiting (`keep_warm` after a crash).
        """
        while (
            not self._closed
            and (warm or self._waiting() > self._starting + self._reserved)
            and self._counted() < self.manifest.workers
        ):
            if not self.budget.take(self):
                return
            self._grow()
            warm = False

    def _counted(self) -> int:
        """Workers against the box's cap: live, loading (once), being forked, about to be."""
        return len(self._workers) + self._starting - self._loading + self._reserved

    def _grow(self) -> None:
        """Start one more worker in the background, on a slot already counted."""
        self._reserved += 1

        async def grow() -> None:
            self._reserved -= 1
            try:
                worker, ready = await self._spawn_on_slot()
            except (WorkerCrashed, BoxUnavailable) as exc:
                self._grow_failed(str(exc))
                return
            if worker.alive and ready.specs and not self._closed:
                self._free(worker, fresh=True)
                return
            self._end(worker)
            self._grow_failed(ready.failures[0].message if ready.failures else "no tools loaded")

        _in_background(grow())

    def _grow_failed(self, reason: str) -> None:
        """With no worker left to serve them, waiting calls fail with the reason."""
        if not self._workers and not self._starting and not self._reserved:
            problem = f"could not start a worker for box '{self.manifest.name}': {reason}"
            self._fail_waiters(WorkerCrashed(problem))

    def _fail_waiters(self, problem: Exception) -> None:
        queues, self._queue = list(self._queue.values()), {}
        for queue in queues:
            for _, waiter in queue:
                if not waiter.done():
                    waiter.set_exception(problem)
        if self._slot is not None and not self._slot.done():
            self._slot.set_exception(problem)
        self.budget.withdraw(self)

    def _busy_reason(self) -> str:
        """Why calls wait: the box's own cap, or the server's budget (shared with other boxes).

        Counted with the workers being started or replaced, so that a worker killed at its
        timeout a moment ago still counts against the box's cap.
        """
        if self._counted() >= self.manifest.workers:
            return f"all {self.manifest.workers} busy"
        if self.manifest.workers <= self.budget.limit and not self.budget.waiting(self):
            return f"all {self.manifest.workers} busy"
        return f"the server's {self.budget.limit} workers are all in use"

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
            if not TOOL_NAME.fullmatch(name) or any(s.name == name for s in specs):
                problem = "is not unique" if TOOL_NAME.fullmatch(name) else f"must match {TOOL_NAME.pattern}"
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
