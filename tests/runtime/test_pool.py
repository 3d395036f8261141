"""The runtime through real worker processes: results, failures, limits, isolation."""

import asyncio
import os
import time
from pathlib import Path

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import (
    BoxPool,
    InvalidArguments,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
    WorkerCrashed,
    protocol,
)
from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.runtime.errors import ResultTooLarge
from mcp_box_server.runtime.pool import zygote_for
from mcp_box_server.runtime.worker import _frame
from tests.support.boxes import ARITH, make_box
from tests.support.processes import children


@pytest.fixture
async def calc(tmp_path):
    pool = BoxPool(read_manifest(make_box(tmp_path, "calc", {"arith": ARITH}, manifest="timeout = 1\n")))
    await pool.start()
    yield pool
    await pool.close()


async def test_call_returns_result_and_prints_do_not_corrupt_the_channel(calc):
    assert calc.failures == []
    assert [await calc.call("add", {"a": i}) for i in range(3)] == [2, 3, 4]


async def test_bad_arguments_name_the_parameter(calc):
    with pytest.raises(InvalidArguments, match="missing required parameter 'a'"):
        await calc.call("add", {})
    with pytest.raises(InvalidArguments, match="parameter 'a': Input should be a valid integer"):
        await calc.call("add", {"a": "seven"})


async def test_tool_exception_is_a_tool_failure(calc):
    with pytest.raises(ToolFailed, match="ValueError: no good") as info:
        await calc.call("fail", {"message": "no good"})
    assert "raise ValueError(message)" in info.value.traceback


async def test_unknown_tool(calc):
    with pytest.raises(UnknownTool, match="no tool 'nope'"):
        await calc.call("nope", {})


async def test_hung_tool_times_out_promptly_and_the_next_call_works(calc):
    started = time.monotonic()
    with pytest.raises(ToolTimeout, match="timed out after 1 s"):
        await calc.call("slow", {"seconds": 30})
    assert time.monotonic() - started < 2.0
    assert await calc.call("add", {"a": 1}) == 3


async def test_per_call_timeout_override(calc):
    assert await calc.call("slow", {"seconds": 1.2}, timeout=5) == "done"


async def test_worker_exit_is_a_clear_error_and_a_fresh_worker_follows(calc):
    with pytest.raises(WorkerCrashed, match=r"crashed its worker \(exit code 7\)"):
        await calc.call("crash", {"code": 7})
    assert await calc.call("add", {"a": 5}) == 7


async def test_segfault_and_memory_cap(tmp_path):
    source = '''
        import ctypes

        def segfault() -> int:
            """Write to address 0."""
            ctypes.memset(0, 1, 1)
            return 0

        def hog(megabytes: int) -> int:
            """Allocate a lot."""
            return len(bytearray(megabytes * 1024 * 1024))
    '''
    pool = BoxPool(read_manifest(make_box(tmp_path, "bad", {"m": source}, manifest="memory_mb = 512\n")))
    await pool.start()
    try:
        with pytest.raises(WorkerCrashed, match="SIGSEGV"):
            await pool.call("segfault", {})
        with pytest.raises(WorkerCrashed, match=r"ran out of memory \(cap 512 MB\)"):
            await pool.call("hog", {"megabytes": 2048})
        assert await pool.call("hog", {"megabytes": 10}) == 10 * 1024 * 1024
    finally:
        await pool.close()


async def test_calls_run_in_parallel_and_a_hung_box_does_not_block_another(tmp_path):
    slow_pool = BoxPool(read_manifest(make_box(tmp_path, "a", {"arith": ARITH}, manifest="timeout = 3\n")))
    other = BoxPool(read_manifest(make_box(tmp_path, "b", {"arith": ARITH})))
    await asyncio.gather(slow_pool.start(), other.start())
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            slow_pool.call("slow", {"seconds": 1}), slow_pool.call("slow", {"seconds": 1})
        )
        assert results == ["done", "done"]
        assert time.monotonic() - started < 1.9  # two workers, not one after the other
        hung = asyncio.create_task(slow_pool.call("slow", {"seconds": 60}))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        assert await other.call("add", {"a": 1}) == 3
        assert time.monotonic() - started < 0.5
        with pytest.raises(ToolTimeout):
            await hung
    finally:
        await asyncio.gather(slow_pool.close(), other.close())


