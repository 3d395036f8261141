"""A bounded soak: concurrent clients call a mix of tools while boxes are edited, broken and fixed.

    .venv/bin/python bench/soak.py                  # 60 s, 8 clients
    .venv/bin/python bench/soak.py --seconds 20 --clients 4

One `mcp-box serve --transport http` process serves three boxes from a temp folder:

- `calc`: cheap calls that must always succeed (`calc_add`);
- `faulty`: calls that fail on purpose (a crash, a hang past its timeout, a result over
  the cap, an output flood) and calls that must succeed (`faulty_echo`);
- `live`: edited once a second by a cycle of good versions, a syntax error, an import
  that hangs past its load timeout, a link out of the box, and fixes.

Every client is an `mcp` SDK `ClientSession` over streamable HTTP. Reported: calls made,
expected errors (the faults), unexpected errors (a must-succeed call that failed, or a
client that broke), p50/p99 latency of the must-succeed calls, and the peak memory of
the server process (VmHWM) and of the server with all its workers (sampled RSS).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.boxes import ARITH, make_box  # noqa: E402
from tests.support.servers import free_port, write_tool  # noqa: E402

FAULTY = '''
import os
import time


def echo(text: str) -> str:
    """Answer at once."""
    return text


def crash() -> str:
    """Kill the worker."""
    os._exit(9)


def hang() -> str:
    """Sleep past the timeout."""
    time.sleep(60)
    return "never"


def blob(megabytes: int) -> str:
    """A result of that size."""
    return "x" * megabytes * 1024 * 1024


def flood(lines: int) -> int:
    """Print that many lines."""
    for number in range(lines):
        print("flood", number)
    return lines
'''

VERSION = 'def version() -> int:\n    """Which version runs."""\n    return {n}\n'
EDITS = ["good", "syntax", "good", "hang", "good", "link", "unlink", "good"]

# (tool, arguments, kind): "quick" must succeed and is timed, "slow" must succeed, "fault" must fail
MIX: list[tuple[str, dict[str, Any], str]] = [
    ("calc_add", {"a": 1}, "quick"),
    ("calc_add", {"a": 2, "b": 5}, "quick"),
    ("faulty_echo", {"text": "hi"}, "quick"),
    ("live_version", {}, "quick"),
    ("faulty_crash", {}, "fault"),
    ("faulty_hang", {}, "fault"),
    ("faulty_blob", {"megabytes": 20}, "fault"),
    ("faulty_flood", {"lines": 50_000}, "slow"),
]
WEIGHTS = [30, 20, 20, 20, 2, 1, 2, 2]


class Tally:
    def __init__(self) -> None:
        self.calls = 0
        self.expected_errors = 0
        self.unexpected: list[str] = []
        self.latencies: list[float] = []


async def client(url: str, deadline: float, tally: Tally, seed: int) -> None:
    pick = random.Random(seed)
    try:
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            while time.monotonic() < deadline:
                tool, arguments, kind = pick.choices(MIX, WEIGHTS)[0]
                started = time.monotonic()
                result = await session.call_tool(tool, arguments)
                tally.calls += 1
                if kind == "quick":
                    tally.latencies.append(time.monotonic() - started)
                if result.is_error == (kind == "fault"):
                    tally.expected_errors += result.is_error
                else:
                    text = result.content[0].text if result.content else ""
                    tally.unexpected.append(f"{tool}: {text[:200]}")
    except Exception as exc:  # a broken client is the worst outcome: count it
        tally.unexpected.append(f"client broke: {type(exc).__name__}: {exc}"[:300])


async def editor(box: Path, deadline: float, log: list[str]) -> None:
    n = 1
    while time.monotonic() < deadline:
        for step in EDITS:
            if time.monotonic() >= deadline:
                return
            if step == "good":
                n += 1
                write_tool(box, "core", VERSION.format(n=n))
            elif step == "syntax":
                write_tool(box, "core", "def version( -> int:\n")
            elif step == "hang":
                write_tool(box, "core", "import time\ntime.sleep(600)\n")
            elif step == "link":
                (box / "tools" / "escape.txt").symlink_to("/etc/passwd")
                write_tool(box, "core", VERSION.format(n=n))
            elif step == "unlink":
                (box / "tools" / "escape.txt").unlink()
            log.append(step)
            await asyncio.sleep(1.0)


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith(field)), f"{field}: 0 kB")
    return int(line.split()[1]) / 1024


def family(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, queue = [pid], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


async def sample_memory(pid: int, deadline: float, peak: list[float]) -> None:
    while time.monotonic() < deadline:
        peak[0] = max(peak[0], sum(rss_mb(p) for p in family(pid)))
        await asyncio.sleep(0.5)


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                return
        except (urllib.error.HTTPError, OSError):
            time.sleep(0.1)
    raise RuntimeError("server not ready in 60 s")


async def soak(seconds: float, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "boxes"
        make_box(root, "calc", {"arith": ARITH})
        make_box(root, "faulty", {"f": FAULTY}, manifest="timeout = 2\nworkers = 4\nmax_result_mb = 4\n")
        live = make_box(root, "live", {"core": VERSION.format(n=1)}, manifest="load_timeout = 2\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = Path(scratch) / "server.log"
        command = [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "http"]
        command += ["--port", str(port), "--boxes", str(root), "--no-bundled"]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stderr=sink, stdout=sink, start_new_session=True)
        try:
            wait_ready(base, process)
            start_rss = rss_mb(process.pid)
            tally, edits, peak = Tally(), [], [0.0]
            started = time.monotonic()
            deadline = started + seconds
            await asyncio.gather(
                *(client(f"{base}/mcp", deadline, tally, seed) for seed in range(clients)),
                editor(live, deadline, edits),
                sample_memory(process.pid, deadline, peak),
            )
            elapsed = time.monotonic() - started
            server_peak = rss_mb(process.pid, "VmHWM")
            with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                health = json.loads(response.read())
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        log_mb = log.stat().st_size / 1024 / 1024
    latencies = sorted(tally.latencies)
    return {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "calls": tally.calls,
        "calls_per_s": round(tally.calls / elapsed, 1),
        "expected_errors": tally.expected_errors,
        "unexpected_errors": len(tally.unexpected),
        "unexpected_samples": tally.unexpected[:5],
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1) if latencies else None,
        "edits": len(edits),
        "server_rss_start_mb": round(start_rss, 1),
        "server_peak_mb": round(server_peak, 1),
        "server_and_workers_peak_mb": round(peak[0], 1),
        "server_log_mb": round(log_mb, 2),
        "health_after": health["status"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(soak(args.seconds, args.clients)), indent=2))


if __name__ == "__main__":
    main()
