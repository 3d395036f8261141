"""Assemble the MCP server: FastMCP + box provider + meta-tools + reload + auth.

`run()` is the whole life of a server process. Given a second core, it launches
the box zygotes before importing FastMCP, so the box imports (sympy, Bio) and
FastMCP's own import overlap; on one core they would only compete, and the zygotes
start once the server is up (the spec cache lists the tools meanwhile). Either way
the first `tools/list` is not slower than a bare FastMCP server that imports the
same tools in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp_box_server.runtime import snapshot
from mcp_box_server.runtime.budget import DEFAULT_IDLE, WorkerBudget, usable_cpus
from mcp_box_server.runtime.pool import MAX_RESULT_MB, MAX_TIMEOUT
from mcp_box_server.runtime.process import MB
from mcp_box_server.runtime.result_budget import ResultBudget
from mcp_box_server.server.registry import BoxRegistry, BoxState

if TYPE_CHECKING:
    from fastmcp import FastMCP

log = logging.getLogger("mcp_box.server")

Transport = Literal["stdio", "http", "sse"]

MAX_SESSIONS = 256  # streamable-HTTP sessions open at once; the SDK allows 10,000
SESSION_IDLE_TIMEOUT = 600.0  # seconds; the SDK keeps an idle session 30 minutes
BODY_TIMEOUT = 60.0  # seconds; uvicorn has no body deadline (see server/http.py)

INSTRUCTIONS = (
    "Tools from MCP boxes, named <box>_<function>. If the tool you need is not listed, "
    "use find_tools to search every box and call_tool to call a tool by name."
)


@dataclass(slots=True)
class ServerConfig:
    roots: list[Path]
    only: set[str] | None = None
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    reload: bool = True
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    max_timeout: float = MAX_TIMEOUT
    max_result_mb: int = MAX_RESULT_MB  # no result is larger; nor are the result bytes in flight at once
    max_sessions: int = MAX_SESSIONS
    session_idle_timeout: float = SESSION_IDLE_TIMEOUT
    body_timeout: float = BODY_TIMEOUT  # seconds for a whole request body, from its head
    max_workers: int | None = None  # workers of all boxes together; None: 2 per usable core
    worker_idle: float = DEFAULT_IDLE  # seconds before an idle worker retires
    replica_id: str | None = None  # names this replica in its session ids (docs/replicas.md)
    code_mode: Literal["off", "on", "only"] = "off"  # execute/get_schema; "only": no box tool listed
    code_timeout: float = 30.0  # seconds one program may run, its tool calls included
    code_memory_mb: int = 512  # a program's worker's memory cap


def create_server(registry: BoxRegistry, config: ServerConfig) -> FastMCP:
    """The FastMCP app over `registry`; its lifespan loads boxes and runs the watcher."""
    from fastmcp import FastMCP
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from mcp_box_server import __version__
    from mcp_box_server.server.auth import SharedTokenVerifier, presents
    from mcp_box_server.server.catalog import Catalog
    from mcp_box_server.server.code_mode import ProgramLimits
    from mcp_box_server.server.completion import Completer
    from mcp_box_server.server.meta_tools import META_TOOLS, register_code_mode, register_meta_tools
    from mcp_box_server.server.metrics import Metrics
    from mcp_box_server.server.notify import ChangeNotifier
    from mcp_box_server.server.provider import BoxProvider
    from mcp_box_server.server.replica import shared_request_state
    from mcp_box_server.server.schemas import SchemaDialect, check_param_headers
    from mcp_box_server.server.task_store import store_from_env
    from mcp_box_server.server.tasks import TasksExtension
    from mcp_box_server.server.watcher import watch

    notifier = ChangeNotifier()
    catalog = Catalog(registry)

    async def announce() -> None:
        """After a swap: what changed in prompts and resources, in both eras."""
        try:
            changes = await catalog.refresh()
            if changes.prompts:
                await notifier.prompts_changed()
            if changes.resources:
                await notifier.resources_changed()
            await notifier.resources_updated(changes.touches)
        except Exception:  # telling clients is best effort: never the box's load error
            log.exception("could not announce prompt and resource changes")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        registry.on_change(notifier.tools_changed)
        registry.on_swap(announce)
        registry.begin()  # boxes load in the background: /health answers meanwhile
        watcher = asyncio.create_task(watch(registry)) if config.reload else None
        try:
            yield {}
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            notifier.close()
            if code_mode is not None:
                await code_mode.close()
            await registry.close()

    auth = SharedTokenVerifier(config.token) if config.token and config.transport != "stdio" else None
    server = FastMCP(
        "mcp-box",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        auth=auth,
        providers=[BoxProvider(registry, catalog)],
        mask_error_details=False,
        dereference_schemas=False,  # $defs/$ref stay; see server/schemas.py
        request_state_security=shared_request_state(),  # MCP_BOX_STATE_KEY: one key for all replicas
    )
    notifier.install(server)
    server.add_extension(TasksExtension(registry, store_from_env()))  # long calls as MCP tasks
    server.add_middleware(SchemaDialect())
    check_param_headers(server, registry)  # Mcp-Param-* headers (SEP-2243) against box schemas
    metrics = Metrics(registry, config.token if auth else None)  # a log line per call; /metrics
    server.add_middleware(metrics.call_log())
    server.custom_route("/metrics", methods=["GET"])(metrics.scrape)
    server.add_completion_handler(Completer(catalog))
    register_meta_tools(server, registry, catalog.status)
    code_mode = None
    if config.code_mode != "off":
        limits = ProgramLimits(timeout=config.code_timeout, memory_mb=config.code_memory_mb)
        code_mode = register_code_mode(server, registry, only=config.code_mode == "only", limits=limits)
    token = config.token if auth else None

    @server.custom_route("/health", methods=["GET"])
    async def health(request: Request) -> JSONResponse:
        """Answers at once: 503 "starting" until every box has loaded or failed, then 200 "ok",
        or 503 "degraded" while a box that should serve does not (its load failed, or its
        sandbox was refused): a container's or a load balancer's health check then fails.

        With a token set, only a request that presents it sees the details (box names,
        errors, paths); any other gets the bare status, all a liveness probe needs.
        """
        states = registry.states
        starting = registry.starting
        down = [s.name for s in states if not s.serving and s.errors and s.shadowed_by is None]
        status = {"status": "starting" if starting else "degraded" if down else "ok"}
        code = 200 if status["status"] == "ok" else 503
        if token is not None and not presents(request.headers.get("authorization"), token):
            return JSONResponse(status, status_code=code)
        refused = catalog.failures()
        return JSONResponse(
            {
                **status,
                "version": __version__,
                "boxes": {s.name: _health_of(s, refused.get(s.name, [])) for s in states},
                "tools": len(registry.tools) + len(META_TOOLS),  # as tools/list counts them
                "box_tools": len(registry.tools),
            },
            status_code=code,
        )

    return server


def _health_of(state: BoxState, content_errors: list[str]) -> dict[str, Any]:
    """Serving or not, how many errors, and the first of them: why a box does not serve.

    `content_errors`: files and URIs the box declares but may not serve (a URI another box
    owns, for one), each cut to 500 characters.
    """
    entry: dict[str, Any] = {"serving": state.serving, "errors": len(state.errors)}
    if state.errors:
        entry["error"] = str(state.errors[0])[:500]
    if content_errors:
        entry["content_errors"] = [error[:500] for error in content_errors]
    return entry


async def serve(config: ServerConfig, registry: BoxRegistry) -> None:
    from starlette.middleware import Middleware

    from mcp_box_server.server.http import ExplainMissingToken, OriginGuard, request_deadlines
    from mcp_box_server.server.replica import ReplicaSessionIds
    from mcp_box_server.server.result_flow import ResultFlow, lean_sse_events
    from mcp_box_server.server.sessions import SessionLimits

    server = create_server(registry, config)
    if config.transport == "stdio":
        stopping: list[asyncio.Task[None]] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(
                signum, lambda n=signum: stopping.append(asyncio.ensure_future(_stop(registry, n)))
            )
        await server.run_stdio_async(show_banner=False)
        return
    lean_sse_events()
    await server.run_http_async(
        show_banner=False,
        transport=config.transport,
        host=config.host,
        port=config.port,
        host_origin_protection=True,
        allowed_hosts=config.allowed_hosts or None,
        allowed_origins=config.allowed_origins or None,
        middleware=[
            Middleware(OriginGuard, config.host, config.port, config.allowed_hosts, config.allowed_origins),
            Middleware(ExplainMissingToken),
            Middleware(SessionLimits, config.max_sessions, config.session_idle_timeout),
            *([Middleware(ReplicaSessionIds, config.replica_id)] if config.replica_id else []),
            *([Middleware(ResultFlow, registry.results)] if registry.results else []),
        ],
        uvicorn_config={
            "log_config": None,
            "timeout_graceful_shutdown": 3,
            "http": request_deadlines(config.body_timeout),
        },
    )


async def _stop(registry: BoxRegistry, signum: int) -> None:
    """Stop a stdio server on a signal: clean up now, then exit.

    Its stdin reader waits in a thread until the client closes stdin, so cancelling the
    server would leave the lifespan's cleanup (and the process) waiting for it.
    """
    log.info("received %s: stopping", signal.Signals(signum).name)
    await registry.close()
    snapshot.remove_all()
    logging.shutdown()
    os._exit(128 + signum)


def run(config: ServerConfig) -> None:
    """Run a server until interrupted; with a spare core, box zygotes start before FastMCP is imported."""
    from mcp_box_server.server.spec_cache import SpecCache

    registry = BoxRegistry(
        config.roots,
        config.only,
        cache=SpecCache.from_env(),
        max_timeout=config.max_timeout,
        budget=WorkerBudget(config.max_workers, config.worker_idle),
        max_result_mb=config.max_result_mb,
        results=ResultBudget(config.max_result_mb * MB),
    )
    if usable_cpus() > 1:
        registry.prestart()
    # SIGTERM stops the server as Ctrl-C does, so the lifespan's cleanup runs: uvicorn
    # re-raises the signal it caught once it has stopped, under the handler found at start.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(serve(config, registry))
    finally:
        snapshot.remove_all()  # pools remove their own; this catches any a hard stop left behind
