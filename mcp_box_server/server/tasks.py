"""Long box calls as MCP tasks: the `io.modelcontextprotocol/tasks` extension (SEP-2663).

A box opts a tool in (`task = "optional" | "required" | "after_questions"`, in box.toml
or the decorator). When a client that declares the extension calls it, the call answers
at once with a task (`resultType: "task"`, `taskId`, `ttlMs`, `pollIntervalMs`), saved in
the task store before its id leaves, and the box call goes on in the background. The
client polls `tasks/get` until the task is completed (the tool's result inlined, a tool
error as `isError`), failed (its worker died, or a protocol error) or cancelled;
`tasks/cancel` stops the worker; a question the tool asks makes the task `input_required`
with the questions inlined, and `tasks/update` answers them (answers are kept
server-side, in the store, so no sealed state goes to the client). A client that does
not declare the extension gets the plain result for an "optional" or "after_questions"
tool, and -32021 for a "required" one; a handshake-era session (protocol ≤ 2025-11-25),
which has no task wire, gets the result of any kind as from any tool.

An "after_questions" tool asks first: its first round runs in the request as any
tool's does (a question ends it with an input_required result), and the call that brings
the answers goes on as a task with them (SEP-2663: MRTR rounds resolved before the task).

A task lives `ttlMs` from its creation (an hour, or what the client asked for in its
extension settings, within a second and a day), then is gone, its worker stopped. Each
change of status also goes to the `subscriptions/listen` streams that name the task
(`notifications/tasks`, see `listen`).

Any replica sharing the store answers `tasks/get`, `tasks/update` and `tasks/cancel`;
the replica running the task watches the store for answers and for a cancel. A finished
task's record is final (the store refuses to overwrite it), and the runner that sees a
cancel's flag saves "cancelled" itself: a cancel whose own save never came (its replica
went) still ends as cancelled, never as "working" with its worker stopped.

The task id is the task's capability (144 random bits): whoever holds it, and the
server's token, may read, answer, cancel and listen to the task. A replica runs at most
MCP_BOX_MAX_TASKS unfinished tasks (MAX_TASKS unless set); past that, a call that would
become a task is refused, so a client cannot queue box calls without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import mcp_types
from fastmcp.server.extensions import MethodBinding, ServerExtension, read_client_extension_settings
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    MISSING_REQUIRED_CLIENT_CAPABILITY,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, Field

from mcp_box_server.runtime import BoxRuntimeError, ClientCannot, InputNeeded, WorkerCrashed
from mcp_box_server.server import results
from mcp_box_server.server.conversation import ClientConversation, input_request, valid_answer
from mcp_box_server.server.listen import Listen
from mcp_box_server.server.notify import ChangeNotifier
from mcp_box_server.server.task_store import (
    MAX_TASK_ID,
    TERMINAL,
    StoreFull,
    TaskRecord,
    TaskStore,
    positive_env,
)

if TYPE_CHECKING:
    from fastmcp.server.context import Context
    from fastmcp.server.extensions import ToolCallContinuation, ToolCallOutcome
    from fastmcp.tools.base import ToolResult
    from mcp.server.context import ServerRequestContext

    from mcp_box_server.server.registry import BoxRegistry

log = logging.getLogger("mcp_box.server")

TASKS = "io.modelcontextprotocol/tasks"
TTL_MS = 3_600_000  # how long a task stays readable from its creation, unless the client asks
MIN_TTL_MS, MAX_TTL_MS = 1_000, 86_400_000  # what a client may ask for: a second to a day
POLL_MS, MIN_POLL_MS = 500, 100  # suggested between two tasks/get: a tenth of the TTL, within these
RECHECK = 1.0  # seconds between two looks at the store unheard of, should a change notice be lost
STOPPING = 0.05  # seconds between two looks once the TTL is over (the call or the record is going)
MAX_TASKS, MAX_TASKS_ENV = 1000, "MCP_BOX_MAX_TASKS"  # unfinished tasks a replica runs at once
_CAPABILITY = {"elicit": "elicitation", "sample": "sampling", "roots": "roots"}


class TaskParams(BaseModel):
    """tasks/get and tasks/cancel: which task."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    task_id: str = Field(alias="taskId", min_length=1)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")


