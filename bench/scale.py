"""Costs that grow with the work: memory per box, tail latency under load, queueing, replicas.

    .venv/bin/python bench/scale.py            # full run, about 6 minutes on 2 cores
    .venv/bin/python bench/scale.py --quick    # about 2 minutes
    .venv/bin/python bench/scale.py --json out.json

Ours is `python -m mcp_box_server serve --transport http`, bare is `bench/_bare_server.py` (a
FastMCP app importing the same tool modules in-process); both run at once on 127.0.0.1.

1. PSS (proportional set size, summed over the server and every descendant: zygotes,
   workers) with the bundled boxes and with 50 synthetic stdlib boxes of 20 tools each:
   after start, after concurrent calls, and after the idle time (`--worker-idle`), with the
   number of processes.
2. Tail latency: N SDK clients over streamable HTTP calling a 13-tool mix of the bundled
   boxes (from their examples.jsonl) for a fixed time; ours and bare take turns (ABBA).
3. Queue wait per tool, ours only: the same mix at the same concurrency through a
   `BoxRegistry` in this process, timing how long each call waits for a worker.
4. Replicas: calls/s of an I/O-bound tool (a 100 ms sleep) through nginx in front of one
   and of two replicas, at concurrency 32.
5. Launch to the first `tools/list` over stdio with every process pinned to one core
   (`taskset -c 0`), spec cache warm; median of fresh launches, ours and bare alternating.
6. What idle retirement costs: a call to a box whose workers have all retired (a fork and
   the box's import) against one to a warm worker, through a `BoxRegistry` in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import BARE_STDIO, HOST, OURS_STDIO, REPO, descendants, free_port, http_server, launch_once, pct

OURS = [sys.executable, "-m", "mcp_box_server", "serve", "--no-reload", "--transport", "http"]
MIX = [
    "math_gcd",
    "math_is_prime",
    "math_factorial",
    "math_simplify",
    "math_derivative",
    "math_integral",
    "math_solve_24",
    "math_solve_equation",
    "bio_reverse_complement",
    "bio_translate",
    "bio_gc_content",
    "bio_melting_temp",
    "bio_align",
]
SYNTHETIC_TOOL = '''

def tool_{index}(text: str, times: int = 2) -> dict:
    """Tool {index}: repeat `text` and count its letters.

    Args:
        text: any text.
        times: how often to repeat it.
    """
    repeated = text * times
    return {{"length": len(repeated), "vowels": sum(repeated.count(v) for v in "aeiou")}}
'''


@dataclass(slots=True)
class Settings:
    stress_seconds: float
    clients: int
    idle: float
    replica_calls: int
    launches: int


FULL = Settings(stress_seconds=30, clients=32, idle=10, replica_calls=600, launches=7)
QUICK = Settings(stress_seconds=8, clients=32, idle=5, replica_calls=200, launches=3)


def mix_arguments() -> dict[str, dict[str, Any]]:
    """The first example case of each tool in MIX (examples.jsonl holds valid arguments)."""
    found: dict[str, dict[str, Any]] = {}
    for box in ("math", "bio"):
        for line in (REPO / "boxes" / box / "examples.jsonl").read_text().splitlines():
            case = json.loads(line)
            if "expect_error" not in case:
                found.setdefault(f"{box}_{case['tool']}", case["arguments"])
    return {name: found[name] for name in MIX}


def pss(pid: int) -> tuple[float, int]:
    """(PSS in MB, process count) of `pid` and every descendant."""
    total, count = 0, 0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    count += 1
    return total / 1024, count


def synthetic_boxes(root: Path, boxes: int = 50, tools: int = 20) -> Path:
    for b in range(boxes):
        folder = root / f"syn{b}"
        (folder / "tools").mkdir(parents=True)
        (folder / "box.toml").write_text(f'name = "syn{b}"\nversion = "1.0.0"\n')
        source = "".join(SYNTHETIC_TOOL.format(index=t) for t in range(tools))
        (folder / "tools" / "tools.py").write_text(source)
    return root


@contextlib.asynccontextmanager
async def session(url: str) -> AsyncIterator[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


@contextlib.asynccontextmanager
async def both(boxes: Path | None, logs: Path, idle: float) -> AsyncIterator[dict[str, tuple[int, int]]]:
    """Ours and bare over HTTP on `boxes` (None: the bundled ones); yields {label: (pid, port)}."""
    ours_port, bare_port = free_port(), free_port()
    ours = [*OURS, "--port", str(ours_port), "--log-level", "WARNING", "--worker-idle", str(idle)]
    env: dict[str, str] = {"MCP_BOX_CACHE": "off"}
    bare_env = dict(env)
    if boxes is not None:
        ours += ["--boxes", str(boxes), "--no-bundled"]
        bare_env["BENCH_BARE_BOXES"] = str(boxes)
    bare = [*BARE_STDIO, "--transport", "http", "--port", str(bare_port)]
    async with (
        http_server(ours, ours_port, logs / "ours.log", env) as ours_server,
        http_server(bare, bare_port, logs / "bare.log", bare_env) as bare_server,
    ):
        await healthy(ours_port)
        assert ours_server.process is not None and bare_server.process is not None
        yield {"ours": (ours_server.process.pid, ours_port), "bare": (bare_server.process.pid, bare_port)}


async def healthy(port: int, timeout: float = 300) -> None:
    """Wait until ours says every box has loaded."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            response = await asyncio.to_thread(
                urllib.request.urlopen, f"http://{HOST}:{port}/health", None, 2
            )
            if response.status == 200:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("server not healthy")


