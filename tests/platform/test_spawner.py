"""The spawned-worker path (macOS's), run natively on Linux: each worker a fresh process,
killed as a group, none left behind when the spawner closes."""

from __future__ import annotations

import os

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, ToolTimeout, WorkerCrashed
from mcp_box_server.runtime.process import Zygote
from mcp_box_server.runtime.spawner import Spawner
from tests.support.boxes import ARITH, make_box
from tests.support.processes import alive, children

STRAY = '''
import subprocess
import sys


def stray() -> int:
    """Start a process in the worker's group that would sleep for a minute."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid
'''


@pytest.fixture
async def spawned(tmp_path):
    box = make_box(tmp_path, "calc", {"arith": ARITH, "stray": STRAY}, manifest="timeout = 2\n")
    spawner = Spawner([], False, "calc")
    pool = BoxPool(read_manifest(box), zygote=spawner)
    await pool.start()
    yield pool, spawner
    await pool.close()
    await spawner.close()


async def test_zygote_is_a_spawner_only_where_the_platform_does_not_fork():
    zygote = Zygote([], False, "calc")
    try:
        assert type(zygote) is Zygote and zygote.alive  # Linux: the fork server
    finally:
        await zygote.close()
    assert type(Spawner([], False, "calc")) is Spawner


async def test_spawned_workers_answer_time_out_crash_and_are_replaced(spawned):
    pool, spawner = spawned
    assert pool.zygote is spawner and pool.confinement["missing"] == {
        "pid namespace": "a spawned worker has a process group of its own, no namespaces"
    }
    assert await pool.call("add", {"a": 40}) == 42
    worker_pids = [pid for pid in children(os.getpid()) if pid in spawner._processes]
    assert worker_pids, "a spawned worker is a child of the server"
    with pytest.raises(ToolTimeout, match="timed out after 2 s"):
        await pool.call("slow", {"seconds": 30})
    with pytest.raises(WorkerCrashed, match="exit code 7"):
        await pool.call("crash", {"code": 7})
    assert await pool.call("add", {"a": 1, "b": 1}) == 2
    assert not any(alive(pid) for pid in worker_pids)  # the timed-out one was killed


async def test_closing_the_spawner_leaves_no_worker_nor_its_group_behind(spawned):
    pool, spawner = spawned
    stray = await pool.call("stray", {})
    workers = list(spawner._processes)
    assert workers and alive(stray)
    await pool.close()
    await spawner.close()
    assert not any(alive(pid) for pid in [*workers, stray])
    with pytest.raises(WorkerCrashed, match="were stopped"):
        await spawner.fork(None, "calc")  # type: ignore[arg-type]