class UpdateParams(TaskParams):
    """tasks/update: which task, and answers by the key of the question they answer."""

    input_responses: dict[str, Any] = Field(alias="inputResponses")


class _Wire(BaseModel):
    """A result as its fields say, keys as written (`resultType`, `taskId`, ...)."""

    model_config = ConfigDict(extra="allow")


class TaskConversation:
    """A background call's side of the conversation: no request to report to, questions end a round."""

    interactive = False

    def __init__(self, capabilities: frozenset[str], answers: dict[str, Any]) -> None:
        self.capabilities = capabilities
        self.answers = answers

    async def note(self, kind: str, params: dict[str, Any]) -> None:
        """Progress and log notes have no open request to go to: the status is what clients poll."""

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ClientCannot("a task asks its questions through input_required")


class _Cancelled(Exception):
    """The client cancelled the task (on this replica or another)."""


class TasksExtension(ServerExtension):
    """Runs task-enabled box tools in the background and serves tasks/get, tasks/update, tasks/cancel."""

    identifier = TASKS

    def __init__(self, registry: BoxRegistry, store: TaskStore, max_tasks: int | None = None) -> None:
        self.registry = registry
        self.store = store
        if max_tasks is None:
            max_tasks = positive_env(MAX_TASKS_ENV, MAX_TASKS, "tasks")
        self.max_tasks = max_tasks
        self._runners: dict[str, asyncio.Task[None]] = {}
        self._calls: dict[str, asyncio.Future[Any]] = {}
        self._heard: dict[str, asyncio.Event] = {}  # per task run here: the store told of a change

    def clone(self) -> TasksExtension:
        return TasksExtension(self.registry, self.store, self.max_tasks)

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding("tasks/get", TaskParams, self._get),
            MethodBinding("tasks/update", UpdateParams, self._update),
            MethodBinding("tasks/cancel", TaskParams, self._cancel),
        )

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        listen = _listen_handler(self.server)
        if listen is not None:
            listen.tasks = self  # listen streams may now name task ids, and hear of them from the store

        def changed(record: TaskRecord) -> None:
            if (heard := self._heard.get(record.task_id)) is not None:
                heard.set()  # an answer or a cancel, maybe: the runner looks
            if listen is not None:
                listen.task_changed(record.detailed())

        self.store.on_change(changed)
        try:
            yield
        finally:
            for runner in self._runners.values():
                runner.cancel()
            await asyncio.gather(*self._runners.values(), return_exceptions=True)
            await self.store.close()

    async def intercept_tool_call(
        self, params: mcp_types.CallToolRequestParams, context: Context, call_next: ToolCallContinuation
    ) -> ToolCallOutcome:
        spec = self.registry.tools.get(params.name)
        mode = spec.task if spec is not None else None
        if mode is None or not _modern(context.request_context):
            return await call_next()  # a handshake-era session has no task wire: it waits for the result
        if not _declared(context.request_context, context.session):
            if mode != "required":
                return await call_next()
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"tool '{params.name}' runs only as a task: declare the client extension '{TASKS}'",
                {"requiredCapabilities": {"extensions": {TASKS: {}}}},
            )
        arguments = dict(params.arguments or {})
        asking = ClientConversation(context, params.name, arguments, self.registry)
        if mode == "after_questions" and not asking.answers:
            return await call_next()  # its first round runs in the request, as any tool's: a question ends it
        if len(self._runners) >= self.max_tasks:
            problem = f"this server runs {self.max_tasks} unfinished tasks already; call again once one ends"
            raise MCPError(INTERNAL_ERROR, problem)
        ttl, poll = _lifetime(_settings(context.request_context))
        record = TaskRecord(
            task_id=secrets.token_urlsafe(18),
            tool=params.name,
            ttl_ms=ttl,
            poll_ms=poll,
            answers=dict(asking.answers),  # what earlier rounds in the request were told
        )
        await self.store.save(record)  # before the id leaves: any tasks/get after this finds it
        runner = asyncio.create_task(
            self._run(record, arguments, asking.capabilities, spec.output is not None)
        )
        self._runners[record.task_id] = runner
        self._heard[record.task_id] = asyncio.Event()  # before the id leaves: no change goes unheard
        runner.add_done_callback(lambda _: self._ended(record.task_id))
        return _Wire.model_validate({"resultType": "task", **record.envelope()})

    def _ended(self, task_id: str) -> None:
        self._runners.pop(task_id, None)
        self._heard.pop(task_id, None)

    async def _run(
        self, record: TaskRecord, arguments: dict[str, Any], can: frozenset[str], schema: bool
    ) -> None:
        """The box call, round after round, until its task ends; every change saved to the store."""
        try:
            while True:
                try:
                    value = await self._call(record, arguments, TaskConversation(can, dict(record.answers)))
                    record.move("completed", result=_wire(results.success(value, schema=schema)))
                except InputNeeded as needed:
                    if self._ask(record, needed, can):
                        if not await self._save_unless_cancelled(record):
                            return
                        waited = await self._answers(record)
                        if waited is None:
                            return
                        record = waited
                        continue
                except WorkerCrashed as error:  # no tool error: the server side failed the call
                    record.move("failed", error={"code": INTERNAL_ERROR, "message": str(error)})
                except BoxRuntimeError as error:  # the tool ran and failed: a completed task, isError
                    record.move("completed", result=_wire(results.failure(error)))
                except MCPError as error:
                    record.move("failed", error={"code": error.code, "message": error.message})
                break
        except _Cancelled:  # by a cancel's flag, or its TTL
            if await self.store.cancel_requested(record.task_id):
                await self._save_cancelled(record)
            return
        except Exception as error:  # a fault of the server's own: the task fails, the server goes on
            log.exception("task %s of %s failed", record.task_id, record.tool)
            record.move(
                "failed", error={"code": INTERNAL_ERROR, "message": f"{type(error).__name__}: {error}"}
            )
        try:
            await self._save_unless_cancelled(record)
        except StoreFull as full:  # its result has no room: the task fails, and says why
            record.move("failed", result=None, error={"code": INTERNAL_ERROR, "message": str(full)})
            await self._save_unless_cancelled(record)

    async def _call(
        self, record: TaskRecord, arguments: dict[str, Any], conversation: TaskConversation
    ) -> Any:
        """The call itself, stopped (its worker with it) as soon as a cancel shows in the store."""
        call = asyncio.ensure_future(self.registry.call(record.tool, arguments, conversation))
        self._calls[record.task_id] = call
        try:
            while not call.done():
                await self._news(record, call)
                if call.done():
                    break
                if time.time() > record.expires or await self.store.cancel_requested(record.task_id):
                    call.cancel()  # cancelled, or past its TTL: nobody can read its result any more
            if call.cancelled():
                raise _Cancelled
            return call.result()
        finally:
            self._calls.pop(record.task_id, None)
            if not call.done():  # the server stops: the worker goes with the call
                call.cancel()

    def _ask(self, record: TaskRecord, needed: InputNeeded, can: frozenset[str]) -> bool:
        """Move the task to input_required with the questions; False when it failed instead."""
        requests, kinds = {}, {}
        for key, (kind, params) in needed.requests.items():
            if kind not in can:
                capability = _CAPABILITY.get(kind, kind)
                problem = f"tool '{record.tool}' needs the client capability '{capability}', not declared"
                record.move("failed", error={"code": MISSING_REQUIRED_CLIENT_CAPABILITY, "message": problem})
                return False
            try:
                requests[key] = input_request(kind, params).model_dump(
                    by_alias=True, mode="json", exclude_none=True
                )
            except ClientCannot as error:
                record.move(
                    "failed", error={"code": INTERNAL_ERROR, "message": f"the tool asked badly: {error}"}
                )
                return False
            kinds[key] = kind
        record.move("input_required", input_requests=requests, asked=kinds)
        return True

    async def _answers(self, asked: TaskRecord) -> TaskRecord | None:
        """Wait until tasks/update has answered every open question (None: finished or expired;
        _Cancelled: a cancel's flag came)."""
        task_id = asked.task_id
        while True:
            await self._news(asked)
            record = await self.store.load(task_id)
            if record is None or record.status in TERMINAL:
                return None
            if await self.store.cancel_requested(task_id):
                raise _Cancelled
            if record.status == "working":
                return record

    async def _news(self, record: TaskRecord, call: asyncio.Future[Any] | None = None) -> None:
        """Until the store tells of a change to the task, `call` ends, the TTL runs out, or RECHECK.

        The store tells this replica of every save, its own and other replicas' (Redis
        pub/sub): waiting tasks cost nothing between changes, instead of a look each tenth of
        a second. RECHECK looks anyway, for a notice lost with a Redis connection.
        """
        heard = self._heard[record.task_id]
        notice = asyncio.ensure_future(heard.wait())
        left = min(RECHECK, max(STOPPING, record.expires - time.time()))
        try:
            await asyncio.wait(
                {notice, *([call] if call else [])}, timeout=left, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            notice.cancel()
        heard.clear()

    async def _save_unless_cancelled(self, record: TaskRecord) -> bool:
        """Save; "cancelled" instead when a cancel's flag is up. True when the task goes on."""
        if await self.store.cancel_requested(record.task_id):
            await self._save_cancelled(record)
            return False
        return await self.store.save(record) and record.status not in TERMINAL

    async def _save_cancelled(self, record: TaskRecord) -> None:
        """The runner's own "cancelled", beside the one `tasks/cancel` saves after its flag.

        Whichever of the two comes second is refused (a finished record is final): a cancel
        whose replica went between its flag and its save still ends cancelled, and listen
        streams hear of it once.
        """
        record.move("cancelled", result=None, error=None)
        await self.store.save(record)

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> _Wire:
        record = await self._record(ctx, params)
        return _Wire.model_validate({"resultType": "complete", **record.detailed()})

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateParams) -> _Wire:
        """Answers for the open questions: the task works again once none is left open.

        An answer to a key not asked, or of the wrong shape for its question, is ignored.
        """
        record = await self._record(ctx, params)
        if record.status == "input_required":
            for key, response in params.input_responses.items():
                answer = valid_answer(record.asked.get(str(key), ""), response)
                if answer is not None:
                    record.answers[str(key)] = answer
                    record.input_requests.pop(str(key), None)
                    record.asked.pop(str(key), None)
            if record.input_requests:
                record.move("input_required")
            else:
                record.move("working", asked={})
            await self.store.save(record)  # refused when the task finished since it was read (a cancel)
        return _Wire.model_validate({"resultType": "complete"})

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> _Wire:
        """Cancelled at once in the store; the worker stops here, or where the task runs."""
        record = await self._record(ctx, params)
        if record.status not in TERMINAL:
            await self.store.request_cancel(record.task_id)
            record.move("cancelled")
            await self.store.save(record)  # refused when the task finished meanwhile: that stands
            call = self._calls.get(record.task_id)
            if call is not None:
                call.cancel()
        return _Wire.model_validate({"resultType": "complete"})

    def require_declared(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """-32021 for a request (tasks/*, or a listen naming task ids) that did not declare the extension."""
        if not _declared(ctx, ctx.session):
            raise MCPError(
                MISSING_REQUIRED_CLIENT_CAPABILITY,
                f"tasks/* and task notifications need the client extension '{TASKS}', "
                "which this request did not declare",
                {"requiredCapabilities": {"extensions": {TASKS: {}}}},
            )

    async def current(self, task_id: str) -> dict[str, Any] | None:
        """The task as `tasks/get` shows it (for a listen stream that starts watching it)."""
        record = await self.store.load(task_id)
        return record.detailed() if record is not None else None

    async def _record(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> TaskRecord:
        self.require_declared(ctx)
        if len(params.task_id) > MAX_TASK_ID:  # not echoed: it is no id this server made
            problem = f"taskId has {len(params.task_id)} characters; a task id has at most {MAX_TASK_ID}"
            raise MCPError(INVALID_PARAMS, problem)
        request = getattr(ctx, "request", None)
        named = request.headers.get("mcp-name") if request is not None else None
        if named is not None and named != params.task_id:  # SEP-2243: the routing header names the task
            raise MCPError(HEADER_MISMATCH, f"Mcp-Name header '{named}' does not match the request's taskId")
        record = await self.store.load(params.task_id)
        if record is None:
            raise MCPError(INVALID_PARAMS, f"unknown task '{params.task_id}' (never made here, or expired)")
        return record


def _lifetime(settings: dict[str, Any] | None) -> tuple[int, int]:
    """ttlMs and pollIntervalMs of a new task.

    SEP-2663 gives a 2026-07-28 client no field to ask for a TTL (its wire drops SEP-1686's
    `task.ttl`), so a client asks in the settings it declares for the extension,
    `{"io.modelcontextprotocol/tasks": {"ttlMs": N}}`: held to [MIN_TTL_MS, MAX_TTL_MS],
    TTL_MS when it asks none.
    """
    wanted = (settings or {}).get("ttlMs")
    if wanted is None:
        ttl = TTL_MS
    elif isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0:
        ttl = min(MAX_TTL_MS, max(MIN_TTL_MS, wanted))
    else:
        problem = f"the {TASKS} setting ttlMs must be a positive integer (milliseconds), got {wanted!r}"
        raise MCPError(INVALID_PARAMS, problem)
    return ttl, min(POLL_MS, max(MIN_POLL_MS, ttl // 10))


def _settings(context: Any) -> dict[str, Any] | None:
    """The settings the request declared for the extension (its `_meta` client capabilities)."""
    meta = getattr(context, "meta", None) or {}
    capabilities = meta.get("io.modelcontextprotocol/clientCapabilities") or {}
    settings = (capabilities.get("extensions") or {}).get(TASKS) if isinstance(capabilities, dict) else None
    return settings if isinstance(settings, dict) else None


def _listen_handler(server: Any) -> Listen | None:
    """The listen streams of the server's change notifier, which carry task status too."""
    notifier = next((m for m in server.middleware if isinstance(m, ChangeNotifier)), None)
    return notifier.listen_handler if notifier is not None else None


def _modern(context: Any) -> bool:
    return getattr(context, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS


def _declared(context: Any, session: Any) -> bool:
    """Whether the client declared the tasks extension: for this request, or for its session."""
    with contextlib.suppress(Exception):
        if context is not None and read_client_extension_settings(context, TASKS) is not None:
            return True
    declared = mcp_types.ClientCapabilities.model_validate({"extensions": {TASKS: {}}})
    try:
        return bool(session.check_client_capability(declared))
    except Exception:  # no session to ask (a request outside one)
        return False


def _wire(result: ToolResult) -> dict[str, Any]:
    """A ToolResult as the CallToolResult `tasks/get` inlines."""
    wire = mcp_types.CallToolResult(
        content=result.content, structured_content=result.structured_content, is_error=result.is_error
    )
    return wire.model_dump(by_alias=True, mode="json", exclude_none=True)
