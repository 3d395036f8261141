"""The sandbox attack suite, submitted as programs to `execute` instead of served as box tools.

The same attack bodies (tests/server/test_sandbox_attacks.py's ATTACKS) run as the top of
a program whose last lines call them; each is judged, as there, by its effect outside
the program's worker (a file planted, a byte received, a secret returned, a process
signalled or traced, a limit lifted), never by what the program printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mcp_box_server
from tests.server.test_sandbox_attacks import (
    ATTACKS,
    ENV_SECRET,
    FILE_SECRET,
    HELPER,
    OTHER,
    TOKEN,
    Listener,
    assert_still_serving,
    cpu_ticks,
    planted,
    session,
    shmem_mb,
)
from tests.support.boxes import make_box
from tests.support.processes import children, zygotes
from tests.support.servers import server_process

MEMORY_MB = 600  # a program's worker (--code-memory-mb)


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """As the attack suite's world, with code mode on and no attack box: the attacks come as code."""
    root = Path(tempfile.mkdtemp(prefix="mcp-box-code-attacks-"))
    boxes = root / "boxes"
    make_box(boxes, "other", {"echo": OTHER}, manifest='trust = "sandboxed"\n')
    victim = make_box(boxes, "victim", {"helper": HELPER})
    markers = root / "markers"
    markers.mkdir()
    for path, mode in ((root, 0o755), (boxes, 0o755), (markers, 0o777), (victim / "tools", 0o777)):
        os.chmod(path, mode)
    os.chmod(victim / "tools" / "helper.py", 0o666)
    secret = root / "secret.txt"
    secret.write_text(FILE_SECRET)
    os.chmod(secret, 0o644)
    listener = Listener()
    env = dict(os.environ, MCP_BOX_ATTACK_SECRET=ENV_SECRET)
    (root / "cwd").mkdir()
    (root / "cwd" / "cwd-secret.txt").write_text(FILE_SECRET)
    args = ("--boxes", str(boxes), "--code-mode", "--code-timeout", "30", "--code-memory-mb", str(MEMORY_MB))
    try:
        with server_process(*args, token=TOKEN, env=env, cwd=root / "cwd") as (base, server):
            yield {
                "base": base,
                "server": server,
                "markers": markers,
                "victim": victim,
                "secret": secret,
                "listener": listener,
            }
    finally:
        listener.close()
        shutil.rmtree(root, ignore_errors=True)


async def attack(client: Any, *calls: str) -> str:
    """Run the attack bodies, then `calls` (each printed); the program must run to its end."""
    code = ATTACKS + "\n" + "\n".join(f"print({call})" for call in calls) + "\n"
    result = await client.call_tool("execute", {"code": code})
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert not result.is_error, text
    return text


async def test_writes_by_every_route_plant_nothing(world):
    markers, victim = world["markers"], world["victim"]
    victim_file = victim / "tools" / "helper.py"
    before = (victim_file.read_bytes(), victim_file.stat().st_mode, victim_file.stat().st_mtime)
    site = Path(sysconfig.get_paths()["purelib"])
    code = "import pathlib; pathlib.Path(" + repr(str(markers / "ran")) + ").write_text('x')\n"
    code += "def planted() -> str:\n    '''Planted.'''\n    return 'planted'\n"
    async with session(world) as client:
        await attack(
            client,
            f"write_file({str(markers / 'open')!r})",
            f"write_file({str(site / 'mcp_box_evil.pth')!r})",
            f"write_with_libc({str(markers / 'libc')!r})",
            f"write_with_dir_fd({str(victim / 'tools')!r}, 'evil.py', {code!r})",
            f"write_with_dir_fd({str(markers)!r}, 'dirfd', 'x')",
            f"file_calls({str(markers)!r}, {str(victim_file)!r})",
        )
        await asyncio.sleep(1.5)  # a planted module would have been hot-reloaded by now
        assert planted(markers) == []
        assert not (victim / "tools" / "evil.py").exists()
        assert not (site / "mcp_box_evil.pth").exists()
        after = (victim_file.read_bytes(), victim_file.stat().st_mode, victim_file.stat().st_mtime)
        assert after == before
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "victim_planted" not in names
        await assert_still_serving(client, world)


async def test_no_program_runs_and_no_process_starts(world):
    markers = world["markers"]
    async with session(world) as client:
        await attack(
            client,
            f"run_libc_system({str(markers / 'system')!r})",
            f"run_fork_exec({str(markers / 'exec')!r})",
            f"run_memfd_exec({str(markers / 'memfd')!r})",
            f"run_multiprocessing({str(markers / 'spawn')!r})",
        )
        await asyncio.sleep(0.5)
        assert planted(markers) == []
        await assert_still_serving(client, world)


async def test_no_byte_leaves_by_any_socket(world):
    listener, server = world["listener"], world["server"]
    async with session(world) as client:
        await attack(
            client, f"connect_socket({listener.port})", f"connect_after_setns({server.pid}, {listener.port})"
        )
        await asyncio.sleep(0.5)
        assert listener.received == []
        await assert_still_serving(client, world)


async def test_the_server_and_zygotes_survive_signals_and_tracing(world):
    server = world["server"]
    async with session(world) as client:
        await client.call_tool("execute", {"code": "1"})  # code mode's zygote is up
        before = zygotes(server.pid)
        assert len(before) >= 2
        await attack(client, f"signal_processes({[server.pid, *before]})", f"trace_process({server.pid})")
        await asyncio.sleep(0.5)
        assert server.poll() is None
        assert all(Path(f"/proc/{pid}").exists() for pid in before)
        assert "TracerPid:\t0" in Path(f"/proc/{server.pid}/status").read_text().splitlines()
        await assert_still_serving(client, world)