async def test_cancelled_call_kills_its_worker(calc):
    task = asyncio.create_task(calc.call("slow", {"seconds": 30}))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await calc.call("add", {"a": 0}) == 2


async def test_pool_runs_its_snapshot_even_after_the_files_change(tmp_path):
    box = make_box(tmp_path, "snap", {"m": 'def v() -> int:\n    """Version."""\n    return 1\n'})
    pool = BoxPool(read_manifest(box))
    await pool.start()
    try:
        (box / "tools" / "m.py").write_text('def v() -> int:\n    """Version."""\n    return 2\n')
        results = await asyncio.gather(*(pool.call("v", {}) for _ in range(4)))  # grows new workers
        assert results == [1, 1, 1, 1]
    finally:
        await pool.close()


SANDBOX_PROBES = '''
    import os
    import socket
    import subprocess


    def connect(port: int) -> str:
        """Try the network."""
        socket.create_connection(("127.0.0.1", port), timeout=1)
        return "connected"


    def write(path: str) -> str:
        """Try to write a file."""
        with open(path, "w") as handle:
            handle.write("x")
        return "written"


    def run(command: str) -> str:
        """Try a subprocess."""
        return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


    def env(name: str) -> str:
        """Read the environment."""
        return os.environ.get(name, "<unset>")


    def cwd() -> str:
        """Where am I."""
        return os.getcwd()
'''


async def test_sandboxed_box_has_no_network_no_processes_no_outside_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("MCP_BOX_TEST_SECRET", "hunter2")
    box = make_box(tmp_path, "jail", {"probe": SANDBOX_PROBES}, manifest='trust = "sandboxed"\n')
    pool = BoxPool(read_manifest(box))
    await pool.start()
    try:
        with pytest.raises(ToolFailed, match="sandboxed box may not use socket"):
            await pool.call("connect", {"port": 9})
        outside = tmp_path / "escaped.txt"
        with pytest.raises(ToolFailed, match="may not write outside its temp dir"):
            await pool.call("write", {"path": str(outside)})
        assert not outside.exists()
        assert await pool.call("write", {"path": "inside.txt"}) == "written"
        with pytest.raises(ToolFailed, match="sandboxed box may not use subprocess"):
            await pool.call("run", {"command": "echo hi"})
        assert await pool.call("env", {"name": "MCP_BOX_TEST_SECRET"}) == "<unset>"
        workdir = await pool.call("cwd", {})
        assert workdir != os.getcwd() and "mcp-box-jail-" in workdir
    finally:
        await pool.close()


async def test_trusted_box_keeps_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MCP_BOX_TEST_SECRET", "hunter2")
    pool = BoxPool(read_manifest(make_box(tmp_path, "free", {"probe": SANDBOX_PROBES})))
    await pool.start()
    try:
        assert await pool.call("env", {"name": "MCP_BOX_TEST_SECRET"}) == "hunter2"
    finally:
        await pool.close()


async def test_box_whose_import_kills_the_worker_reports_a_load_failure(tmp_path):
    pool = BoxPool(read_manifest(make_box(tmp_path, "dead", {"m": "import os\nos._exit(4)\n"})))
    await pool.start()
    try:
        assert pool.specs == []
        assert "worker died while loading the box: exit code 4" in pool.failures[0].message
    finally:
        await pool.close()


async def test_results_that_are_not_plain_json_are_converted(tmp_path):
    source = '''
        from fractions import Fraction

        def odd_values() -> dict:
            """Values JSON cannot hold as they are."""
            return {"set": {3, 1}, "fraction": Fraction(1, 3), "nan": float("nan"), 2: (1, 2)}
    '''
    pool = BoxPool(read_manifest(make_box(tmp_path, "conv", {"m": source})))
    await pool.start()
    try:
        result = await pool.call("odd_values", {})
        assert result == {"set": [1, 3], "fraction": "1/3", "nan": "nan", "2": [1, 2]}
    finally:
        await pool.close()


