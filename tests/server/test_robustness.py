"""Hostile box folders, tools and clients against a real server and the official MCP client.

Each fault runs beside a healthy box (`calc`): the test checks that `calc` still answers
while the fault is in progress and that the server answers after it. Limits are set
small (load timeouts, caps, session counts) so the whole file stays quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.boxes import ARITH, make_box
from tests.support.processes import alive, descendants
from tests.support.servers import INITIALIZE, SERVE, free_port, mcp_post, named_only, write_tool

FAULTS = '''
import gc
import socket
import sys
import time


def blob(megabytes: int) -> str:
    """A large result."""
    return "x" * megabytes * 1024 * 1024


def flood(megabytes: int) -> str:
    """Print megabytes of short lines, then one line longer than any buffer."""
    line = "y" * 99
    for _ in range(megabytes * 10_000):
        print(line)
    sys.stderr.write("z" * megabytes * 1024 * 1024 + "\\n")
    return "flooded"


def forge(frame: str) -> int:
    """Write a frame of our own on the worker's channel."""
    channel = next(o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() > 2)
    channel.sendall(frame.encode() + b"\\n")
    return 1


def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "done"
'''

VERSION = 'def version() -> int:\n    """Which version runs."""\n    return {n}\n'


class Server:
    """A `mcp-box serve --transport http` process whose log goes to a file (a flood never blocks it)."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"
        command = [*SERVE, "--transport", "http", "--port", str(self.port), *named_only(args)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stderr=log, stdout=log, start_new_session=True, env=env or None
            )

    def health(self, timeout: float = 1.0) -> tuple[int, dict[str, Any]] | None:
        try:
            with urllib.request.urlopen(f"{self.base}/health", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
        except OSError:
            return None

    def wait_answering(self, timeout: float = 30) -> float:
        """Seconds until /health answers at all (200 or 503)."""
        started = time.monotonic()
        while self.health() is None:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() - started < timeout, "server never answered /health"
            time.sleep(0.05)
        return time.monotonic() - started

    def wait_ready(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (answer := self.health()) is None or answer[1].get("status") not in ("ok", "degraded"):
            assert time.monotonic() < deadline, f"not ready: {answer}"
            time.sleep(0.05)
        return answer[1]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    def stop(self, sig: int = signal.SIGTERM) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


@contextlib.contextmanager
def server(
    tmp_path: Path, *args: str, ready: bool = True, env: dict[str, str] | None = None
) -> Iterator[Server]:
    running = Server(tmp_path, *args, env=env)
    try:
        running.wait_answering()
        if ready:
            running.wait_ready()
        yield running
    finally:
        running.stop()


@contextlib.asynccontextmanager
async def session(base: str) -> AsyncIterator[ClientSession]:
    """The official SDK client over streamable HTTP."""
    async with streamable_http_client(f"{base}/mcp") as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


async def call(client: ClientSession, name: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
    """(is_error, structured result or error text)."""
    result = await client.call_tool(name, arguments)
    if result.is_error:
        return True, result.content[0].text
    return False, (result.structured_content or {}).get("result")


async def calc_answers(client: ClientSession, within: float = 5.0) -> None:
    started = time.monotonic()
    assert await call(client, "calc_add", {"a": 1}) == (False, 3)
    assert time.monotonic() - started < within


async def box_errors(client: ClientSession) -> dict[str, list[str]]:
    result = await client.call_tool("box_status", {})
    return {box["box"]: box["errors"] for box in result.structured_content["boxes"]}


@pytest.fixture
def boxes(tmp_path: Path) -> Path:
    root = tmp_path / "boxes"
    make_box(root, "calc", {"arith": ARITH})
    return root


async def test_hostile_folders_are_load_errors_of_their_box_at_start_and_on_reload(tmp_path, boxes):
    dangling = make_box(boxes, "dangling", {"m": VERSION.format(n=1)})
    (dangling / "tools" / "gone.py").symlink_to(dangling / "nowhere.py")
    zero = make_box(boxes, "zero", {"m": VERSION.format(n=1)})
    (zero / "data.bin").symlink_to("/dev/zero")
    leak = make_box(boxes, "leak", {"m": VERSION.format(n=1)})
    (leak / "README.md").symlink_to("/etc/shadow")
    big = make_box(boxes, "big", {"m": VERSION.format(n=1)}, manifest="max_box_mb = 1\n")
    (big / "weights.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    everything = make_box(boxes, "everything", {"m": VERSION.format(n=1)})
    (everything / "root").symlink_to("/")  # neither the snapshot nor the watcher may walk it
    live = make_box(boxes, "live", {"m": VERSION.format(n=1)}, README__md="# Live\n")
    started = time.monotonic()
    with server(tmp_path, "--boxes", str(boxes)) as running:
        assert time.monotonic() - started < 20
        async with session(running.base) as client:
            await calc_answers(client)
            errors = await box_errors(client)
            assert "gone.py: is a dangling link" in errors["dangling"][0]
            assert f"{zero / 'data.bin'}: is a link to /dev/zero, outside the box" in errors["zero"][0]
            assert "README.md: is a link to /etc/shadow, outside the box" in errors["leak"][0]
            assert "over its 1 MB size cap" in errors["big"][0] and errors["live"] == []
            assert "root: is a link to /, outside the box" in errors["everything"][0]
            readmes = [str(r.uri) for r in (await client.list_resources()).resources]
            assert "box://live/readme" in readmes and "box://leak/readme" not in readmes

            (live / "tools" / "escape.txt").symlink_to("/etc/passwd")  # a reload meets a bad link
            write_tool(live, "m", VERSION.format(n=2))
            await wait_for(lambda: box_errors(client), lambda e: "outside the box" in "".join(e["live"]))
            assert await call(client, "live_version", {}) == (False, 1)  # the last good version serves
            await calc_answers(client)

            (live / "tools" / "escape.txt").unlink()
            write_tool(live, "m", VERSION.format(n=3))
            await wait_for(lambda: call(client, "live_version", {}), lambda r: r == (False, 3))
        status, health = running.health()  # up; a box that fails to load degrades /health
        assert (status, health["status"]) == (503, "degraded")


async def test_a_box_that_hangs_at_import_delays_no_other_box(tmp_path, boxes):
    hang = make_box(boxes, "hang", {"m": "import time\ntime.sleep(600)\n"}, manifest="load_timeout = 4\n")
    with server(tmp_path, "--boxes", str(boxes), ready=False) as running:
        assert running.wait_answering() < 10  # the zygote and FastMCP imports, never the box's
        async with session(running.base) as client:
            await calc_answers(client)  # while `hang` is still importing
            running.wait_ready(timeout=10)
            errors = await box_errors(client)
            assert "did not load the box within its 4 s load timeout" in errors["hang"][0]

            write_tool(hang, "m", "import time\ntime.sleep(600)\n")  # reload it: still hangs
            await asyncio.sleep(0.3)
            write_tool(boxes / "calc", "extra", VERSION.format(n=7))  # another box reloads meanwhile
            started = time.monotonic()
            await wait_for(lambda: call(client, "calc_version", {}), lambda r: r == (False, 7))
            assert time.monotonic() - started < 3  # well before `hang`'s reload gives up (4 s)
            await calc_answers(client)
        status, health = running.health()  # up; `hang` never loads
        assert (status, health["status"]) == (503, "degraded")


async def test_same_named_boxes_the_first_found_serves(tmp_path, boxes):
    other = tmp_path / "other"
    make_box(boxes, "dup", {"which": 'def dup_which() -> str:\n    """Which."""\n    return "first"\n'})
    second = make_box(other, "dup", {"extra": 'def dup_extra() -> str:\n    """Extra."""\n    return "x"\n'})
    with server(tmp_path, "--boxes", str(boxes), "--boxes", str(other)) as running:
        async with session(running.base) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "dup_dup_which" in names and "dup_dup_extra" not in names
            errors = await box_errors(client)
            (message,) = errors[f"dup@{second}"]
            assert f"already served from {boxes / 'dup'}" in message and str(second) in message
            await calc_answers(client)
        assert running.health()[0] == 200


async def test_queued_calls_end_within_their_timeout(tmp_path, boxes):
    make_box(boxes, "busy", {"f": FAULTS}, manifest="workers = 2\ntimeout = 2\n")
    with server(tmp_path, "--boxes", str(boxes)) as running:
        async with session(running.base) as client:
            await call(client, "busy_slow", {"seconds": 0})

            async def timed() -> tuple[float, tuple[bool, Any]]:
                started = time.monotonic()
                outcome = await call(client, "busy_slow", {"seconds": 1.5})
                return time.monotonic() - started, outcome

            queued = [asyncio.create_task(timed()) for _ in range(8)]
            await asyncio.sleep(0.3)
            await calc_answers(client)
            results = await asyncio.gather(*queued)
            assert max(elapsed for elapsed, _ in results) < 2 + 1 + 0.5  # timeout + 1 s, and HTTP
            outcomes = [outcome for _, outcome in results]
            assert outcomes.count((False, "done")) == 2
            waited = [text for error, text in outcomes if error and "waiting for a free worker" in text]
            assert len(waited) >= 4 and all("timed out after 2 s" in text for text in waited)
            assert await call(client, "busy_slow", {"seconds": 0}) == (False, "done")
        assert running.health()[0] == 200


async def test_a_worker_that_breaks_the_protocol_is_replaced(tmp_path, boxes):
    make_box(boxes, "rogue", {"f": FAULTS})
    with server(tmp_path, "--boxes", str(boxes)) as running:
        async with session(running.base) as client:
            for frame in ("Expecting value", '{"id": 12345, "ok": true, "result": 1}'):
                error, text = await call(client, "rogue_forge", {"frame": frame})
                assert error and "a fresh worker takes the next call" in text
                await calc_answers(client)
                assert await call(client, "rogue_slow", {"seconds": 0}) == (False, "done")
        assert running.health()[0] == 200


async def test_a_huge_result_is_a_tool_error_and_costs_the_server_no_memory(tmp_path, boxes):
    make_box(boxes, "huge", {"f": FAULTS})
    with server(tmp_path, "--boxes", str(boxes)) as running:
        async with session(running.base) as client:
            await calc_answers(client)
            before = running.peak_rss_mb()
            pending = asyncio.create_task(call(client, "huge_blob", {"megabytes": 60}))
            await calc_answers(client, within=5)
            error, text = await pending
            assert error and "result is 60.0 MB, over the box's 8 MB cap (max_result_mb" in text
            assert running.peak_rss_mb() - before < 30
            assert await call(client, "huge_blob", {"megabytes": 0}) == (False, "")
        assert running.health()[0] == 200


async def test_an_output_flood_is_cut_on_its_way_to_the_log(tmp_path, boxes):
    make_box(boxes, "noisy", {"f": FAULTS})
    with server(tmp_path, "--boxes", str(boxes)) as running:
        async with session(running.base) as client:
            pending = asyncio.create_task(call(client, "noisy_flood", {"megabytes": 40}))
            await calc_answers(client, within=5)
            assert await pending == (False, "flooded")
            assert await call(client, "noisy_slow", {"seconds": 0}) == (False, "done")
        assert running.health()[0] == 200
    log = running.log.read_bytes()
    assert len(log) < 1024 * 1024
    assert b"399901 more lines" in log  # 400,000 short lines and the long one, less the 100 logged


async def test_timeouts_are_finite_positive_and_capped(tmp_path, boxes):
    greedy = '''
