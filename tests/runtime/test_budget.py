"""Workers as a shared, bounded resource: one budget for every box, fair shares, idle retirement."""

import asyncio
import os
import shutil
import subprocess
import sys
import time

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, budget
from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.runtime.errors import ToolTimeout
from mcp_box_server.runtime.pool import zygote_for
from tests.support.boxes import ARITH, make_box

PROBE = """
    import gc


    def frozen() -> int:
        \"\"\"Objects the zygote froze before forking this worker.\"\"\"
        return gc.get_freeze_count()
"""


class Tenant:
    """A pool as the budget sees it."""

    def __init__(self) -> None:
        self.grants = 0
        self.evicted = 0
        self.rank: tuple[int, float] | None = None

    def granted(self) -> None:
        self.grants += 1

    def idle_rank(self) -> tuple[int, float] | None:
        return self.rank

    def evict(self) -> None:
        self.evicted += 1
        self.rank = None


def test_a_freed_slot_goes_to_the_waiting_pool_holding_fewest():
    budget = WorkerBudget(3)
    a, b, c = Tenant(), Tenant(), Tenant()
    assert budget.take(a) and budget.take(a) and budget.take(b)
    assert not budget.take(b) and not budget.take(c)
    assert budget.owed(a) and budget.owed(b)  # c holds none: any worker freed goes to it
    budget.release(a)
    assert (b.grants, c.grants) == (0, 1) and budget.held(c) == 1
    budget.release(a)
    assert b.grants == 1 and budget.used == 3


def test_taking_reclaims_the_longest_idle_worker_of_another_pool_warm_ones_last():
    budget = WorkerBudget(2)
    warm, idle, asker = Tenant(), Tenant(), Tenant()
    assert budget.take(warm) and budget.take(idle)
    warm.rank, idle.rank = (1, 1.0), (0, 5.0)
    assert budget.take(asker)
    assert (idle.evicted, warm.evicted, budget.held(idle), budget.used) == (1, 0, 0, 2)
    assert budget.take(idle)  # the warm one goes only when nothing else is idle
    assert warm.evicted == 1


def test_a_budget_needs_a_worker():
    with pytest.raises(ValueError, match="at least 1"):
        WorkerBudget(0)


@pytest.fixture
async def pools(tmp_path):
    """Start pools sharing one zygote and `budget`; close them all at the end."""
    started: list[BoxPool] = []
    zygotes = []

    async def start(name: str, budget: WorkerBudget, manifest: str = "") -> BoxPool:
        box = read_manifest(make_box(tmp_path, name, {"arith": ARITH, "probe": PROBE}, manifest=manifest))
        if not zygotes:
            zygotes.append(zygote_for(box))
        pool = BoxPool(box, zygote=zygotes[0], budget=budget)
        started.append(pool)
        await pool.start()
        return pool

    yield start
    await asyncio.gather(*(pool.close(keep_zygote=True) for pool in started))
    for zygote in zygotes:
        await zygote.close()


def live(*pools: BoxPool) -> int:
    return sum(len(pool._workers) for pool in pools)


async def test_a_flooded_box_does_not_starve_another_and_the_budget_holds(pools):
    budget = WorkerBudget(2)
    flooded, other = await pools("flooded", budget), await pools("other", budget)
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, live(flooded, other))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    slow = [asyncio.create_task(flooded.call("slow", {"seconds": 0.8})) for _ in range(6)]
    await asyncio.sleep(0.3)  # the flood holds both slots now
    assert budget.held(flooded) == 2
    started = time.monotonic()
    assert await other.call("add", {"a": 1}) == 3
    waited = time.monotonic() - started
    assert await asyncio.gather(*slow) == ["done"] * 6
    watcher.cancel()
    assert most <= 2
    assert waited < 0.8 + 0.5, f"the other box waited {waited:.2f} s: longer than one slow call and a fork"


async def test_a_call_that_gave_up_waiting_costs_no_other_box_its_worker(pools):
    """A box whose waiting call timed out no longer counts as waiting for a slot.

    Left counted, the next worker freed anywhere was killed to hand it a slot nobody
    used, and the box that was working forked a new one for its own queued call.
    """
    budget = WorkerBudget(1, idle=30)
    busy = await pools("busy", budget, "workers = 1\n")
    other = await pools("other", budget)
    await busy.call("add", {"a": 1})  # busy holds the one slot
    for _ in range(3):
        forks = busy.workers_started
        first = asyncio.create_task(busy.call("slow", {"seconds": 0.4}))
        queued = asyncio.create_task(busy.call("add", {"a": 1}))  # waits in busy's own queue
        await asyncio.sleep(0.05)
        with pytest.raises(ToolTimeout):
            await other.call("add", {"a": 1}, timeout=0.1)  # gives up waiting for the slot
        assert await asyncio.gather(first, queued) == ["done", 3]
        assert busy.workers_started == forks, "busy's worker was killed for a box no longer waiting"