async def test_sandboxed_box_with_an_allow_list_imports_nothing_else(tmp_path):
    tools = {
        "ok": "import math\nimport json\nimport _helper\n\ndef root(x: float) -> float:\n"
        '    """Square root."""\n    return _helper.halve(math.sqrt(x) * 2)\n',
        "_helper": "def halve(x):\n    return x / 2\n",
        "sneaky": 'def fetch() -> str:\n    """Import late."""\n    import sympy\n    return str(sympy.pi)\n',
        "eager": "import sympy\n",
    }
    box = make_box(tmp_path, "allow", tools, manifest='trust = "sandboxed"\nallow_imports = ["math"]\n')
    pool = BoxPool(read_manifest(box))
    await pool.start()
    try:
        assert await pool.call("root", {"x": 9.0}) == 3.0
        with pytest.raises(ToolFailed, match="may not import 'sympy': add it to allow_imports"):
            await pool.call("fetch", {})
        eager = next(f for f in pool.failures if f.file.endswith("eager.py"))
        assert "may not import 'sympy'" in eager.message and eager.line == 1
    finally:
        await pool.close()


async def test_closing_right_after_a_crash_leaves_no_process_behind(tmp_path):
    pool = BoxPool(read_manifest(make_box(tmp_path, "calc", {"arith": ARITH})))
    await pool.start()
    root = str(pool._root)
    with pytest.raises(WorkerCrashed):
        await pool.call("crash", {"code": 3})
    await pool.close()  # while the replacement worker is being forked
    await asyncio.sleep(1.0)
    assert box_processes(os.getpid(), root) == []


def box_processes(parent: int, root: str) -> list[int]:
    """Live zygotes started by `parent`, and live workers of the pool at `root` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if stat[0] == "Z" or b"mcp_box_server.runtime.worker" not in cmdline:
            continue
        if int(stat[1]) == parent or cwd.startswith(root):
            found.append(int(entry))
    return found


FAULTS = '''
    import gc
    import socket
    import sys
    import time


    def blob(megabytes: float) -> str:
        """A large result."""
        return "x" * int(megabytes * 1024 * 1024)


    def flood(lines: int, width: int = 10) -> int:
        """Print a lot."""
        line = "y" * width
        for _ in range(lines):
            print(line)
        return lines


    def long_line(megabytes: int) -> int:
        """One line longer than any buffer."""
        sys.stderr.write("z" * megabytes * 1024 * 1024 + "\\n")
        return megabytes


    def forge(frame: str) -> int:
        """Write a frame of our own on the worker's channel, then answer normally."""
        channel = next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() > 2)
        channel.sendall(frame.encode() + b"\\n")
        return 1


    def slow(seconds: float) -> str:
        """Sleep, then answer."""
        time.sleep(seconds)
        return "done"
