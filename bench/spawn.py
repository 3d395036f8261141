"""Worker start-up: forked from a warm zygote (Linux) against spawned fresh (macOS's way).

`.venv/bin/python bench/spawn.py [ROUNDS]`: the same box (the bundled math box, which
requires sympy) started ROUNDS times through a `BoxPool` on each path, side by side in one
run, on this machine. A start is the snapshot, the worker, its box import and its tool list:
what a reload or a replacement after a timeout costs. Prints medians and their ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from mcp_box_server.box import bundled_boxes_dir, read_manifest
from mcp_box_server.runtime import BoxPool
from mcp_box_server.runtime.process import Zygote
from mcp_box_server.runtime.spawner import Spawner


async def starts(zygote: Zygote, rounds: int) -> list[float]:
    manifest = read_manifest(bundled_boxes_dir() / "math")
    warm = BoxPool(manifest, zygote=zygote)  # the zygote imports sympy once, before timing
    await warm.start()
    await warm.close(keep_zygote=True)
    took = []
    for _ in range(rounds):
        pool = BoxPool(manifest, zygote=zygote)
        began = time.perf_counter()
        await pool.start()
        took.append(time.perf_counter() - began)
        assert pool.specs and not pool.failures, pool.failures
        await pool.close(keep_zygote=True)
    await zygote.close()
    return took


async def main(rounds: int) -> None:
    forked = await starts(Zygote(["sympy"], False, "math"), rounds)
    spawned = await starts(Spawner(["sympy"], False, "math"), rounds)
    fork_ms, spawn_ms = statistics.median(forked) * 1000, statistics.median(spawned) * 1000
    print(f"math box start, median of {rounds}: forked {fork_ms:.0f} ms, spawned {spawn_ms:.0f} ms")
    print(f"spawned / forked: {spawn_ms / fork_ms:.1f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
