"""What happened: one log line per tool call, and Prometheus metrics at `/metrics`.

`CallLog` is FastMCP middleware around every `tools/call`: it times the call, reads the
runtime's note of it (queue wait, kind of failure; see `runtime/call_note.py`) and writes
one INFO line to stderr with the session, tool, duration, outcome and sizes. Arguments
never reach an INFO line: they may hold a user's data; DEBUG shows their start.

`Metrics` owns a private `prometheus_client` registry (one per server, so two servers in
one process never share counts): calls and errors counted as they happen, latency and
queue wait as histograms, and, read from the box registry at each scrape, workers by
state, calls queued, boxes serving and reloads. `/metrics` is behind the bearer token
whenever the server has one: counts and tool names are not for strangers.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import mcp_types as mt
from fastmcp.server.dependencies import get_http_request
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import InputRequiredToolResult, ToolResult
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_box_server.runtime import call_note
from mcp_box_server.server.meta_tools import META_TOOLS
from mcp_box_server.server.registry import BoxRegistry

log = logging.getLogger("mcp_box.calls")

UNKNOWN_TOOL = "(unknown)"  # the label of a name no box serves: clients cannot mint label values
DEBUG_ARGUMENTS = 500  # characters of the arguments a DEBUG line shows
# Seconds: tool calls run from a millisecond (arithmetic) to the 30 s default timeout and past it.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
WAIT_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60)


class _Series(NamedTuple):
    """The labelled series one call of a (tool, outcome, kind) updates."""

    calls: Counter
    errors: Counter | None
    latency: Histogram
    queue_wait: Histogram


class Metrics:
    """The server's metrics registry, the call log middleware, and the `/metrics` endpoint."""

    def __init__(self, registry: BoxRegistry, token: str | None = None) -> None:
        self.boxes = registry
        self._token = token.encode() if token else None
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "mcp_box_tool_calls",
            "Tool calls answered, by tool and outcome (ok, error, input_required).",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mcp_box_tool_errors",
            "Tool calls that failed, by tool and kind (tool_failed, tool_timeout, invalid_arguments, ...).",
            ["tool", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mcp_box_tool_call_duration_seconds",
            "Time from a tools/call reaching the server to its answer, queue wait included.",
            ["tool"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "mcp_box_queue_wait_seconds",
            "Time a tool call waited for a free worker of its box.",
            ["tool"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(BoxCollector(registry))
        # (label, outcome, kind) -> the labelled series one call updates: `labels()` takes a
        # lock and builds a key tuple each time, and a call would do it four times.
        self._series: dict[tuple[str, str, str | None], _Series] = {}

    def call_log(self) -> CallLog:
        return CallLog(self)

    def label(self, tool: str) -> str:
        """`tool` when a box or the server serves it; otherwise one shared label."""
        return tool if tool in self.boxes.tools or tool in META_TOOLS else UNKNOWN_TOOL

    def observe(self, tool: str, outcome: str, kind: str | None, seconds: float, waited: float) -> None:
        label = self.label(tool)
        series = self._series.get((label, outcome, kind))
        if series is None:
            series = self._series[label, outcome, kind] = _Series(
                self.calls.labels(label, outcome),
                self.errors.labels(label, kind) if kind is not None else None,
                self.latency.labels(label),
                self.queue_wait.labels(label),
            )
        series.calls.inc()
        if series.errors is not None:
            series.errors.inc()
        series.latency.observe(seconds)
        series.queue_wait.observe(waited)

    async def scrape(self, request: Request) -> Response:
        """GET /metrics: the Prometheus text format; 401 without the server's token."""
        if self._token is not None and not self._authorized(request):
            return JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "/metrics needs 'Authorization: Bearer <token>'",
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token or b"")


class CallLog(Middleware):
    """Times, logs and counts every tools/call; the call's own result passes through untouched.

    Its work comes after the call, and the log line's (sizes, session) only when INFO is on.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if log.isEnabledFor(logging.DEBUG):
            arguments = json.dumps(context.message.arguments or {}, default=str)
            log.debug("call %r arguments: %.*s", context.message.name, DEBUG_ARGUMENTS, arguments)
        started = time.perf_counter()
        with call_note.noting() as note:
            try:
                result = await call_next(context)
            except Exception as error:  # unknown tool, bad request: FastMCP answers with a protocol error
                self._record(context, "error", call_note.kind_of(error), started, note, None)
                raise
        if isinstance(result, InputRequiredToolResult):
            outcome, kind = "input_required", None
        elif not isinstance(result, ToolResult):  # an extension's answer (an MCP task): no result yet
            self._record(context, "task", None, started, note, None)
            return result
        elif result.is_error:
            outcome, kind = "error", note.error or "error_result"
        else:
            outcome, kind = "ok", None
        self._record(context, outcome, kind, started, note, result)
        return result

    def _record(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        outcome: str,
        kind: str | None,
        started: float,
        note: call_note.CallNote,
        result: ToolResult | None,
    ) -> None:
        seconds = time.perf_counter() - started
        tool = context.message.name
        self.metrics.observe(tool, outcome, kind, seconds, note.waited)
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            "call session=%s tool=%s outcome=%s%s ms=%.1f waited_ms=%.1f request_bytes=%d response_bytes=%d",
            _session(),
            _printable(tool),
            outcome,
            f" error={kind}" if kind else "",
            seconds * 1000,
            note.waited * 1000,
            _size(context.message.arguments or {}),
            _result_size(result) if result is not None else 0,
        )


class BoxCollector(Collector):
    """Read at each scrape from the box registry: workers, queues, serving boxes, reloads."""

    def __init__(self, registry: BoxRegistry) -> None:
        self.boxes = registry

    def collect(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily(
            "mcp_box_workers",
            "Worker processes of the serving version of each box, by state.",
            labels=["box", "state"],
        )
        queued = GaugeMetricFamily("mcp_box_calls_queued", "Calls waiting for a free worker.", labels=["box"])
        serving = GaugeMetricFamily(
            "mcp_box_box_serving", "1 when the box serves tools, else 0.", labels=["box"]
        )
        reloads = CounterMetricFamily(
            "mcp_box_reloads", "New versions of each box swapped in since the server started.", labels=["box"]
        )
        for state in self.boxes.states:
            serving.add_metric([state.name], 1.0 if state.serving else 0.0)
            reloads.add_metric([state.name], float(state.reloads))
            if state.pool is None:
                continue
            counts = state.pool.worker_counts()
            queued.add_metric([state.name], float(counts.pop("queued")))
            for name, count in counts.items():
                workers.add_metric([state.name, name], float(count))
        yield from (workers, queued, serving, reloads)

    def describe(self) -> Iterator[Metric]:
        return iter(())  # names are known only at a scrape; nothing to check them against at register time


def _session() -> str:
    """The HTTP session id the client negotiated, or "-" (stdio, sessionless requests).

    One header read, not `get_http_headers()`: that copies and filters every header.
    """
    try:
        session = get_http_request().headers.get("mcp-session-id", "")
    except RuntimeError:  # no HTTP request: stdio
        return "-"
    return _printable(session) if session else "-"


def _printable(text: str) -> str:
    """A client's string, safe on one log line: no control characters, at most 80 characters."""
    text = text[:80]
    if text.isprintable() and " " not in text:  # the usual name, checked in one pass (the only
        return text  # whitespace `isprintable` lets through is the space)
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in text)


# Built once: `json.dumps` with options builds an encoder on every call.
_ENCODE = json.JSONEncoder(default=str, ensure_ascii=False).encode


def _size(value: Any) -> int:
    """Bytes of `value` as JSON (UTF-8)."""
    text = _ENCODE(value)
    return len(text) if text.isascii() else len(text.encode())


def _result_size(result: ToolResult) -> int:
    """Bytes of the result's content (its text, or base64 data) and structured content.

    Content is counted without a serialized copy (a result may be tens of MB, held once);
    structured content is serialized to count it, only when the INFO line is written.
    """
    size = sum(_block_size(block) for block in result.content)
    return size + (_size(result.structured_content) if result.structured_content is not None else 0)


def _block_size(block: Any) -> int:
    for field in ("text", "data", "blob"):
        value = getattr(block, field, None)
        if isinstance(value, str):
            return len(value) if value.isascii() else len(value.encode())
    resource = getattr(block, "resource", None)
    return _block_size(resource) if resource is not None else len(block.model_dump_json(exclude_none=True))
