"""Code mode against one tool call per item: bytes on the wire and wall time, side by side.

`.venv/bin/python bench/code_mode.py [--repeat 20]`

A real `mcp-box serve --transport http --code-mode` (the bundled boxes) is reached by the
official MCP SDK client through a byte-counting TCP proxy on 127.0.0.1, so the figures
are what a client really sends and receives (HTTP headers and SSE framing included).

1. Many calls: the GC content of 30 sequences and 10 Game of 24 puzzles, as one `execute`
   (a program that loops and prints a compact table) against one tool call per item.
2. One call: an `execute` whose program makes one tool call against that tool called
   directly, once a program worker is warm (target: under 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from tests.support.servers import free_port, server_process  # noqa: E402

PUZZLES = [[4, 9, 10, 13], [1, 1, 4, 6], [3, 3, 8, 8], [1, 2, 7, 7], [4, 7, 8, 8]]
PUZZLES += [[2, 5, 5, 10], [1, 5, 5, 5], [6, 6, 6, 6], [1, 3, 4, 6], [2, 3, 5, 12]]


class CountingProxy:
    """A TCP relay that counts the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.sent = 0  # client -> server
        self.received = 0  # server -> client
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    def reset(self) -> None:
        self.sent = self.received = 0

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, outgoing: bool) -> None:
            try:
                while data := await source.read(65536):
                    if outgoing:
                        self.sent += len(data)
                    else:
                        self.received += len(data)
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        with contextlib.suppress(asyncio.CancelledError):  # the benchmark is over
            await asyncio.gather(pump(reader, upstream_writer, True), pump(upstream_reader, writer, False))


def sequences(count: int, length: int = 300) -> list[str]:
    rng = random.Random(30)
    return ["".join(rng.choice("ACGT") for _ in range(length)) for _ in range(count)]


@dataclass(frozen=True, slots=True)
class Task:
    """One field of a tool's result over many items: by one call each, or by one program."""

    label: str
    tool: str
    items: list[dict[str, Any]]  # the arguments of each call
    field: str  # the structured result's field compared
    program: str  # prints the list of that field, floats rounded to 2 places (a compact table)


def tasks() -> list[Task]:
    seqs = sequences(30)
    return [
        Task(
            "GC content, 30 sequences",
            "bio_gc_content",
            [{"sequence": seq} for seq in seqs],
            "gc_percent",
            f"seqs = {seqs!r}\nprint([round(bio.gc_content(sequence=s)['gc_percent'], 2) for s in seqs])",
        ),
        Task(
            "Game of 24, 10 puzzles",
            "math_solve_24",
            [{"numbers": puzzle} for puzzle in PUZZLES],
            "expression",
            f"print([math.solve_24(numbers=p)['expression'] for p in {PUZZLES!r}])",
        ),
    ]


async def call_each(client: ClientSession, task: Task) -> list[Any]:
    values = []
    for arguments in task.items:
        result = await client.call_tool(task.tool, arguments)
        value = result.structured_content[task.field]
        values.append(round(value, 2) if isinstance(value, float) else value)
    return values


async def execute_once(client: ClientSession, task: Task) -> list[Any]:
    result = await client.call_tool("execute", {"code": task.program})
    assert not result.is_error, result.content
    return eval(result.structured_content["output"])  # the list it printed


async def measure(proxy: CountingProxy, work: Awaitable[Any]) -> tuple[tuple[int, int, float], Any]:
    """(bytes sent, bytes received, wall seconds) of `work`, and its value."""
    proxy.reset()
    started = time.perf_counter()
    value = await work
    return (proxy.sent, proxy.received, time.perf_counter() - started), value


def row(name: str, figures: tuple[int, int, float]) -> str:
    sent, received, wall = figures
    return f"| {name} | {sent:,} | {received:,} | {wall * 1000:.0f} |"


async def many_calls(client: ClientSession, proxy: CountingProxy) -> list[str]:
    lines = ["| task | bytes sent | bytes received | wall ms |", "|---|---:|---:|---:|"]
    for task in tasks():  # warm: the program box and the bio and math workers
        await execute_once(client, task)
        await call_each(client, task)
    for task in tasks():
        each, each_values = await measure(proxy, call_each(client, task))
        once, once_values = await measure(proxy, execute_once(client, task))
        assert each_values == once_values
        lines.append(row(f"{task.label}: one call_tool per item ({len(task.items)} calls)", each))
        lines.append(row(f"{task.label}: one execute", once))
        ratios = " | ".join(f"{a / b:.1f}x" for a, b in zip(each, once, strict=True))
        lines.append(f"| {task.label}: per-item calls / execute | {ratios} |")
    return lines


async def one_call(client: ClientSession, repeat: int) -> list[str]:
    direct_times, program_times, bare_times = [], [], []
    for _ in range(3):  # warm both paths
        await client.call_tool("bio_gc_content", {"sequence": "ATGC"})
        await client.call_tool("execute", {"code": "bio.gc_content(sequence='ATGC')"})
    for _ in range(repeat):  # interleaved, so load on the machine hits both alike
        started = time.perf_counter()
        await client.call_tool("bio_gc_content", {"sequence": "ATGC"})
        direct_times.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)  # the pool forks its next warm program worker meanwhile
        started = time.perf_counter()
        result = await client.call_tool("execute", {"code": "bio.gc_content(sequence='ATGC')"})
        program_times.append(time.perf_counter() - started)
        assert not result.is_error
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await client.call_tool("execute", {"code": "1"})
        bare_times.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    direct, program = statistics.median(direct_times), statistics.median(program_times)
    p90 = int(repeat * 0.9)
    return [
        "| one tool call | median ms | p90 ms |",
        "|---|---:|---:|",
        f"| direct call | {direct * 1000:.1f} | {sorted(direct_times)[p90] * 1000:.1f} |",
        f"| execute with one call | {program * 1000:.1f} | {sorted(program_times)[p90] * 1000:.1f} |",
        f"| execute with no tool call (the program's own cost) | {statistics.median(bare_times) * 1000:.1f} "
        f"| {sorted(bare_times)[p90] * 1000:.1f} |",
        f"| ratio, execute with one call / direct (target < 2x) | {program / direct:.2f}x | |",
    ]


async def main(repeat: int) -> None:
    with server_process("--code-mode", "--no-reload", "--log-level", "WARNING") as (base, _):
        port = int(base.rsplit(":", 1)[1])
        async with (
            CountingProxy(port) as proxy,
            streamable_http_client(f"http://127.0.0.1:{proxy.port}/mcp") as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            print("\n".join(await many_calls(client, proxy)))
            print()
            print("\n".join(await one_call(client, repeat)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed pairs for the one-call figure")
    asyncio.run(main(parser.parse_args().repeat))
