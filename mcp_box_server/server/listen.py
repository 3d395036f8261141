"""`subscriptions/listen` (SEP-2575), with the task status notifications of SEP-2663.

The SDK's `ListenHandler` carries the four change events of the core spec from a
subscription bus to each open stream. The tasks extension adds a fifth kind: a client
names task ids in its filter (`notifications: {"taskIds": [...]}`) and hears
`notifications/tasks`, the task as `tasks/get` shows it, each time one of them changes
state. The SDK handler cannot carry it (its events are a closed union), so this handler
serves both, with the SDK's rules: the ack is the first frame and names what is honoured,
every frame carries the listen request's id in `_meta`, a kind is sent only when asked
for, and a stream whose client stopped reading is ended at its backlog cap.

Right after the ack, each watched task's current state follows, so a client that opens
the stream after the task changed does not wait for a change that already happened. They
are read from the store one at a time, each once the client has taken the one before: a
stream that names many tasks with big results, and never reads, holds one of them.
A client that names task ids without declaring the tasks extension gets -32021
(SEP-2663); on a server without the extension, task ids are not honoured (the ack
leaves them out).

A server holds MCP_BOX_MAX_LISTEN_STREAMS streams (MAX_STREAMS unless set). Every client
has the same token, so a cap that refused new streams would let one client hold them all
and deafen the rest: at the cap, the oldest stream is ended instead (gracefully: its
result, as at a shutdown) and the new one served. Its client opens another, and hears each
task's current state again; a client that floods must open the cap's worth of streams to
reach one opened after its own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import (
    SUBSCRIPTION_ID_META_KEY,
    ServerEvent,
    event_matches,
    event_to_notification,
)
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
)
from pydantic import BaseModel

from mcp_box_server.server.task_store import MAX_TASK_ID, positive_env

log = logging.getLogger("mcp_box.server")

TASK_NOTIFICATION = "notifications/tasks"
TASK_IDS = "taskIds"  # the filter key SEP-2663 adds
MAX_TASK_IDS = 1000  # per stream: each is looked up in the task store when the stream opens
MAX_STREAMS, MAX_STREAMS_ENV = 1024, "MCP_BOX_MAX_LISTEN_STREAMS"  # open at once; then the oldest ends


@dataclass(frozen=True, slots=True)
class TaskChanged:
    """A task's new state, as `tasks/get` shows it (SEP-2663's DetailedTask)."""

    task: dict[str, Any]


class TaskSource(Protocol):
    """What the tasks extension lends the listen handler."""

    def require_declared(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Raise -32021 unless the request declared the tasks extension."""
        ...

    async def current(self, task_id: str) -> dict[str, Any] | None:
        """The task as `tasks/get` would show it now; None when there is no such task."""
        ...


class _Frame(BaseModel):
    """A notification the SDK's closed set of types does not know (`notifications/tasks`)."""

    method: str
    params: dict[str, Any]