async def calls(url: str, plan: list[tuple[str, dict[str, Any]]], concurrency: int) -> int:
    """Run `plan` over `concurrency` SDK sessions; the number of error results."""
    errors = 0
    queue = list(reversed(plan))
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(session(url)) for _ in range(concurrency)]

        async def lane(client: Any) -> None:
            nonlocal errors
            while queue:
                name, arguments = queue.pop()
                errors += (await client.call_tool(name, arguments)).is_error

        await asyncio.gather(*(lane(client) for client in sessions))
    return errors


async def bench_memory(
    label: str, boxes: Path | None, plan: list, concurrency: int, logs: Path, idle: float
) -> dict:
    """PSS and processes of both servers: after start, after `plan` at `concurrency`, after idle."""
    out: dict[str, dict[str, Any]] = {}
    async with both(boxes, logs, idle) as servers:
        for _, port in servers.values():  # one listing each: both have imported everything
            async with session(f"http://{HOST}:{port}/mcp") as client:
                await client.list_tools()
        await asyncio.sleep(1)
        for name, (pid, _) in servers.items():
            out[name] = {"start": pss(pid)}
        for name, (pid, port) in servers.items():
            started = time.perf_counter()
            errors = await calls(f"http://{HOST}:{port}/mcp", plan, concurrency)
            out[name] |= {
                "loaded": pss(pid),
                "errors": errors,
                "calls_per_s": len(plan) / (time.perf_counter() - started),
            }
        await asyncio.sleep(idle + 3)
        for name, (pid, _) in servers.items():
            out[name]["idle"] = pss(pid)
    print(f"  {label}: {json.dumps(out)}", flush=True)
    return out


async def bench_stress(settings: Settings, logs: Path) -> dict[str, Any]:
    """Per-call latency of the mix from `clients` sessions, ours and bare in ABBA turns."""
    arguments = mix_arguments()
    latencies: dict[str, dict[str, list[float]]] = {"ours": {}, "bare": {}}
    errors = {"ours": 0, "bare": 0}
    async with both(None, logs, 60) as servers:
        urls = {name: f"http://{HOST}:{port}/mcp" for name, (_, port) in servers.items()}
        async with contextlib.AsyncExitStack() as stack:
            sessions = {
                name: [await stack.enter_async_context(session(url)) for _ in range(settings.clients)]
                for name, url in urls.items()
            }

            async def lane(name: str, index: int, until: float, record: bool) -> None:
                client = sessions[name][index]
                step = index
                while time.monotonic() < until:
                    tool = MIX[step % len(MIX)]
                    step += 1
                    started = time.perf_counter()
                    result = await client.call_tool(tool, arguments[tool])
                    if record:
                        latencies[name].setdefault(tool, []).append(time.perf_counter() - started)
                        errors[name] += result.is_error

            for name in sessions:  # warm-up: workers up to their caps, connections open
                await asyncio.gather(
                    *(lane(name, i, time.monotonic() + 3, False) for i in range(settings.clients))
                )
            for turn in ("ours", "bare", "bare", "ours"):
                until = time.monotonic() + settings.stress_seconds / 2
                await asyncio.gather(*(lane(turn, i, until, True) for i in range(settings.clients)))
    summary: dict[str, Any] = {}
    for name, per_tool in latencies.items():
        every = [value for values in per_tool.values() for value in values]
        summary[name] = {
            "calls": len(every),
            "errors": errors[name],
            "p50_ms": pct(every, 50) * 1000,
            "p99_ms": pct(every, 99) * 1000,
            "per_tool_p50_ms": {tool: pct(values, 50) * 1000 for tool, values in sorted(per_tool.items())},
        }
    print(f"  stress: {json.dumps(summary)}", flush=True)
    return summary


