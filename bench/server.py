"""mcp-box's server against a bare FastMCP server exposing the same tools in-process.

    .venv/bin/python bench/server.py            # full run, a few minutes on 2 cores
    .venv/bin/python bench/server.py --quick    # short run, about a minute
    .venv/bin/python bench/server.py --json out.json

Both servers run as their own processes, on 127.0.0.1 only:

- ours:  `python -m mcp_box_server serve` (bundled boxes; tool code in worker
         processes forked from a per-box zygote)
- bare:  `python bench/_bare_server.py`, a FastMCP app that imports the bundled
         boxes' tool modules itself and registers every public function
         (`server.tool(fn, name=f"{box}_{fn.__name__}")`): no isolation.

Measured, side by side:

1. launch to first `tools/list` over stdio: spawn, `initialize`, `tools/list`
   answered with every box tool; median of N fresh processes each, ours and
   bare alternating.
2. call latency over stdio: sequential `tools/call` round trips of cheap tools
   (`math_gcd`, `bio_reverse_complement`) after a warm-up; p50 and p95. Ours also
   runs with its call log line off (`--log-level WARNING`), to show what the line costs.
3. calls/s over streamable HTTP: a fixed number of `tools/call`s at
   concurrency 8 from `mcp` SDK ClientSessions.
4. hot reload: a connected handshake-era client of `mcp-box serve --boxes
   <temp copy of the bio box>`; a new tool module is written, and we time the
   arrival of `notifications/tools/list_changed` and the first `tools/list`
   that holds the new tool. Baseline: `fastmcp run --reload` (a process
   restart) on the bare server over the same copy, timed from the write to the
   first *new* connection whose `tools/list` holds the new tool.

Launch is measured twice for ours: with the spec cache warm (every restart after the
first one: unchanged boxes are listed before their workers are up) and with it off.

Each pair is measured while both servers run (calls, HTTP) or in rotating order
(launches), so load from other processes falls on both alike.

The stdio measurements use a minimal JSON-RPC client (one line per message,
protocol 2025-11-25 handshake), so the figures are the servers' and not a
client library's; the HTTP ones use the `mcp` SDK client for both servers.
Every process started here is killed, with its process group and every
descendant's group, in a `finally`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BARE_SERVER = REPO / "bench" / "_bare_server.py"
BUNDLED = REPO / "boxes"
PROTOCOL = "2025-11-25"
HOST = "127.0.0.1"

OURS_STDIO = [PYTHON, "-m", "mcp_box_server", "serve", "--no-reload"]
# Launch is measured twice for ours: with the spec cache warm (any restart after the
# first: tools are listed before the workers are up) and with it off (a first start).
LAUNCH_VARIANTS = {
    "ours": ("spec cache warm", None),
    "ours-cold": ("no spec cache (first start)", {"MCP_BOX_CACHE": "off"}),
}
BARE_STDIO = [PYTHON, str(BARE_SERVER)]

RELOAD_BOXES = ("tiny", "bio")
CHEAP_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("math_gcd", {"numbers": [1071, 462]}),
    ("bio_reverse_complement", {"sequence": "ATGCGTACGTTAGC"}),
]


@dataclass(slots=True)
class Settings:
    launches: int
    calls: int
    warmup: int
    http_calls: int
    concurrency: int
    reload_edits: int
    restart_edits: int


FULL = Settings(
    launches=5, calls=300, warmup=30, http_calls=800, concurrency=8, reload_edits=10, restart_edits=3
)
QUICK = Settings(
    launches=3, calls=100, warmup=10, http_calls=300, concurrency=8, reload_edits=4, restart_edits=2
)


# ---------------------------------------------------------------- processes


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (zygotes and workers run in their own sessions)."""
    children = _children_map()
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


