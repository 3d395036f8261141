"""A zygote lives while some box of its trust level does; the registry shares one worker budget."""

import asyncio
import shutil

import pytest

from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.server.registry import BoxRegistry
from tests.support.boxes import ARITH, make_box


async def test_a_zygote_with_no_boxes_left_exits_and_a_new_box_starts_another(tmp_path):
    box = make_box(tmp_path, "calc", {"arith": ARITH})
    registry = BoxRegistry([tmp_path], budget=WorkerBudget(2, idle=30))
    try:
        await registry.start()
        assert await registry.call("calc_add", {"a": 1}) == 3
        zygote = registry._zygotes[False]
        shutil.rmtree(box)
        await registry.rescan()
        for _ in range(100):
            if not zygote.alive:
                break
            await asyncio.sleep(0.05)
        assert not zygote.alive and not registry._zygotes
        assert registry.budget.used == 0
        make_box(tmp_path, "again", {"arith": ARITH})
        await asyncio.gather(*await registry.rescan())
        assert await registry.call("again_add", {"a": 2}) == 4
        assert registry._zygotes[False].alive
    finally:
        await registry.close()


NAMES = ("one", "two", "three")


@pytest.fixture
async def three_boxes_two_slots(tmp_path):
    """A started registry of three boxes sharing a budget of two workers."""
    for name in NAMES:
        make_box(tmp_path, name, {"arith": ARITH})
    registry = BoxRegistry([tmp_path], budget=WorkerBudget(2, idle=30))
    try:
        await registry.start()
        yield registry
    finally:
        await registry.close()


def workers_started(registry: BoxRegistry) -> dict[str, int]:
    return {status["box"]: status["workers_started"] for status in registry.status()}


async def test_every_box_draws_on_the_registry_budget(three_boxes_two_slots):
    """Three boxes, two slots: each call runs, and no box's worker is given away before it serves.

    Handing a fresh worker's slot on at once made the boxes start workers for each other
    in a ring (hundreds of forks a second, no call run); a few rounds meet that ordering.
    """
    registry = three_boxes_two_slots
    for round in range(1, 6):
        calls = (registry.call(f"{n}_add", {"a": 1}) for n in NAMES)
        assert await asyncio.wait_for(asyncio.gather(*calls), 20) == [3, 3, 3]
        assert registry.budget.used <= 2
        assert sum(len(state.pool._workers) for state in registry.states if state.pool) <= 2
        started = workers_started(registry)
        assert all(count <= 2 * round for count in started.values()), started


async def test_boxes_outnumbering_the_budget_do_not_fork_a_worker_per_call(three_boxes_two_slots):
    """Three boxes, two slots, 30 calls each at once: workers serve a while before changing box.

    Handing every worker over after one call (some box always holds none) cost a fork
    per call: 60-odd forks for these 90 calls.
    """
    registry = three_boxes_two_slots
    before = sum(workers_started(registry).values())
    calls = [registry.call(f"{n}_add", {"a": 1}) for n in NAMES for _ in range(30)]
    assert await asyncio.wait_for(asyncio.gather(*calls), 60) == [3] * 90
    forks = sum(workers_started(registry).values()) - before
    assert forks <= 12, forks
