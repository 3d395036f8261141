"""Where MCP tasks live between requests: one process's memory, or Redis shared by replicas.

A task is saved before its id goes to the client and stays readable for its `ttlMs`,
so a `tasks/get` never meets an unknown id it was given. The replica that runs a task
writes its record; a `tasks/update` or `tasks/cancel`, which may land on any replica,
writes the record too (answers, the cancelled status) and, for a cancel, a flag of its
own that the running replica watches: the record says what the client sees, the flag
reaches the worker wherever it runs.

A save never overwrites a finished task (completed, failed, cancelled): the store checks
and writes in one step (in memory, code that does not yield; in Redis, a Lua script). So a
`tasks/update` that read the task before a cancel saved it cannot bring it back to
"working" after, on any replica, however the requests interleave.

Every save is also told to the store's change listeners: in memory at once, through Redis
pub/sub on every replica sharing it, so a `subscriptions/listen` stream on one replica
hears of a task that runs on another.

MCP_BOX_TASK_STORE=redis://HOST:PORT/DB picks Redis (the `redis` package); unset, tasks
live in memory and only the replica that made one can answer for it. In memory, the
results that finished tasks keep until they expire are bounded (MCP_BOX_TASK_RESULTS_MB):
a result past that fails its task instead of being kept, so clients cannot pile up
results the server holds for a day. Redis has its own bound (its `maxmemory`).
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

log = logging.getLogger("mcp_box.server")

STORE_ENV = "MCP_BOX_TASK_STORE"
Status = Literal["working", "input_required", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
RETRY = 1.0  # seconds before a lost Redis subscription is made again
MAX_TASK_ID = 128  # characters a task id may have in a request (the server makes 24)
RESULTS_MB, RESULTS_ENV = 1024, "MCP_BOX_TASK_RESULTS_MB"  # what the memory store holds at most
MB = 1024 * 1024


def now() -> str:
    """ISO 8601 in UTC, to the millisecond, as the wire wants it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class TaskRecord:
    """One task as stored: what `tasks/get` shows, and what the runner needs to go on."""

    task_id: str
    tool: str
    ttl_ms: int
    poll_ms: int
    status: Status = "working"
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)
    result: dict[str, Any] | None = None  # a CallToolResult, once completed
    error: dict[str, Any] | None = None  # a JSON-RPC error, once failed
    input_requests: dict[str, Any] = field(default_factory=dict)  # unanswered questions, by key
    asked: dict[str, str] = field(default_factory=dict)  # each open question's kind (elicit, ...)
    answers: dict[str, Any] = field(default_factory=dict)  # every answer so far, by key
    expires: float = 0.0  # time.time() after which the task is gone

    def __post_init__(self) -> None:
        self.expires = self.expires or time.time() + self.ttl_ms / 1000

    def move(self, status: Status, **changes: Any) -> None:
        """A new status, with what comes with it (`result`, `error`, the open questions)."""
        self.status, self.updated_at = status, now()
        for name, value in changes.items():
            setattr(self, name, value)

    def envelope(self) -> dict[str, Any]:
        """The Task fields every task answer carries (SEP-2663)."""
        return {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": self.created_at,
            "lastUpdatedAt": self.updated_at,
            "ttlMs": self.ttl_ms,
            "pollIntervalMs": self.poll_ms,
        }

    def detailed(self) -> dict[str, Any]:
        """`tasks/get`: the envelope, plus the result, error or open questions of its status."""
        shown = self.envelope()
        if self.status == "completed" and self.result is not None:
            shown["result"] = self.result
        elif self.status == "failed" and self.error is not None:
            shown["error"] = self.error
        elif self.status == "input_required":
            shown["inputRequests"] = self.input_requests
        return shown

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> TaskRecord:
        return cls(**json.loads(text))


Listener = Callable[[TaskRecord], None]


class StoreFull(Exception):
    """A finished task's result has no room in the store: the task fails instead."""


class TaskStore(Protocol):
    """Records by task id, kept until they expire, and the cancel flags."""

    async def save(self, record: TaskRecord) -> bool:
        """Keep `record` (a copy) until it expires, unless the task is finished already (False:
        the finished record stands); StoreFull when a completed one has no room."""
        ...

    def on_change(self, listener: Listener) -> None:
        """Call `listener` with each record saved from now on (by any replica sharing the store)."""
        ...

    async def load(self, task_id: str) -> TaskRecord | None: ...

    async def request_cancel(self, task_id: str) -> None: ...

    async def cancel_requested(self, task_id: str) -> bool: ...

    async def close(self) -> None: ...