async def test_a_quick_tool_is_not_queued_behind_slow_calls_of_another_tool(pools):
    pool = await pools("one", WorkerBudget(4), "workers = 1\n")
    slow = [asyncio.create_task(pool.call("slow", {"seconds": 0.5})) for _ in range(4)]
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await pool.call("add", {"a": 2}) == 4
    assert time.monotonic() - started < 0.5 + 0.3  # after the running slow call, not all four
    assert await asyncio.gather(*slow) == ["done"] * 4


async def test_idle_workers_retire_and_keep_warm_keeps_one(pools):
    budget = WorkerBudget(4, idle=0.3)
    cold, warm = await pools("cold", budget), await pools("warm", budget, "keep_warm = true\n")
    assert await asyncio.gather(*(cold.call("slow", {"seconds": 0.2}) for _ in range(3))) == ["done"] * 3
    await warm.call("add", {"a": 0})
    retired = [worker.pid for worker in cold._workers]
    (kept,) = [worker.pid for worker in warm._workers]
    await asyncio.sleep(1.0)
    assert live(cold) == 0 and budget.held(cold) == 0
    assert [worker.pid for worker in warm._workers] == [kept] and budget.used == 1
    for _ in range(50):
        if not any(os.path.exists(f"/proc/{pid}") for pid in retired):
            break
        await asyncio.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in retired)
    assert await cold.call("add", {"a": 5}) == 7  # a fresh worker serves the next call


async def test_a_crashed_warm_worker_is_replaced_before_the_next_call(pools):
    warm = await pools("warm", WorkerBudget(2, idle=0.2), "keep_warm = true\n")
    with pytest.raises(Exception, match="crashed its worker"):
        await warm.call("crash", {})
    for _ in range(50):
        if warm._idle:
            break
        await asyncio.sleep(0.05)
    assert len(warm._idle) == 1


async def test_forks_share_the_zygotes_frozen_heap(pools):
    pool = await pools("probe", WorkerBudget(2))
    assert await pool.call("frozen", {}) > 1000


async def test_a_start_cut_short_gives_its_slot_back(tmp_path):
    budget = WorkerBudget(2)
    pool = BoxPool(
        read_manifest(make_box(tmp_path, "hang", {"m": "import time\ntime.sleep(30)\n"})), budget=budget
    )
    start = asyncio.create_task(pool.start())
    await asyncio.sleep(0.5)  # forked, loading the box
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    assert budget.used == 0 and not pool._workers
    await pool.close()


def test_the_default_budget_counts_the_cores_this_process_may_use():
    """Two workers per usable core: pinned to one core, a server on a many-core host gets 2."""
    taskset = shutil.which("taskset")
    if taskset is None:
        pytest.skip("taskset is not installed")
    probe = (
        "from mcp_box_server.runtime.budget import default_limit, usable_cpus;"
        "print(usable_cpus(), default_limit())"
    )
    pinned = subprocess.run([taskset, "-c", "0", sys.executable, "-c", probe], capture_output=True, text=True)
    assert pinned.stdout.split() == ["1", "2"], pinned.stderr


@pytest.mark.parametrize(
    ("v2", "v1", "cores"),
    [
        ("150000 100000\n", None, 2),  # docker --cpus 1.5
        ("max 100000\n", None, None),  # no quota: the affinity decides
        (None, ("50000", "100000"), 1),  # cgroup v1, half a core
        (None, ("-1", "100000"), None),
    ],
)
def test_a_container_cpu_quota_caps_the_usable_cores(tmp_path, monkeypatch, v2, v1, cores):
    if v2 is not None:
        (tmp_path / "cpu.max").write_text(v2)
    if v1 is not None:
        (tmp_path / "quota").write_text(v1[0])
        (tmp_path / "period").write_text(v1[1])
    monkeypatch.setattr(budget, "CGROUP_V2_MAX", tmp_path / "cpu.max")
    monkeypatch.setattr(budget, "CGROUP_V1_QUOTA", tmp_path / "quota")
    monkeypatch.setattr(budget, "CGROUP_V1_PERIOD", tmp_path / "period")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)))
    assert budget.usable_cpus() == (cores or 8)
