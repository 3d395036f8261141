"""macOS, stood in for: the real server, with macOS's Python-level APIs (see `emulate.py`),
as an unprivileged user, spoken to by the official clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.platform.emulate import UNPRIVILEGED, clean_env
from tests.support.boxes import ARITH, make_box
from tests.support.scripted_openai import Script, ScriptedOpenAI
from tests.support.servers import (
    free_port,
    http_get,
    legacy_client,
    stop_group,
    wait_for_tools,
    wait_healthy,
    write_tool,
)

HOG = '''
def hog(megabytes: int) -> int:
    """Hold `megabytes` of memory, touched."""
    block = bytearray(megabytes << 20)
    for at in range(0, len(block), 4096):
        block[at] = 1
    return len(block) >> 20


def probe() -> str:
    """Answer."""
    return "ok"
'''
JAILED = '''
def probe() -> str:
    """Answer, if it ever loads."""
    return "ok"
'''


async def tool_names(session: ClientSession, wanted: set[str], timeout: float = 60) -> set[str]:
    """The listed tools once `wanted` are among them: boxes load in the background, and spawned
    workers under load take a while."""
    deadline = time.monotonic() + timeout
    while True:
        names = {tool.name for tool in (await session.list_tools()).tools}
        if wanted <= names or time.monotonic() > deadline:
            return names
        await asyncio.sleep(0.2)


async def box_status(session: ClientSession, box: str, timeout: float = 60) -> dict:
    """The box's entry in box://status once it has loaded or failed."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads((await session.read_resource("box://status")).contents[0].text)
        entry = next((entry for entry in status if entry["box"] == box), {})
        if entry.get("serving") or entry.get("errors") or time.monotonic() > deadline:
            return entry
        await asyncio.sleep(0.2)


def mcp_box(python: Path, *args: str) -> list[str]:
    return [*UNPRIVILEGED, str(python), "-m", "mcp_box_server", *args]


