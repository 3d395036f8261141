"""What kernel confinement costs: the same tools as a trusted and as a sandboxed box.

Run: `.venv/bin/python bench/sandbox.py [--calls N] [--starts N]`.

Per call: the math box's tools and a trivial one, called through a `BoxPool`
worker, trusted and sandboxed interleaved in rounds so both see the same machine
load. The sandbox is set up once per worker, so a call should cost the same.
Per worker: the time from fork request to a loaded box (namespaces, Landlock
ruleset, seccomp filter, uid drop and bind mounts included for the sandboxed one),
measured by replacing a worker that was killed. Prints a table; copy it into
bench/README.md under "## Sandbox overhead".
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = '''
def echo(value: int) -> int:
    """Return the value."""
    return value
'''
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("trivial", "echo", {"value": 1}),
    ("math", "gcd", {"numbers": [84, 126, 210]}),
    ("math", "solve_24", {"numbers": [4, 9, 10, 13]}),
    ("math", "derivative", {"expression": "sin(x)*x**3", "variable": "x"}),
]


async def per_call(
    pools: dict[str, BoxPool], box: str, tool: str, arguments: dict[str, Any], calls: int
) -> dict:
    """Median and p95 ms per call for each trust, rounds interleaved."""
    times: dict[str, list[float]] = {"trusted": [], "sandboxed": []}
    for trust in times:
        for _ in range(5):
            await pools[f"{box}-{trust}"].call(tool, arguments)
    for _ in range(calls):
        for trust, samples in times.items():
            start = time.perf_counter()
            await pools[f"{box}-{trust}"].call(tool, arguments)
            samples.append((time.perf_counter() - start) * 1000)
    return {trust: (statistics.median(s), statistics.quantiles(s, n=20)[-1]) for trust, s in times.items()}


async def per_worker(pool: BoxPool, starts: int) -> float:
    """Median ms from a fork request to a worker that has loaded the box."""
    samples = []
    for _ in range(starts):
        start = time.perf_counter()
        worker, ready = await pool._spawn()
        samples.append((time.perf_counter() - start) * 1000)
        assert ready.specs, ready.failures
        await worker.close()
    return statistics.median(samples)


async def main(calls: int, starts: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mcp-box-bench-") as scratch:
        trivial = Path(scratch) / "trivial"
        (trivial / "tools").mkdir(parents=True)
        (trivial / "box.toml").write_text('name = "trivial"\nworkers = 1\n')
        (trivial / "tools" / "echo.py").write_text(TRIVIAL)
        pools: dict[str, BoxPool] = {}
        for box in (trivial, ROOT / "boxes" / "math"):
            manifest = dataclasses.replace(read_manifest(box), workers=1)
            for trust in ("trusted", "sandboxed"):
                pool = BoxPool(dataclasses.replace(manifest, trust=trust))
                await pool.start()
                assert not pool.failures, pool.failures
                pools[f"{box.name}-{trust}"] = pool
        try:
            print(f"{calls} calls per tool and trust, interleaved; one worker each; {platform.platform()}")
            print("| tool | trusted p50 ms | sandboxed p50 ms | ratio p50 | trusted p95 | sandboxed p95 |")
            print("|---|---:|---:|---:|---:|---:|")
            for box, tool, arguments in CASES:
                result = await per_call(pools, box, tool, arguments, calls)
                (t50, t95), (s50, s95) = result["trusted"], result["sandboxed"]
                print(f"| {box}_{tool} | {t50:.3f} | {s50:.3f} | {s50 / t50:.2f}x | {t95:.3f} | {s95:.3f} |")
            print("\n| worker start (fork to loaded box) | trusted ms | sandboxed ms | ratio |")
            print("|---|---:|---:|---:|")
            for box in ("trivial", "math"):
                trusted = await per_worker(pools[f"{box}-trusted"], starts)
                sandboxed = await per_worker(pools[f"{box}-sandboxed"], starts)
                print(f"| {box} | {trusted:.1f} | {sandboxed:.1f} | {sandboxed / trusted:.2f}x |")
        finally:
            await asyncio.gather(*(pool.close() for pool in pools.values()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--starts", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.starts))