from mcp_box_server import tool


@tool(timeout=1e9)
def wait(seconds: float) -> str:
    """Sleep."""
    import time
    time.sleep(seconds)
    return "done"
'''
    endless = '''
import math
from mcp_box_server import tool


@tool(timeout=math.inf)
def forever() -> str:
    """Never ends."""
    return "never"
'''
    make_box(boxes, "greedy", {"g": greedy, "e": endless})
    make_box(boxes, "inf", {"m": VERSION.format(n=1)}, manifest="timeout = inf\n")
    with server(tmp_path, "--boxes", str(boxes), "--max-timeout", "1.5") as running:
        async with session(running.base) as client:
            started = time.monotonic()
            error, text = await call(client, "greedy_wait", {"seconds": 30})
            assert error and "timed out after 1.5 s running" in text
            assert time.monotonic() - started < 1.5 + 1 + 1  # timeout + 1 s, and a loaded CI machine
            errors = await box_errors(client)
            assert any("positive, finite number of seconds, got inf" in e for e in errors["greedy"])
            assert "'timeout': must be a positive number of seconds, got inf" in errors["inf"][0]
            await calc_answers(client)
        status, health = running.health()  # up; `inf` does not load
        assert (status, health["status"]) == (503, "degraded")


async def test_sessions_are_bounded_and_expire_when_idle(tmp_path, boxes):
    args = ("--boxes", str(boxes), "--max-sessions", "3", "--session-idle-timeout", "1")
    with server(tmp_path, *args) as running:
        opened = [mcp_post(f"{running.base}/mcp", INITIALIZE)[0] for _ in range(3)]
        assert opened == [200, 200, 200]
        status, body = mcp_post(f"{running.base}/mcp", INITIALIZE)
        assert status == 503 and "Too many open sessions" in body
        deadline = time.monotonic() + 10
        while mcp_post(f"{running.base}/mcp", INITIALIZE)[0] != 200:  # until the idle ones are closed
            assert time.monotonic() < deadline, "idle sessions were never closed"
            await asyncio.sleep(0.2)
        async with session(running.base) as client:
            await calc_answers(client)
        assert running.health()[0] == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_removes_snapshots_and_stops_every_process(tmp_path, boxes, sig):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), XDG_RUNTIME_DIR="")  # snapshots go under TMPDIR
    running = Server(tmp_path, "--boxes", str(boxes), env=env)
    try:
        running.wait_answering()
        running.wait_ready()
        assert list(scratch.glob("mcp-box-*/*"))  # roots in the private runtime folder
        family = descendants(running.process.pid)
        assert family  # the zygote and calc's worker
    finally:
        running.stop(sig)
    assert_gone(family, scratch)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stdio_server_stops_on_a_signal_while_its_client_is_connected(tmp_path, boxes, sig):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), XDG_RUNTIME_DIR="")  # snapshots go under TMPDIR
    process = subprocess.Popen(
        [*SERVE, "--boxes", str(boxes), "--no-bundled"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while len(family := descendants(process.pid)) < 2 or not list(scratch.glob("mcp-box-*/*/box")):
            assert time.monotonic() < deadline, "the stdio server never started its worker"
            time.sleep(0.1)
        process.send_signal(sig)
        assert process.wait(timeout=10) == 128 + sig  # stdin still open: it does not wait for EOF
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    assert_gone(family, scratch)


def assert_gone(family: list[int], scratch: Path) -> None:
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in family if alive(pid)] == []
    assert list(scratch.glob("mcp-box-*/*")) == []


async def wait_for(probe: Any, predicate: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"never matched: {value}"
        await asyncio.sleep(0.1)