async def bench_queue_wait(settings: Settings) -> dict[str, dict[str, float]]:
    """Ours in this process: how long each call of the mix waits for a worker, per tool."""
    from mcp_box_server.runtime import pool as pool_module
    from mcp_box_server.server.registry import BoxRegistry

    waits: dict[str, list[float]] = {}
    acquire = pool_module.BoxPool._acquire

    async def timed(self: Any, function: str, deadline: float) -> Any:
        started = time.perf_counter()
        try:
            return await acquire(self, function, deadline)
        finally:
            waits.setdefault(f"{self.manifest.name}_{function}", []).append(time.perf_counter() - started)

    pool_module.BoxPool._acquire = timed  # type: ignore[method-assign]
    registry = BoxRegistry([REPO / "boxes"], only={"math", "bio"})
    arguments = mix_arguments()
    try:
        await registry.start()

        async def lane(index: int, until: float) -> None:
            step = index
            while time.monotonic() < until:
                tool = MIX[step % len(MIX)]
                step += 1
                await registry.call(tool, arguments[tool])

        await asyncio.gather(*(lane(i, time.monotonic() + 3) for i in range(settings.clients)))
        waits.clear()
        until = time.monotonic() + settings.stress_seconds / 2
        await asyncio.gather(*(lane(i, until) for i in range(settings.clients)))
    finally:
        pool_module.BoxPool._acquire = acquire  # type: ignore[method-assign]
        await registry.close()
    summary = {
        tool: {"calls": len(values), "p50_ms": pct(values, 50) * 1000, "p99_ms": pct(values, 99) * 1000}
        for tool, values in sorted(waits.items())
    }
    print(f"  queue wait: {json.dumps(summary)}", flush=True)
    return summary


async def bench_replicas(settings: Settings, work: Path) -> dict[str, float] | None:
    """calls/s of a 100 ms sleep through nginx with one replica and with two."""
    from tests.server.test_replicas import NGINX, SHARED, replicas_behind_nginx
    from tests.support.boxes import make_box

    if not os.access(NGINX, os.X_OK):
        print("  replicas: nginx not installed, skipped", flush=True)
        return None
    root = work / "replica-boxes"
    make_box(root, "shared", {"tools": SHARED}, manifest="workers = 16\n")
    rates: dict[str, float] = {}
    for names in (("a",), ("a", "b")):
        folder = work / f"nginx-{len(names)}"
        folder.mkdir()
        with replicas_behind_nginx(root, folder, names) as (base, _):
            await nap_rate(base, 64, 32)  # warm-up: workers up to the budget
            rate, errors = await nap_rate(base, settings.replica_calls, 32)
            rates[f"{len(names)} replica(s)"] = rate
            rates[f"{len(names)} replica(s) errors"] = errors
    print(f"  replicas: {json.dumps(rates)}", flush=True)
    return rates


async def nap_rate(base: str, calls: int, concurrency: int) -> tuple[float, int]:
    """(calls/s, error results) of `calls` sessionless 100 ms naps from 4 clients."""
    from fastmcp import Client
    from fastmcp.client.transports import StreamableHttpTransport

    errors = 0
    left = calls
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(Client(StreamableHttpTransport(f"{base}/mcp"))) for _ in range(4)
        ]

        async def lane(client: Client) -> None:
            nonlocal errors, left
            while left > 0:
                left -= 1
                result = await client.call_tool("shared_nap", {"seconds": 0.1}, raise_on_error=False)
                errors += result.is_error

        started = time.perf_counter()
        await asyncio.gather(*(lane(clients[i % 4]) for i in range(concurrency)))
        return calls / (time.perf_counter() - started), errors