async def test_no_secret_comes_back(world):
    server = world["server"]
    targets = [
        f"/proc/{server.pid}/environ",
        f"/proc/{server.pid}/cmdline",
        *(f"/proc/{pid}/environ" for pid in zygotes(server.pid)),
        str(world["secret"]),
        "/etc/shadow",
        str(Path.home() / ".bash_history"),
        "/proc/self/environ",
        "cwd-secret.txt",
        str(world["secret"].parent / "cwd" / "cwd-secret.txt"),
    ]
    package = Path(mcp_box_server.__file__)
    async with session(world) as client:
        text = await attack(client, *(f"read_file({path!r})" for path in targets))
        for secret in (TOKEN, ENV_SECRET, FILE_SECRET, "root:"):
            assert secret not in text
        other = world["victim"].parent / "other" / "tools" / "echo.py"
        for path in (other, package):
            reply = await attack(client, f"read_file({str(path)!r})")
            assert path.read_text()[:40] not in reply and "Permission denied" in reply
        await assert_still_serving(client, world)


def _program_caps(server: int) -> set[tuple[str, str]]:
    """The address-space limits of the workers capped at the program's memory."""
    caps = set()
    for zygote in zygotes(server):
        for worker in children(zygote):
            with contextlib.suppress(OSError, StopIteration):
                limits = Path(f"/proc/{worker}/limits").read_text()
                line = next(line for line in limits.splitlines() if line.startswith("Max address space"))
                soft, hard = line.split()[3:5]
                if str(MEMORY_MB * 1024 * 1024) in (soft, hard):
                    caps.add((soft, hard))
    return caps


async def test_the_memory_cap_cannot_be_lifted(world):
    async with session(world) as client:
        lifting = asyncio.create_task(attack(client, "lift_memory_cap()", "__import__('time').sleep(3)"))
        await asyncio.sleep(2)
        caps = _program_caps(world["server"].pid)
        await lifting
        assert caps == {(str(MEMORY_MB * 1024 * 1024),) * 2}
        await assert_still_serving(client, world)


async def test_inherited_descriptors_reach_nothing_of_the_zygote(world):
    server = world["server"]
    async with session(world) as client:
        await client.call_tool("execute", {"code": "1"})
        before = {pid: cpu_ticks(pid) for pid in zygotes(server.pid)}
        text = await attack(client, "abuse_descriptors()")
        await asyncio.sleep(1.0)
        after = {pid: cpu_ticks(pid) for pid in before}
        ticks = os.sysconf("SC_CLK_TCK")
        assert all(after[pid] - before[pid] < ticks // 2 for pid in before), (before, after)
        held = text.split()
        assert len(held) <= 1, held  # the channel to the server, nothing else
        await assert_still_serving(client, world)


async def test_memory_outside_the_address_space_is_bounded(world):
    async with session(world) as client:
        before = shmem_mb()
        hog = asyncio.create_task(attack(client, "hog_memory(300, 2.0)"))
        await asyncio.sleep(1.5)
        during = shmem_mb()
        await hog
        # Unconfined, memfd + shm + three 300 MB files hold 1.5 GB; confined, at most the temp dir.
        assert during - before < MEMORY_MB + 150, (before, during)
        await assert_still_serving(client, world)


async def test_threads_are_bounded(world):
    async with session(world) as client:
        await client.call_tool("execute", {"code": "1"})
        spawn = asyncio.create_task(attack(client, "many_threads(3000, 4.0)"))
        most = 0
        while not spawn.done():
            for zygote in zygotes(world["server"].pid):
                for worker in children(zygote):
                    with contextlib.suppress(OSError, StopIteration):
                        status = Path(f"/proc/{worker}/status").read_text().splitlines()
                        most = max(most, int(next(x for x in status if x.startswith("Threads:")).split()[1]))
            await asyncio.sleep(0.1)
        await spawn
        assert 200 <= most <= 260, most
        await assert_still_serving(client, world)


async def test_no_datagram_reaches_a_named_socket(world):
    path = world["markers"] / "dgram.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    os.chmod(path, 0o777)
    receiver.settimeout(0.5)
    try:
        async with session(world) as client:
            await attack(client, f"datagram_to({str(path)!r})")
            with pytest.raises(TimeoutError):
                receiver.recv(64)
            await assert_still_serving(client, world)
    finally:
        receiver.close()
        path.unlink()


async def test_no_metadata_changes_outside(world):
    target = world["markers"] / "world-writable.txt"
    target.write_text("x")
    os.chmod(target, 0o666)
    before = target.stat()
    try:
        async with session(world) as client:
            await attack(
                client, f"touch_metadata({str(target)!r})", f"touch_metadata({str(world['markers'])!r})"
            )
            after = target.stat()
            assert (after.st_mode, after.st_mtime_ns, after.st_uid) == (before.st_mode, before.st_mtime_ns, 0)
            assert os.listxattr(target) == [] and os.listxattr(world["markers"]) == []
            assert world["markers"].stat().st_mode & 0o777 == 0o777
            reply = await attack(client, "watch_folder('/tmp')")
            assert "-1" in reply or "Error" in reply
    finally:
        target.unlink()