class Server:
    """A server process in its own session; stdout piped for stdio, stderr to a log file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log
        self.env = {**os.environ, **(env or {})}
        self.process: asyncio.subprocess.Process | None = None
        self._seen: set[int] = set()

    async def start(self, stdio: bool) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if stdio else asyncio.subprocess.DEVNULL,
                stderr=log,
                env=self.env,
                cwd=str(REPO),
                start_new_session=True,
                limit=64 * 1024 * 1024,
            )
        finally:
            log.close()

    def remember_descendants(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self._seen.update(descendants(self.process.pid))

    async def close(self) -> None:
        """Close stdin, give it a moment, then SIGKILL its group and every descendant's."""
        process = self.process
        if process is None:
            return
        self.remember_descendants()
        if process.stdin is not None and process.returncode is None:
            with contextlib.suppress(Exception):
                process.stdin.close()
        if process.returncode is None:
            _kill_group(process.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 3)
        _kill_group(process.pid)
        for pid in self._seen:
            _kill_group(pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 3)


class RawClient:
    """A minimal JSON-RPC-over-stdio MCP client: one line per message, no validation."""

    def __init__(self, server: Server) -> None:
        assert server.process is not None and server.process.stdin and server.process.stdout
        self._stdin = server.process.stdin
        self._stdout = server.process.stdout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self.notifications: list[tuple[float, str]] = []
        self.notified = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while line := await self._stdout.readline():
                now = time.perf_counter()
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "id" in message and message["id"] in self._pending:
                    future = self._pending.pop(message["id"])
                    if not future.done():
                        future.set_result((now, message))
                elif "method" in message:
                    self.notifications.append((now, message["method"]))
                    self.notified.set()
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("server closed stdout"))

    async def request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        _, message = await self.timed_request(method, params, timeout)
        return message

    async def timed_request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 60
    ) -> tuple[float, dict[str, Any]]:
        """(perf_counter when the answer arrived, the answer); raises on a JSON-RPC error."""
        request_id = next(self._ids)
        future: asyncio.Future[tuple[float, dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}
        self._stdin.write(json.dumps(payload).encode() + b"\n")
        await self._stdin.drain()
        arrived, message = await asyncio.wait_for(future, timeout)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return arrived, message["result"]

    async def notify(self, method: str) -> None:
        self._stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        await self._stdin.drain()

    async def handshake(self, timeout: float = 120) -> None:
        await self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
            timeout,
        )
        await self.notify("notifications/initialized")

    async def tool_names(self) -> set[str]:
        result = await self.request("tools/list")
        return {tool["name"] for tool in result["tools"]}

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(f"{name} failed: {result['content']}")
        return result

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@contextlib.asynccontextmanager
async def stdio_server(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[Server, RawClient]]:
    server = Server(argv, log, env)
    client: RawClient | None = None
    try:
        await server.start(stdio=True)
        client = RawClient(server)
        yield server, client
    finally:
        if client is not None:
            await client.close()
        await server.close()


@contextlib.asynccontextmanager
async def http_server(
    argv: list[str], port: int, log: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Server]:
    server = Server(argv, log, env)
    try:
        await server.start(stdio=False)
        await wait_for_port(port, server, 120)
        yield server
    finally:
        await server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


async def wait_for_port(port: int, server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.returncode is not None:
            raise RuntimeError(f"{server.argv} exited early; see {server.log_path}")
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout:g} s")


# ---------------------------------------------------------------- measures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def launch_once(
    argv: list[str], log: Path, expect: set[str], env: dict[str, str] | None = None
) -> float:
    """Seconds from spawn to a `tools/list` answer holding every tool in `expect`."""
    started = time.perf_counter()
    async with stdio_server(argv, log, env) as (_, client):
        await client.handshake()
        arrived, result = await client.timed_request("tools/list")
        names = {tool["name"] for tool in result["tools"]}
        if not expect <= names:
            raise RuntimeError(f"{argv[-1]}: first tools/list lacks {sorted(expect - names)[:5]}")
        return arrived - started


async def bench_launch(
    settings: Settings, logs: Path, expect: set[str], say: Callable[[str], None]
) -> dict[str, list[float]]:
    cache = logs.parent / "spec-cache"
    variants: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "ours": (OURS_STDIO, {"MCP_BOX_CACHE": str(cache)}),
        "ours-cold": (OURS_STDIO, LAUNCH_VARIANTS["ours-cold"][1]),
        "bare": (BARE_STDIO, None),
    }
    times: dict[str, list[float]] = {label: [] for label in variants}
    say(f"launch: warm-up, then {settings.launches} fresh launches each, in rotating order")
    for label, (argv, env) in variants.items():  # fills the page cache (and the spec cache)
        await launch_once(argv, logs / f"launch-{label}.log", expect, env)
    labels = list(variants)
    for i in range(settings.launches):
        for label in labels[i % len(labels) :] + labels[: i % len(labels)]:
            argv, env = variants[label]
            times[label].append(await launch_once(argv, logs / f"launch-{label}.log", expect, env))
    return times