class Listen:
    """Serves `subscriptions/listen`: one request is one stream, until the client goes or `close`."""

    def __init__(
        self, bus: SubscriptionBus, *, max_streams: int = MAX_STREAMS, max_buffered: int = 1024
    ) -> None:
        self._bus = bus
        self._max_streams = max_streams
        self._max_buffered = max_buffered
        self._streams: dict[MemoryObjectSendStream[Any], Callable[[TaskChanged], None]] = {}
        self.uris: Counter[str] = Counter()  # resource URIs the open streams watch, for reloads
        self.tasks: TaskSource | None = None  # set by the tasks extension when it starts

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        subscription_id = ctx.request_id
        if subscription_id is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        task_ids = self._task_ids(ctx, params.notifications)
        if len(self._streams) >= self._max_streams:
            self._end_oldest()
        honored = _honored(params.notifications, task_ids)
        uris = frozenset(honored.resource_subscriptions or ())
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: subscription_id}
        send, receive = anyio.create_memory_object_stream[ServerEvent | TaskChanged](self._max_buffered)
        told: dict[str, str] = {}  # each task's lastUpdatedAt as last sent

        def deliver(event: ServerEvent | TaskChanged) -> None:
            if isinstance(event, TaskChanged):
                if event.task.get("taskId") not in task_ids:
                    return
            elif not event_matches(honored, uris, event):
                return
            try:
                send.send_nowait(event)
            except anyio.ClosedResourceError:
                pass  # closing: the loop below is unwinding
            except anyio.WouldBlock:
                log.warning("listen stream %r: backlog full, stream ended", subscription_id)
                self._streams.pop(send, None)
                send.close()

        async def send_on(event: ServerEvent | TaskChanged) -> None:
            if isinstance(event, TaskChanged) and not _newer(event.task, told):
                return
            await ctx.session.send_notification(_frame(event, meta), related_request_id=subscription_id)

        unsubscribe = self._bus.subscribe(deliver)  # before the ack: nothing published meanwhile is lost
        self._streams[send] = deliver
        self.uris.update(uris)
        try:
            acknowledged = SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
            await ctx.session.send_notification(
                SubscriptionsAcknowledgedNotification(params=acknowledged), related_request_id=subscription_id
            )
            for task_id in sorted(task_ids):  # none without the tasks extension
                if self.tasks is not None and (task := await self.tasks.current(task_id)) is not None:
                    await send_on(TaskChanged(task))
            async for event in receive:
                await send_on(event)
        finally:
            try:
                unsubscribe()
            except Exception:  # a custom bus that raises must not keep the stream's slot
                log.exception("subscription bus unsubscribe raised")
            self._streams.pop(send, None)
            self.uris.subtract(uris)
            self.uris += Counter()  # drop the zeros
            send.close()
            receive.close()
        return SubscriptionsListenResult(_meta=meta)

    def task_changed(self, task: dict[str, Any]) -> None:
        """Send a task's new state to every stream that watches it."""
        for deliver in list(self._streams.values()):
            deliver(TaskChanged(task))

    def close(self) -> None:
        """End every stream gracefully: each sends what it holds, then its result."""
        for stream in list(self._streams):
            stream.close()

    def _end_oldest(self) -> None:
        """Free a slot for a new stream: the oldest ends as at a shutdown (dicts keep their order)."""
        oldest = next(iter(self._streams))
        self._streams.pop(oldest)
        oldest.close()
        log.warning("listen streams at their cap (%d): the oldest ended for a new one", self._max_streams)

    def _task_ids(self, ctx: ServerRequestContext[Any, Any], wanted: SubscriptionFilter) -> frozenset[str]:
        """The task ids the stream will watch; -32021 for a client without the tasks extension."""
        named = (wanted.model_extra or {}).get(TASK_IDS)
        if not named or self.tasks is None:
            return frozenset()
        if not isinstance(named, list) or not all(_task_id(task_id) for task_id in named):
            problem = f"must be a list of task id strings (1 to {MAX_TASK_ID} characters)"
            raise MCPError(INVALID_PARAMS, f"notifications.{TASK_IDS} {problem}")
        if len(named) > MAX_TASK_IDS:
            problem = f"notifications.{TASK_IDS} names {len(named)} tasks; a stream may watch {MAX_TASK_IDS}"
            raise MCPError(INVALID_PARAMS, problem)
        self.tasks.require_declared(ctx)
        return frozenset(named)


def max_streams_from_env() -> int:
    """MCP_BOX_MAX_LISTEN_STREAMS, or MAX_STREAMS when unset; no positive integer stops the start."""
    return positive_env(MAX_STREAMS_ENV, MAX_STREAMS, "streams")


def _task_id(named: object) -> bool:
    return isinstance(named, str) and 0 < len(named) <= MAX_TASK_ID


def _newer(task: dict[str, Any], told: dict[str, str]) -> bool:
    """Whether a task's state is no older than the one a stream sent last (noted if so).

    Through Redis, a change may arrive after the current state the stream began with was
    read, and a change queued while the current states went out is older than them.
    """
    task_id, updated = str(task.get("taskId")), str(task.get("lastUpdatedAt", ""))
    if updated < told.get(task_id, ""):
        return False
    told[task_id] = updated
    return True


def _honored(requested: SubscriptionFilter, task_ids: frozenset[str]) -> SubscriptionFilter:
    """What the ack names: every kind asked for (as the SDK honours them), and the task ids."""
    honored = {
        "toolsListChanged": requested.tools_list_changed or None,
        "promptsListChanged": requested.prompts_list_changed or None,
        "resourcesListChanged": requested.resources_list_changed or None,
        "resourceSubscriptions": list(requested.resource_subscriptions or ()) or None,
        TASK_IDS: sorted(task_ids) or None,  # an extension's key: the model keeps unknown keys
    }
    return SubscriptionFilter.model_validate({key: value for key, value in honored.items() if value})


def _frame(event: ServerEvent | TaskChanged, meta: dict[str, Any]) -> Any:
    if isinstance(event, TaskChanged):
        return _Frame(method=TASK_NOTIFICATION, params={**event.task, "_meta": meta})
    return event_to_notification(event, meta)
