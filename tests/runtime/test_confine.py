"""Kernel confinement of workers: fail closed where a layer is missing, and trusted
workers take every process they started down with them.

The attacks on a sandboxed box are in tests/server/test_sandbox_attacks.py.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, ToolTimeout
from tests.support.boxes import make_box
from tests.support.kernel import LANDLOCK, without_syscalls
from tests.support.processes import alive, children

MCP_BOX = [sys.executable, "-m", "mcp_box_server"]

PROBE = '''
def probe() -> str:
    """Answer."""
    return "ok"
'''

SPAWNER = '''
import subprocess
import time


def escape(seconds: str) -> str:
    """Start a process in a new session (out of the worker's process group), then hang."""
    subprocess.Popen(["sleep", seconds], start_new_session=True)
    subprocess.Popen(["setsid", "sleep", seconds])
    time.sleep(60)
    return "never"
'''


def sleepers(seconds: str) -> list[int]:
    """Live `sleep SECONDS` processes, by their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[:2] == [b"sleep", seconds.encode()]:
                found.append(int(entry.name))
    return found


async def test_processes_a_trusted_tool_starts_in_new_sessions_die_with_its_worker(tmp_path):
    seconds = f"{time.time() % 1000 + 1000:.3f}"  # a command line no other process has
    pool = BoxPool(read_manifest(make_box(tmp_path, "spawner", {"spawn": SPAWNER}, manifest="timeout = 2\n")))
    await pool.start()
    try:
        assert "pid namespace" in pool.confinement["enforced"]
        call = asyncio.create_task(pool.call("escape", {"seconds": seconds}))
        deadline = time.monotonic() + 5
        while len(sleepers(seconds)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(sleepers(seconds)) == 2  # both escaped the process group
        with pytest.raises(ToolTimeout):
            await call
        deadline = time.monotonic() + 5
        while sleepers(seconds) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sleepers(seconds) == []
    finally:
        await pool.close()


@pytest.fixture
def boxes(tmp_path: Path) -> Path:
    make_box(tmp_path, "open", {"probe": PROBE})
    make_box(tmp_path, "jailed", {"probe": PROBE}, manifest='trust = "sandboxed"\n')
    return tmp_path


def listed(boxes: Path, *flags: str) -> dict[str, dict]:
    command = without_syscalls(LANDLOCK, [*MCP_BOX, "ls", "--boxes", str(boxes), "--json", *flags])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_env())
    return {box["box"]: box for box in json.loads(done.stdout)}


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "MCP_BOX_UNSAFE_WEAK_SANDBOX"}


def test_without_landlock_a_sandboxed_box_does_not_serve_and_says_why(boxes):
    by_name = listed(boxes)
    assert by_name["open"]["serving"] and by_name["open"]["tools"] == ["open_probe"]
    jailed = by_name["jailed"]
    assert not jailed["serving"] and jailed["tools"] == []
    (error,) = jailed["errors"]
    assert "sandbox not enforced" in error and "landlock" in error and "--unsafe-weak-sandbox" in error


def test_the_user_may_serve_it_anyway_with_a_flag_that_says_unsafe(boxes):
    jailed = listed(boxes, "--unsafe-weak-sandbox")["jailed"]
    assert jailed["serving"] and jailed["tools"] == ["jailed_probe"]


def test_doctor_reports_the_layers_and_fails_without_landlock():
    done = subprocess.run([*MCP_BOX, "doctor", "--json"], capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 0, report
    assert report["platform"] == "linux" and report["landlock_abi"] >= 1
    for layer in ("landlock", "seccomp", "no_new_privs", "rlimits", "descriptors"):
        assert layer in report["sandboxed"]["enforced"]
    assert "pid namespace" in report["trusted"]["enforced"]

    command = without_syscalls(LANDLOCK, [*MCP_BOX, "doctor", "--json"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_env())
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert "landlock" in report["sandboxed"]["required_missing"]
    assert not report["sandboxed"]["serving"] and report["trusted"]["serving"]


def test_doctor_in_a_user_namespace_confines_without_root(tmp_path):
    """The unprivileged path: no uid to drop to, a user namespace instead, capabilities cleared."""
    unshare = ["unshare", "--user", "--map-user=1000", "--map-group=1000"]
    done = subprocess.run(
        [*unshare, *MCP_BOX, "doctor", "--json"], capture_output=True, text=True, timeout=120
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, report
    assert {"no capabilities", "landlock", "seccomp"} <= set(report["sandboxed"]["enforced"])


def test_without_namespaces_the_sandbox_still_holds_or_says_why():
    """No `unshare` at all (as under Docker's default profile): namespaces are reported missing;
    as root, Python must then be reachable by the worker uid without bind mounts, or nothing serves."""
    unshare = {"x86_64": 272, "aarch64": 97}[os.uname().machine]
    command = without_syscalls((unshare,), [*MCP_BOX, "doctor", "--json"])
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_env())
    report = json.loads(done.stdout)
    sandboxed = report["sandboxed"]
    assert "pid namespace" in report["trusted"]["missing"] and "network namespace" in sandboxed["missing"]
    assert {"landlock", "seccomp"} <= set(sandboxed["enforced"])
    if os.geteuid() == 0 and _closed_to_nobody(sys.base_prefix):
        assert "reachable by its uid" in sandboxed["required_missing"] and done.returncode == 1
        assert not sandboxed["serving"]
    else:
        assert sandboxed["serving"] and done.returncode == 0


def _closed_to_nobody(path: str) -> bool:
    current = Path("/")
    for part in Path(path).parts[1:]:
        current /= part
        if not current.stat().st_mode & 0o001:
            return True
    return False


def test_no_zygote_or_worker_outlives_a_killed_server(tmp_path):
    """Even a worker stuck importing its box goes when the server is SIGKILLed."""
    make_box(tmp_path, "hang", {"slow": "import time\ntime.sleep(600)\n"})
    make_box(tmp_path, "jailed", {"probe": PROBE}, manifest='trust = "sandboxed"\n')
    server = subprocess.Popen(
        [*MCP_BOX, "serve", "--boxes", str(tmp_path), "--no-bundled", "--no-reload"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            zygotes = children(server.pid)
            workers = [w for z in zygotes for w in children(z)]
            if len(zygotes) == 2 and len(workers) >= 2:
                break
            time.sleep(0.1)
        assert len(zygotes) == 2 and len(workers) >= 2, (zygotes, workers)
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in zygotes + workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in zygotes + workers if alive(pid)] == []


HUGE = '''
def big(megabytes: int) -> str:
    """A long string."""
    return "x" * (megabytes << 20)
'''


async def test_a_box_toml_cannot_lift_the_servers_ceilings(tmp_path):
    from mcp_box_server.runtime import ResultTooLarge
    from mcp_box_server.runtime.pool import MAX_MEMORY_MB, MAX_RESULT_MB

    manifest = 'trust = "sandboxed"\nworkers = 1\nmemory_mb = 1000000\nmax_result_mb = 100000\n'
    pool = BoxPool(read_manifest(make_box(tmp_path, "greedy", {"huge": HUGE}, manifest=manifest)))
    await pool.start()
    try:
        assert await pool.call("big", {"megabytes": 1}) == "x" * (1 << 20)
        with pytest.raises(ResultTooLarge, match=f"{MAX_RESULT_MB} MB"):
            await pool.call("big", {"megabytes": MAX_RESULT_MB + 1})
        (worker,) = [w for w in pool._workers if w.alive] or list(pool._workers)
        limits = Path(f"/proc/{worker.pid}/limits").read_text().splitlines()
        address_space = next(line for line in limits if line.startswith("Max address space")).split()
        assert address_space[3] == address_space[4] == str(MAX_MEMORY_MB << 20)
    finally:
        await pool.close()


def test_a_libc_symbol_this_system_lacks_is_an_os_error_when_used_never_at_import():
    """`prctl`, `mount`, `unshare` exist only in Linux's libc: a layer that needs a missing one
    is reported as not enforced (see tests/platform for the whole server without them)."""
    from mcp_box_server.runtime.confine import _libc

    with pytest.raises(OSError) as missing:
        _libc.function("mcp_box_no_such_symbol")
    assert missing.value.errno == errno.ENOSYS and "mcp_box_no_such_symbol" in str(missing.value)
    assert _libc.function("getpid")() == os.getpid()


def test_rlimits_without_a_memory_cap_leave_the_address_space_alone():
    """Where RLIMIT_AS does not hold (macOS), the other limits are still fixed."""
    check = (
        "import resource\n"
        "from mcp_box_server.runtime.confine import limits\n"
        "before = resource.getrlimit(resource.RLIMIT_AS)\n"
        "limits.apply(None, 64, 128)\n"
        "assert resource.getrlimit(resource.RLIMIT_AS) == before\n"
        "assert resource.getrlimit(resource.RLIMIT_NOFILE) == (128, 128)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