def run(python: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = mcp_box(python, *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=180, env=clean_env(home))


def test_the_emulation_takes_the_linux_apis_away(darwin_python, tmp_path):
    check = textwrap.dedent(
        """
        import ctypes, errno, os, resource, socket, sys
        from mcp_box_server.runtime.platform import current
        assert sys.platform == "darwin" and current().NAME == "darwin" and os.geteuid() != 0
        try:
            socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as exc:
            assert exc.errno == errno.EPROTONOSUPPORT
        else:
            raise AssertionError("SOCK_SEQPACKET")
        try:
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        except ValueError:
            pass
        else:
            raise AssertionError("RLIMIT_AS")
        for path in ("/proc/self/stat", "/sys/fs/cgroup/cpu.max"):
            try:
                open(path)
            except FileNotFoundError:
                pass
            else:
                raise AssertionError(path)
        for name in ("prctl", "mount", "unshare"):
            try:
                getattr(ctypes.CDLL(None), name)
            except AttributeError:
                pass
            else:
                raise AssertionError(name)
        print("emulated")
        """
    )
    done = subprocess.run(
        [*UNPRIVILEGED, str(darwin_python), "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path),
    )
    assert done.stdout.strip() == "emulated", done.stderr


async def test_stdio_serves_the_bundled_boxes_with_the_official_client(darwin_python, tmp_path):
    command, *args = mcp_box(darwin_python, "serve", "--no-reload")
    params = StdioServerParameters(command=command, args=args, env=clean_env(tmp_path))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        wanted = {"math_gcd", "math_solve_24", "bio_gc_content", "bio_translate"}
        assert wanted <= await tool_names(session, wanted)
        gcd = await session.call_tool("math_gcd", {"numbers": [12, 18]})
        assert not gcd.is_error and gcd.structured_content["gcd"] == 6
        gc = await session.call_tool("bio_gc_content", {"sequence": "GGCCAATT"})
        assert not gc.is_error and "50" in gc.content[0].text


@contextlib.contextmanager
def http_server(python: Path, home: Path, *args: str, transport: str = "http") -> Iterator[str]:
    """`serve --transport http|sse` on a free loopback port, once /health answers; no traceback logged."""
    port = free_port()
    command = mcp_box(python, "serve", "--transport", transport, "--port", str(port), *args)
    with (home / "log").open("w+") as log:
        server = subprocess.Popen(command, stderr=log, env=clean_env(home), start_new_session=True)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", server, timeout=120)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_group(server)
        log.seek(0)
        assert "Traceback" not in log.read()


def test_http_health_reports_both_bundled_boxes_serving(darwin_python, tmp_path):
    with http_server(darwin_python, tmp_path, "--no-reload") as base:
        status, body = http_get(f"{base}/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok"
    assert health["boxes"]["math"]["serving"] and health["boxes"]["bio"]["serving"], health


async def test_over_sse_one_worker_budget_is_shared_by_two_boxes(darwin_python, tmp_path):
    """With room for one worker, each box's call reclaims the other's idle spawned worker."""
    box = make_box(tmp_path / "boxes", "calc", {"arith": ARITH})
    with http_server(
        darwin_python, tmp_path, "--boxes", str(box), "--max-workers", "1", transport="sse"
    ) as base:
        async with legacy_client(f"{base}/sse") as (client, _):
            await wait_for_tools(client, lambda names: {"calc_add", "math_gcd"} <= set(names), timeout=60)
            for _ in range(2):
                assert (await client.call_tool("calc_add", {"a": 1})).structured_content == {"result": 3}
                gcd = await client.call_tool("math_gcd", {"numbers": [12, 18]})
                assert gcd.structured_content["gcd"] == 6


async def test_over_http_timeouts_crashes_and_hot_reload_work(darwin_python, tmp_path):
    """Spawned workers are stopped on a timeout and replaced; an edited box reloads into new ones."""
    box = make_box(tmp_path / "boxes", "calc", {"arith": ARITH}, manifest="timeout = 2\n")
    with http_server(darwin_python, tmp_path, "--boxes", str(box), "--no-bundled") as base:
        async with legacy_client(f"{base}/mcp") as (client, changes):
            await wait_for_tools(client, lambda names: "calc_add" in names, timeout=60)
            hung = await client.call_tool("calc_slow", {"seconds": 60}, raise_on_error=False)
            assert hung.is_error and "timed out after 2 s" in hung.content[0].text
            crashed = await client.call_tool("calc_crash", {"code": 9}, raise_on_error=False)
            assert crashed.is_error and "exit code 9" in crashed.content[0].text
            assert (await client.call_tool("calc_add", {"a": 1})).structured_content == {"result": 3}
            write_tool(
                box, "more", 'def triple(x: int) -> int:\n    """Three times x."""\n    return 3 * x\n'
            )
            await changes.wait(timeout=60)
            await wait_for_tools(client, lambda names: "calc_triple" in names, timeout=60)
            assert (await client.call_tool("calc_triple", {"x": 5})).structured_content == {"result": 15}


@pytest.fixture
def boxes(tmp_path):
    make_box(tmp_path, "open", {"tools": HOG}, manifest="memory_mb = 200\ntimeout = 30\n")
    make_box(tmp_path, "jailed", {"tools": JAILED}, manifest='trust = "sandboxed"\n')
    return tmp_path


async def test_a_trusted_box_serves_beside_a_sandboxed_one_refused_for_want_of_seatbelt(
    darwin_python, boxes, tmp_path
):
    """Seatbelt cannot be applied (no `sandbox_init`): the sandboxed box is refused with the
    designed message, the trusted one serves, and its memory cap holds without RLIMIT_AS."""
    command, *args = mcp_box(darwin_python, "serve", "--boxes", str(boxes), "--no-reload")
    params = StdioServerParameters(command=command, args=args, env=clean_env(tmp_path))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = await tool_names(session, {"open_probe", "math_gcd", "bio_translate"})
        assert "open_probe" in names and not any(name.startswith("jailed_") for name in names)
        jailed = await box_status(session, "jailed")
        (error,) = jailed["errors"]
        assert not jailed["serving"]
        assert "jailed: sandbox not enforced here (seatbelt: " in error and "sandbox_init" in error
        assert "Traceback" not in error

        small = await session.call_tool("open_hog", {"megabytes": 20})
        assert not small.is_error and small.structured_content == {"result": 20}
        big = await session.call_tool("open_hog", {"megabytes": 600})
        assert big.is_error and "ran out of memory (cap 200 MB)" in big.content[0].text
        assert (await session.call_tool("open_probe", {})).structured_content == {"result": "ok"}


def test_doctor_says_which_layers_hold_without_a_traceback(darwin_python, tmp_path):
    done = run(darwin_python, tmp_path, "doctor", "--json")
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["platform"] == "darwin"
    assert report["seatbelt"].startswith("missing")
    assert report["trusted"]["serving"] and not report["sandboxed"]["serving"]
    assert "seatbelt" in report["sandboxed"]["required_missing"]
    assert {"descriptors", "rlimits", "memory watch"} <= set(report["sandboxed"]["enforced"])

    text = run(darwin_python, tmp_path, "doctor")
    assert "Seatbelt: missing" in text.stdout and "Traceback" not in text.stderr


def test_install_claude_desktop_print_and_pack_mcpb_answer(darwin_python, tmp_path):
    done = run(darwin_python, tmp_path, "install", "claude-desktop", "--print")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "mcp-box" in done.stdout
    bundle = tmp_path / "mcp-box.mcpb"
    packed = run(darwin_python, tmp_path, "pack", "mcpb", "--out", str(bundle))
    assert packed.returncode == 0 and "Traceback" not in packed.stderr, packed.stderr
    with zipfile.ZipFile(bundle) as unpacked:
        manifest = json.loads(unpacked.read("manifest.json"))
    assert "darwin" in manifest["compatibility"]["platforms"]
    assert {"math_gcd", "bio_translate"} <= {tool["name"] for tool in manifest["tools"]}


async def test_ask_uses_the_bundled_math_box(darwin_python, tmp_path):
    """The student harness starts the server over stdio with this (emulated) interpreter.

    A first server run fills the tool-list cache, so the server `ask` starts lists the math box
    at once: a box that takes longer than the start-up grace to load (a fresh interpreter
    importing sympy on a loaded machine may) is listed only once it has, and `ask` does not wait.
    """
    command, *args = mcp_box(darwin_python, "serve", "--no-reload")
    params = StdioServerParameters(command=command, args=args, env=clean_env(tmp_path))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        assert "math_solve_24" in await tool_names(session, {"math_solve_24"})
    call = {"tool_calls": [{"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13]}}]}
    with ScriptedOpenAI(Script.sequence([call, "Final answer: (4 - 10) * (9 - 13)"])) as llm:
        question = "Use the numbers 4 9 10 13 and + - * / to make 24 (Game of 24)."
        done = run(
            darwin_python, tmp_path, "ask", question, "--model", "scripted", "--base-url", llm.base_url
        )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == "(4 - 10) * (9 - 13)\n"
    (tool_reply,) = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert json.loads(tool_reply["content"])["expression"] == "(4 - 10) * (9 - 13)"
