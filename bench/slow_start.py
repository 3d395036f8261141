"""How soon a server with one slow box answers, against a bare FastMCP server started beside it.

    .venv/bin/python bench/slow_start.py [--runs 3] [--slow 12]

The scenario of issue 17: the bundled math box beside a box whose import sleeps `--slow`
seconds, over streamable HTTP, spec cache off (math really loads). Printed, in seconds from
the spawn: /health's first answer, math listed, the first math call answered, and the
slow box listed; and a bare FastMCP server's first HTTP answer (bench/_bare_server.py, no
boxes) measured in the same run, with the ratios to it. The medians of `--runs` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastmcp import Client  # noqa: E402

from mcp_box_server.box import bundled_boxes_dir  # noqa: E402
from tests.support.boxes import make_box  # noqa: E402
from tests.support.servers import SERVE, first_answer, free_port, stop_group  # noqa: E402

BARE = REPO / "bench" / "_bare_server.py"


def bare_first_answer(empty: Path) -> float:
    port = free_port()
    env = os.environ | {"BENCH_BARE_BOXES": str(empty)}
    spawned = time.monotonic()
    command = [sys.executable, str(BARE), "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(command, start_new_session=True, env=env, stderr=subprocess.DEVNULL)
    try:
        first_answer(f"http://127.0.0.1:{port}/mcp", timeout=120)
        return time.monotonic() - spawned
    finally:
        stop_group(process)


async def listed(client: Client, name: str, spawned: float) -> float:
    while name not in {tool.name for tool in await client.list_tools()}:
        await asyncio.sleep(0.02)
    return time.monotonic() - spawned


async def ours(slow_box: Path) -> dict[str, float]:
    port = free_port()
    boxes = ["--boxes", str(bundled_boxes_dir() / "math"), "--boxes", str(slow_box), "--no-bundled"]
    command = [*SERVE, "--transport", "http", "--port", str(port), *boxes, "--no-reload"]
    env = os.environ | {"MCP_BOX_CACHE": "off"}
    spawned = time.monotonic()
    process = subprocess.Popen(command, start_new_session=True, env=env, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(first_answer, f"{base}/health", 120)
        figures = {"/health answered": time.monotonic() - spawned}
        async with Client(f"{base}/mcp") as client:
            figures["math listed"] = await listed(client, "math_gcd", spawned)
            await client.call_tool("math_gcd", {"numbers": [48, 180]})
            figures["math called"] = time.monotonic() - spawned
            figures["slow box listed"] = await listed(client, "sleepy_hello", spawned)
        return figures
    finally:
        stop_group(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow", type=float, default=12.0, help="seconds the slow box sleeps at import")
    args = parser.parse_args()
    slow = f'import time\n\ntime.sleep({args.slow})\n\n\ndef hello() -> str:\n    """Hi."""\n    return ""\n'
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        manifest = 'trust = "trusted"\nload_timeout = 120\n'
        box = make_box(root / "boxes", "sleepy", {"late": slow}, manifest=manifest)
        (root / "empty").mkdir()
        runs: list[dict[str, float]] = []
        for _ in range(args.runs):
            bare = bare_first_answer(root / "empty")
            runs.append({"bare FastMCP answered": bare, **asyncio.run(ours(box))})
    bare = statistics.median(run["bare FastMCP answered"] for run in runs)
    print(f"median of {args.runs} runs, seconds from the spawn (slow box sleeps {args.slow:g} s)")
    for what in runs[0]:
        value = statistics.median(run[what] for run in runs)
        print(f"  {what:24} {value:6.2f} s   {value / bare:5.2f}x bare")


if __name__ == "__main__":
    main()