async def bench_launch_pinned(settings: Settings, work: Path) -> dict[str, float] | None:
    """Median seconds from spawn to a full `tools/list`, everything on core 0, ours and bare in turns."""
    taskset = shutil.which("taskset")
    if taskset is None:
        return None
    pin = [taskset, "-c", "0"]
    variants = {
        "ours": ([*pin, *OURS_STDIO], {"MCP_BOX_CACHE": str(work / "spec-cache")}),
        "bare": ([*pin, *BARE_STDIO], None),
    }
    expect = {"math_gcd", "math_solve_24", "bio_align", "bio_reverse_complement"}
    times: dict[str, list[float]] = {label: [] for label in variants}
    for label, (argv, env) in variants.items():  # page cache and spec cache
        await launch_once(argv, work / f"launch-{label}.log", expect, env)
    for turn in range(settings.launches):
        for label in ("ours", "bare") if turn % 2 == 0 else ("bare", "ours"):
            argv, env = variants[label]
            times[label].append(await launch_once(argv, work / f"launch-{label}.log", expect, env))
    medians = {label: sorted(values)[len(values) // 2] for label, values in times.items()}
    print(f"  launch pinned: {json.dumps(medians)}", flush=True)
    return medians


async def bench_cold_call() -> dict[str, dict[str, float]]:
    """Median ms of a call after every worker of its box retired, and of the next (warm) one."""
    from mcp_box_server.runtime.budget import WorkerBudget
    from mcp_box_server.server.registry import BoxRegistry

    registry = BoxRegistry([REPO / "boxes"], only={"math", "bio"}, budget=WorkerBudget(4, idle=0.3))
    arguments = mix_arguments()
    summary: dict[str, dict[str, float]] = {}
    try:
        await registry.start()
        for tool in ("math_gcd", "bio_reverse_complement"):
            times: dict[str, list[float]] = {"cold_ms": [], "warm_ms": []}
            for _ in range(7):
                await asyncio.sleep(0.8)  # past the idle time: the box has no worker left
                for kind in times:
                    started = time.perf_counter()
                    await registry.call(tool, arguments[tool])
                    times[kind].append((time.perf_counter() - started) * 1000)
            summary[tool] = {kind: pct(values, 50) for kind, values in times.items()}
    finally:
        await registry.close()
    print(f"  cold call: {json.dumps(summary)}", flush=True)
    return summary


async def main(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="mcp-box-scale-"))
    results: dict[str, Any] = {"settings": settings.__class__.__name__, "quick": args.quick}
    try:
        arguments = mix_arguments()
        bundled_plan = [(tool, arguments[tool]) for _ in range(16) for tool in MIX]
        print("memory, bundled boxes", flush=True)
        results["bundled"] = await bench_memory("bundled", None, bundled_plan, 8, work, settings.idle)
        synthetic = synthetic_boxes(work / "synthetic")
        plan = [(f"syn{b}_tool_{(b + i) % 20}", {"text": "banana"}) for i in range(20) for b in range(50)]
        print("memory, 50 synthetic boxes x 20 tools", flush=True)
        results["synthetic"] = await bench_memory("synthetic", synthetic, plan, 4, work, settings.idle)
        print(f"stress, {settings.clients} clients", flush=True)
        results["stress"] = await bench_stress(settings, work)
        print("queue wait per tool", flush=True)
        results["queue_wait"] = await bench_queue_wait(settings)
        print("replicas behind nginx", flush=True)
        results["replicas"] = await bench_replicas(settings, work)
        print("launch pinned to one core", flush=True)
        results["launch_pinned"] = await bench_launch_pinned(settings, work)
        print("a call after idle retirement", flush=True)
        results["cold_call"] = await bench_cold_call()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "date": datetime.date.today().isoformat(),
    }
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter stress and replica runs")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder with server logs")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