async def bench_calls(
    logs: Path, settings: Settings
) -> tuple[dict[str, dict[str, list[float]]], dict[str, float]]:
    """Sequential round trips per cheap tool, seconds each; the servers interleaved call by call.
    Also the CPU seconds each server process spent per measured call.

    Ours runs twice: as shipped (a call log line per call at INFO) and with the line off
    (`--log-level WARNING`; metrics still counted), so the line's cost is measured too. All
    run at once and take turns in rotating order, so load from anything else on the
    machine falls on each alike. CPU time moves less than latency with that load: a busy
    machine delays a call more than it makes it cost.
    """
    argvs = {"ours": OURS_STDIO, "ours-quiet": [*OURS_STDIO, "--log-level", "WARNING"], "bare": BARE_STDIO}
    out: dict[str, dict[str, list[float]]] = {label: {} for label in argvs}
    cpu: dict[str, float] = {label: 0.0 for label in argvs}
    async with contextlib.AsyncExitStack() as stack:
        clients, pids = {}, {}
        for label, argv in argvs.items():
            server, clients[label] = await stack.enter_async_context(
                stdio_server(argv, logs / f"calls-{label}.log")
            )
            assert server.process is not None
            pids[label] = server.process.pid
        for client in clients.values():
            await client.handshake()
            await client.tool_names()
        labels = list(clients)
        for name, arguments in CHEAP_CALLS:
            for client in clients.values():
                for _ in range(settings.warmup):
                    await client.call(name, arguments)
            samples: dict[str, list[float]] = {label: [] for label in labels}
            before = {label: cpu_seconds(pid) for label, pid in pids.items()}
            for i in range(settings.calls):
                turn = i % len(labels)
                for label in labels[turn:] + labels[:turn]:
                    started = time.perf_counter()
                    await clients[label].call(name, arguments)
                    samples[label].append(time.perf_counter() - started)
            for label in labels:
                out[label][name] = samples[label]
                cpu[label] += cpu_seconds(pids[label]) - before[label]
    calls = settings.calls * len(CHEAP_CALLS)
    return out, {label: seconds / calls for label, seconds in cpu.items()}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def http_sessions(url: str, count: int) -> AsyncIterator[list[Any]]:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with contextlib.AsyncExitStack() as stack:
        sessions = []
        for _ in range(count):
            read, write = await stack.enter_async_context(streamable_http_client(url))
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            sessions.append(session)
        yield sessions