class MemoryTaskStore:
    """This process only: enough for one server, not for replicas."""

    def __init__(self, max_bytes: int = RESULTS_MB * MB) -> None:
        self.max_bytes = max_bytes
        self._records: dict[str, str] = {}
        self._held = 0  # the length of every record's text, which is ASCII JSON: its bytes
        self._deadlines: list[tuple[float, str]] = []  # (expires, task_id), a heap: the next to go first
        self._cancels: set[str] = set()
        self._finished: set[str] = set()  # ids whose record is final: no save replaces it
        self._listeners: list[Listener] = []

    async def save(self, record: TaskRecord) -> bool:
        """Checks and writes without yielding: no other request comes between the two."""
        self._sweep()
        if record.task_id in self._finished:
            return False
        text = record.to_json()
        before = self._records.get(record.task_id)
        held = self._held - len(before or "") + len(text)
        if record.status == "completed" and held > self.max_bytes:  # only a result can be refused
            kept = f"the server keeps {self.max_bytes // MB} MB of task results at most ({RESULTS_ENV})"
            raise StoreFull(f"no room for the task's {len(text) / MB:.1f} MB result: {kept}")
        if before is None:  # a task's expiry is fixed at its creation
            heapq.heappush(self._deadlines, (record.expires, record.task_id))
        self._records[record.task_id] = text  # a copy: the caller keeps its own
        self._held = held
        if record.status in TERMINAL:
            self._finished.add(record.task_id)
        for listener in self._listeners:
            listener(TaskRecord.from_json(text))
        return True

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def load(self, task_id: str) -> TaskRecord | None:
        self._sweep()
        text = self._records.get(task_id)
        return TaskRecord.from_json(text) if text is not None else None

    async def request_cancel(self, task_id: str) -> None:
        self._cancels.add(task_id)

    async def cancel_requested(self, task_id: str) -> bool:
        return task_id in self._cancels

    async def close(self) -> None:
        self._records.clear()
        self._held = 0
        self._deadlines.clear()
        self._cancels.clear()
        self._finished.clear()

    def _sweep(self) -> None:
        """Forget the tasks whose time is over: only those, so that every look at the store
        (each waiting task looks ten times a second) costs the same however many it holds."""
        moment = time.time()
        while self._deadlines and self._deadlines[0][0] < moment:
            _, task_id = heapq.heappop(self._deadlines)
            self._held -= len(self._records.pop(task_id, ""))
            self._cancels.discard(task_id)
            self._finished.discard(task_id)


# KEYS[1] the record; ARGV: its JSON, its milliseconds left, the channel. Redis runs a script
# whole, with no other command between: the check and the write are one step for every replica.
SAVE_UNLESS_FINISHED = """
local stored = redis.call('GET', KEYS[1])
if stored then
    local status = cjson.decode(stored)['status']
    if status == 'completed' or status == 'failed' or status == 'cancelled' then
        return 0
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[1])
return 1
"""


class RedisTaskStore:
    """Redis shared by every replica: any of them answers for any task."""

    PREFIX = "mcp-box:task:"
    CHANNEL = "mcp-box:tasks"  # every save, published for the other replicas' listen streams

    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as redis
            from redis.exceptions import ConnectionError as Lost
        except ImportError:
            raise RuntimeError(f"{STORE_ENV}={url} needs the 'redis' package: pip install redis") from None
        self._redis = redis.Redis.from_url(url)
        self._save = self._redis.register_script(SAVE_UNLESS_FINISHED)
        self._listeners: list[Listener] = []
        self._reader: asyncio.Task[None] | None = None
        self._lost: tuple[type[Exception], ...] = (OSError, Lost)  # the subscription's connection went

    async def save(self, record: TaskRecord) -> bool:
        left = max(1, int((record.expires - time.time()) * 1000))
        keys, values = [self.PREFIX + record.task_id], [record.to_json(), left, self.CHANNEL]
        return bool(await self._save(keys=keys, args=values))

    def on_change(self, listener: Listener) -> None:
        """Also for this replica's own saves, which come back through the channel."""
        self._listeners.append(listener)
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        """Hand each published record to the listeners; a lost connection is made again."""
        while True:
            try:
                async with self._redis.pubsub() as channel:
                    await channel.subscribe(self.CHANNEL)
                    async for message in channel.listen():
                        if message.get("type") == "message":
                            self._tell(message["data"])
            except self._lost as error:
                log.warning("task store: lost the Redis subscription (%s); again in %g s", error, RETRY)
                await asyncio.sleep(RETRY)

    def _tell(self, text: bytes) -> None:
        try:
            record = TaskRecord.from_json(text)
        except (ValueError, TypeError) as error:  # not ours: someone else published on the channel
            log.warning("task store: ignored a message on %s that is no task (%s)", self.CHANNEL, error)
            return
        for listener in self._listeners:
            listener(record)

    async def load(self, task_id: str) -> TaskRecord | None:
        text = await self._redis.get(self.PREFIX + task_id)
        return TaskRecord.from_json(text) if text is not None else None

    async def request_cancel(self, task_id: str) -> None:
        record_ttl = await self._redis.pttl(self.PREFIX + task_id)
        await self._redis.set(self.PREFIX + task_id + ":cancel", "1", px=max(1000, record_ttl))

    async def cancel_requested(self, task_id: str) -> bool:
        return bool(await self._redis.exists(self.PREFIX + task_id + ":cancel"))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await asyncio.shield(self._redis.aclose())


def positive_env(name: str, default: int, unit: str) -> int:
    """The environment's `name`, or `default` when unset; anything but a positive integer stops the start."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise RuntimeError(f"{name} must be a positive integer ({unit}), got {text!r}")
    return int(text)


def store_from_env() -> TaskStore:
    """Redis when MCP_BOX_TASK_STORE names it; memory otherwise (MCP_BOX_TASK_RESULTS_MB of results)."""
    url = os.environ.get(STORE_ENV, "").strip()
    if not url:
        return MemoryTaskStore(positive_env(RESULTS_ENV, RESULTS_MB, "megabytes") * MB)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError(f"{STORE_ENV} must be a redis:// (rediss://, unix://) URL, got {url!r}")
    return RedisTaskStore(url)