'''


@pytest.fixture
async def faulty(tmp_path):
    manifest = "timeout = 2\nworkers = 2\nmax_result_mb = 1\n"
    pool = BoxPool(read_manifest(make_box(tmp_path, "faulty", {"f": FAULTS}, manifest=manifest)))
    await pool.start()
    yield pool
    await pool.close()


async def test_queued_calls_end_within_their_timeout_waiting_or_running(faulty):
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(faulty.call("slow", {"seconds": 1.2}) for _ in range(6)), return_exceptions=True
    )
    assert time.monotonic() - started < 2 + 1
    assert outcomes.count("done") == 2
    errors = [str(o) for o in outcomes if isinstance(o, ToolTimeout)]
    assert len(errors) == 4
    assert all("timed out after 2 s" in e for e in errors)
    assert any("waiting for a free worker (all 2 busy); it did not run" in e for e in errors)
    assert await faulty.call("slow", {"seconds": 0}) == "done"


async def test_result_over_the_cap_is_an_error_naming_the_cap(faulty):
    with pytest.raises(
        ResultTooLarge, match=r"over the box's 1 MB (result )?cap \(max_result_mb in box.toml\)"
    ):
        await faulty.call("blob", {"megabytes": 3})
    assert len(await faulty.call("blob", {"megabytes": 0.5})) == 512 * 1024


def test_the_worker_refuses_to_send_a_result_over_the_cap():
    reply = protocol.decode(_frame({"id": 4, "ok": True, "result": "x" * 3 * 1024 * 1024}, 1024 * 1024))
    assert reply == {
        "id": 4,
        "ok": False,
        "kind": "size",
        "error": "result is 3.0 MB, over the box's 1 MB cap (max_result_mb in box.toml)",
    }
    error = protocol.decode(_frame({"id": 5, "ok": False, "error": "e" * 2_000_000}, 1024 * 1024))
    assert len(error["error"]) == 4096


async def test_output_floods_and_huge_lines_do_not_break_the_worker(faulty, caplog):
    caplog.set_level("INFO", logger="mcp_box.runtime")
    assert await faulty.call("flood", {"lines": 200_000}) == 200_000
    assert await faulty.call("long_line", {"megabytes": 80}) == 80
    assert await faulty.call("slow", {"seconds": 0}) == "done"
    logged = [r.getMessage() for r in caplog.records]
    assert sum("yyyyyyyyyy" in m for m in logged) <= 100
    assert any("more lines" in m and "of output dropped" in m for m in logged)
    assert any("more bytes cut]" in m for m in logged)
    assert max(len(m) for m in logged) < 10_000


@pytest.mark.parametrize(
    ("frame", "problem"),
    [("not json", "not a JSON object"), ("[1, 2]", "not a JSON object"), ('{"id": 999}', "call 999")],
)
async def test_a_reply_out_of_protocol_replaces_the_worker(faulty, frame, problem):
    with pytest.raises(WorkerCrashed, match=f"{problem}.*a fresh worker takes the next call"):
        await faulty.call("forge", {"frame": frame})
    assert await faulty.call("slow", {"seconds": 0}) == "done"


async def test_timeouts_are_capped_by_the_server_maximum(tmp_path):
    box = make_box(tmp_path, "patient", {"arith": ARITH}, manifest="timeout = 100\n")
    pool = BoxPool(read_manifest(box), max_timeout=1)
    await pool.start()
    try:
        started = time.monotonic()
        with pytest.raises(ToolTimeout, match="timed out after 1 s running"):
            await pool.call("slow", {"seconds": 10})
        assert time.monotonic() - started < 2
    finally:
        await pool.close()


async def test_a_box_that_hangs_at_import_fails_after_its_load_timeout(tmp_path):
    box = make_box(tmp_path, "hang", {"m": "import time\ntime.sleep(600)\n"}, manifest="load_timeout = 1\n")
    pool = BoxPool(read_manifest(box))
    started = time.monotonic()
    await pool.start()
    try:
        assert time.monotonic() - started < 3
        assert pool.specs == []
        assert "did not load the box within its 1 s load timeout" in pool.failures[0].message
    finally:
        await pool.close()


async def test_a_start_cancelled_during_its_fork_leaves_the_zygote_forking_and_no_orphan(tmp_path):
    """The zygote's reply to a cancelled fork must not end its reader; the worker it made is killed."""
    manifest = read_manifest(make_box(tmp_path, "calc", {"arith": ARITH}))
    budget = WorkerBudget(4, idle=30)
    zygote = zygote_for(manifest)
    first = BoxPool(manifest, zygote=zygote, budget=budget)
    pools = [first]
    try:
        await first.start()  # the zygote is up
        kept = set(children(zygote.pid))
        cancelled = BoxPool(manifest, zygote=zygote, budget=budget)
        pools.append(cancelled)
        start = asyncio.create_task(cancelled.start())
        while cancelled._starting == 0:  # its fork request is on its way
            await asyncio.sleep(0)
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        later = BoxPool(manifest, zygote=zygote, budget=budget)
        pools.append(later)
        await asyncio.wait_for(later.start(), 30)
        assert await later.call("add", {"a": 1}) == 3
        for _ in range(100):
            extra = set(children(zygote.pid)) - kept
            if len(extra) <= 1:  # only the later pool's worker
                break
            await asyncio.sleep(0.05)
        assert len(extra) == 1, f"the cancelled fork's worker outlived it: {extra}"
        assert budget.used == 2
    finally:
        for pool in pools:
            await pool.close(keep_zygote=True)
        await zygote.close()