async def bench_http(logs: Path, settings: Settings, rounds: int = 4) -> dict[str, float]:
    """calls/s over streamable HTTP at `settings.concurrency`, from 2 SDK sessions per server.

    Both servers run at once; the calls go in `rounds` blocks per server in
    ABBA order, and calls/s is the total calls over the total time per server.
    """
    ours_port, bare_port = free_port(), free_port()
    ours_argv = [*OURS_STDIO, "--transport", "http", "--port", str(ours_port), "--log-level", "WARNING"]
    bare_argv = [*BARE_STDIO, "--transport", "http", "--port", str(bare_port)]
    lanes = settings.concurrency
    per_lane = max(1, settings.http_calls // (lanes * rounds))
    elapsed = {"ours": 0.0, "bare": 0.0}
    async with (
        http_server(ours_argv, ours_port, logs / "http-ours.log"),
        http_server(bare_argv, bare_port, logs / "http-bare.log"),
        http_sessions(f"http://{HOST}:{ours_port}/mcp", 2) as ours,
        http_sessions(f"http://{HOST}:{bare_port}/mcp", 2) as bare,
    ):
        sessions = {"ours": ours, "bare": bare}

        async def lane(label: str, index: int, count: int) -> None:
            session = sessions[label][index % 2]
            for i in range(count):
                name, arguments = CHEAP_CALLS[(index + i) % len(CHEAP_CALLS)]
                result = await session.call_tool(name, arguments)
                if result.is_error:
                    raise RuntimeError(f"{name} failed over HTTP: {result.content}")

        for label in sessions:  # warm-up: workers, connections
            await asyncio.gather(*(lane(label, i, 5) for i in range(lanes)))
        for r in range(rounds):
            for label in ("ours", "bare") if r % 2 == 0 else ("bare", "ours"):
                started = time.perf_counter()
                await asyncio.gather(*(lane(label, i, per_lane) for i in range(lanes)))
                elapsed[label] += time.perf_counter() - started
    total = per_lane * lanes * rounds
    return {label: total / seconds for label, seconds in elapsed.items()}


def tool_module(index: int) -> str:
    return (
        f'"""Added by bench/server.py (edit {index})."""\n\n\n'
        f"def added_{index}(x: int) -> int:\n"
        f'    """Return x plus {index}.\n\n    Args:\n        x: any whole number.\n    """\n'
        f"    return x + {index}\n"
    )


@dataclass(slots=True)
class ReloadTimes:
    notified: list[float] = field(default_factory=list)
    listed: list[float] = field(default_factory=list)
    failures: int = 0


TINY_TOML = 'name = "tiny"\nversion = "0.1.0"\ndescription = "One pure-Python tool."\ntrust = "trusted"\n'
TINY_TOOL = (
    'def double(x: int) -> int:\n    """Twice x.\n\n    Args:\n        x: any whole number.\n    """\n'
    "    return 2 * x\n"
)


def make_box(kind: str, where: Path) -> Path:
    """A fresh copy of the box a reload run edits: `tiny` (no dependencies) or `bio` (bundled)."""
    box = where / kind
    if kind == "bio":
        shutil.copytree(BUNDLED / "bio", box, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        (box / "tools").mkdir(parents=True)
        (box / "box.toml").write_text(TINY_TOML)
        (box / "tools" / "base.py").write_text(TINY_TOOL)
    return box


async def bench_reload_ours(box: Path, log: Path, edits: int, say: Callable[[str], None]) -> ReloadTimes:
    """File written → list_changed at a connected client, and → tools/list holding the new tool."""
    times = ReloadTimes()
    argv = [PYTHON, "-m", "mcp_box_server", "serve", "--boxes", str(box), "--no-bundled"]
    async with stdio_server(argv, log) as (_, client):
        await client.handshake()
        await client.tool_names()
        await asyncio.sleep(1.0)  # let the watcher settle
        for i in range(edits):
            client.notified.clear()
            client.notifications.clear()
            target = box / "tools" / f"bench_added_{i}.py"
            new_tool = f"{box.name}_added_{i}"
            written = time.perf_counter()
            target.write_text(tool_module(i))
            try:
                await asyncio.wait_for(client.notified.wait(), 10)
                arrived = next(t for t, m in client.notifications if m == "notifications/tools/list_changed")
                times.notified.append(arrived - written)
                deadline = time.perf_counter() + 10
                while True:
                    listed, result = await client.timed_request("tools/list")
                    if new_tool in {tool["name"] for tool in result["tools"]}:
                        times.listed.append(listed - written)
                        break
                    if listed > deadline:
                        raise TimeoutError("new tool never listed")
                    await asyncio.sleep(0.005)
                reply = await client.call(new_tool, {"x": 1})
                if str(1 + i) not in json.dumps(reply):
                    raise RuntimeError(f"{new_tool} answered {reply}")
            except (TimeoutError, StopIteration, RuntimeError) as exc:
                times.failures += 1
                say(f"  reload {box.name} edit {i}: {exc!r}")
            await asyncio.sleep(0.4)  # the old version drains and closes
    return times


async def list_over_new_connection(url: str) -> set[str]:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        result = await session.list_tools()
        return {tool.name for tool in result.tools}


async def bench_reload_restart(box: Path, log: Path, edits: int, say: Callable[[str], None]) -> ReloadTimes:
    """`fastmcp run --reload` on the bare server: file written → a new connection lists the tool."""
    times = ReloadTimes()
    port = free_port()
    url = f"http://{HOST}:{port}/mcp"
    fastmcp = str(Path(PYTHON).parent / "fastmcp")
    argv = [
        fastmcp,
        "run",
        f"{BARE_SERVER}:server",
        "--transport",
        "http",
        "--host",
        HOST,
        "--port",
        str(port),
        "--reload",
        "--reload-dir",
        str(box),
        "--no-banner",
        "--log-level",
        "WARNING",
    ]
    env = {
        "BENCH_BARE_BOXES": str(box),
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    async with http_server(argv, port, log, env) as server:
        await asyncio.sleep(1.0)
        for i in range(edits):
            new_tool = f"{box.name}_added_{i}"
            target = box / "tools" / f"bench_added_{i}.py"
            assert server.process is not None
            old_children = set(descendants(server.process.pid))
            written = time.perf_counter()
            target.write_text(tool_module(i))
            deadline = written + 60
            while True:
                server.remember_descendants()
                names: set[str] = set()
                # connect only once the old server process is gone: polling it with full MCP
                # sessions would take CPU from the restart on a 2-core machine
                if not any(map(alive, old_children)):
                    try:
                        names = await asyncio.wait_for(list_over_new_connection(url), 5)
                    except Exception:  # refused or reset while it restarts
                        names = set()
                if new_tool in names:
                    times.listed.append(time.perf_counter() - written)
                    break
                if time.perf_counter() > deadline:
                    times.failures += 1
                    say(f"  restart {box.name} edit {i}: new tool not listed after 60 s")
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)
    return times


# ---------------------------------------------------------------- report


@dataclass(slots=True)
class Row:
    measure: str
    ours: float | None
    bare: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.bare in (None, 0):
            return None
        return self.ours / self.bare


def build_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    launch = results.get("launch")
    if launch:
        bare = statistics.median(launch["bare"])
        for label, (what, _) in LAUNCH_VARIANTS.items():
            ours = statistics.median(launch[label])
            rows.append(
                Row(
                    f"launch → first tools/list, stdio, {what} (median)",
                    ours * 1000,
                    bare * 1000,
                    "ms",
                    "≤ 1.0x bare",
                    ours <= bare,
                )
            )
    calls = results.get("calls")
    if calls:
        for name, _ in CHEAP_CALLS:
            ours, bare = calls["ours"][name], calls["bare"][name]
            p50o, p50b = pct(ours, 50) * 1000, pct(bare, 50) * 1000
            rows.append(Row(f"{name} p50, stdio", p50o, p50b, "ms", "≤ 1.3x bare", p50o <= 1.3 * p50b))
            rows.append(Row(f"{name} p95, stdio", pct(ours, 95) * 1000, pct(bare, 95) * 1000, "ms"))
            quiet = pct(calls["ours-quiet"][name], 50) * 1000
            rows.append(Row(f"{name} p50, stdio, call log line off", quiet, p50b, "ms"))
        cpu = results["calls_cpu"]
        what = "server process CPU per call, stdio"
        note = "ours: its workers' CPU not counted"
        rows.append(Row(what, cpu["ours"] * 1000, cpu["bare"] * 1000, "ms", note=note))
        quiet = cpu["ours-quiet"] * 1000
        rows.append(Row(f"{what}, call log line off", quiet, cpu["bare"] * 1000, "ms", note=note))
    http = results.get("http")
    if http:
        rows.append(
            Row(
                "calls/s, streamable HTTP, concurrency 8",
                http["ours"],
                http["bare"],
                "calls/s",
                note="higher is better",
            )
        )
    for kind, reload in (results.get("reload") or {}).items():
        ours, restart = reload["ours"], reload["restart"]
        what = "1 module, no deps" if kind == "tiny" else "copy of bundled bio, 7 modules"
        if ours["notified"]:
            p50 = pct(ours["notified"], 50) * 1000
            rows.append(
                Row(
                    f"reload {kind} box: write → list_changed (p50)",
                    p50,
                    None,
                    "ms",
                    "≤ 150 ms",
                    p50 <= 150,
                    f"{what}; max {max(ours['notified']) * 1000:.0f} ms, {ours['failures']} failed",
                )
            )
        if ours["listed"]:
            p50 = pct(ours["listed"], 50) * 1000
            base = pct(restart["listed"], 50) * 1000 if restart["listed"] else None
            rows.append(
                Row(
                    f"reload {kind} box: write → new tool listed (p50)",
                    p50,
                    base,
                    "ms",
                    "≤ 150 ms",
                    p50 <= 150,
                    f"bare = fastmcp run --reload, new connection; {restart['failures']} failed",
                )
            )
    return rows


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "calls/s":
        return f"{value:,.0f}"
    if value < 10:  # per-call figures: their differences are tenths of a millisecond
        return f"{value:.2f}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def print_table(rows: list[Row], header: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=header)
    for column in ("measure", "ours", "bare", "ratio", "target", "met"):
        table.add_column(column, justify="left" if column in ("measure", "target") else "right")
    for row in rows:
        met = "" if row.met is None else ("[green]met[/]" if row.met else "[red]NOT met[/]")
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        table.add_row(
            f"{row.measure}" + (f"\n[dim]{row.note}[/]" if row.note else ""),
            f"{fmt(row.ours, row.unit)} {row.unit}",
            f"{fmt(row.bare, row.unit)} {row.unit}" if row.bare is not None else "—",
            ratio,
            row.target,
            met,
        )
    Console(width=130).print(table)


# ---------------------------------------------------------------- main


async def main(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else FULL
    if args.calls is not None:  # on a busy machine, more calls steady the medians
        settings = replace(settings, calls=args.calls)
    wanted = set(args.only or ("launch", "calls", "http", "reload"))
    scratch = Path(tempfile.mkdtemp(prefix="mcp-box-bench-"))
    logs = scratch / "logs"
    logs.mkdir()

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    results: dict[str, Any] = {}
    started = time.perf_counter()
    load_before = os.getloadavg()[0]  # other jobs' load shows in every figure: the header says how much
    try:
        # what the bare server lists is what ours must list too, from its very first tools/list
        async with stdio_server(BARE_STDIO, logs / "probe.log") as (_, client):
            await client.handshake()
            expect = await client.tool_names()
        say(f"bare server lists {len(expect)} tools; ours must list them all on its first tools/list")

        if "launch" in wanted:
            results["launch"] = await bench_launch(settings, logs, expect, say)
        if "calls" in wanted:
            say(f"calls: {settings.calls} sequential calls per tool over stdio, {settings.warmup} warm-up")
            results["calls"], results["calls_cpu"] = await bench_calls(logs, settings)
        if "http" in wanted:
            say(f"http: {settings.http_calls} calls at concurrency {settings.concurrency}")
            results["http"] = await bench_http(logs, settings)
        if "reload" in wanted:
            results["reload"] = {}
            for kind in RELOAD_BOXES:
                say(
                    f"reload ({kind} box): {settings.reload_edits} edits (ours), "
                    f"{settings.restart_edits} (fastmcp run --reload)"
                )
                ours = await bench_reload_ours(
                    make_box(kind, scratch / "ours"), logs / f"reload-{kind}.log", settings.reload_edits, say
                )
                restart = await bench_reload_restart(
                    make_box(kind, scratch / "restart"),
                    logs / f"restart-{kind}.log",
                    settings.restart_edits,
                    say,
                )
                results["reload"][kind] = {"ours": asdict(ours), "restart": asdict(restart)}
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            say(f"logs kept in {logs}")

    elapsed = time.perf_counter() - started
    header = (
        f"mcp-box server vs bare FastMCP — {datetime.date.today()} — {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()} — "
        f"{'quick' if args.quick else 'full'} run, {elapsed:.0f} s — "
        f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    rows = build_rows(results)
    print_table(rows, header)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"header": header, "rows": [asdict(r) | {"ratio": r.ratio} for r in rows], "raw": results},
                indent=1,
            )
        )
    return 0 if all(row.met is not False for row in rows) else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer launches, calls and edits (about a minute)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("launch", "calls", "http", "reload"),
        help="run only this part (repeatable)",
    )
    parser.add_argument(
        "--calls", type=int, metavar="N", help="sequential calls per tool and server (full 300, quick 100)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write rows and raw samples as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder with server logs")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
