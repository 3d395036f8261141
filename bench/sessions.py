"""Server memory per idle streamable-HTTP session: mcp-box against a bare FastMCP server.

    .venv/bin/python bench/sessions.py              # 2,000 sessions, about a minute
    .venv/bin/python bench/sessions.py --sessions 500

Each session is opened as a client would (`initialize`, then `notifications/initialized`)
and then left idle. The server's resident memory (VmRSS) is read before and after; the
difference over the session count is the cost of one idle session. Three servers, one
after the other, each serving a small box over HTTP on 127.0.0.1:

- ours, unbounded:  `mcp-box serve` with limits raised past the session count;
- bare:             `bench/_bare_server.py`, FastMCP with the SDK defaults
                    (10,000 sessions, 30 minutes idle);
- ours, defaults:   `mcp-box serve` as shipped (256 sessions, 10 minutes idle):
                    sessions past the limit get 503, memory stays bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.boxes import ARITH, make_box  # noqa: E402
from tests.support.servers import INITIALIZE, free_port  # noqa: E402

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


@contextlib.contextmanager
def running(command: list[str], port: int, env: dict[str, str]) -> Iterator[int]:
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/mcp"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"server did not start: {command}")
            time.sleep(0.1)
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the app is up
    except OSError:
        return False
    return True


def open_session(url: str) -> int:
    """initialize + initialized; returns the HTTP status of initialize."""
    request = urllib.request.Request(url, json.dumps(INITIALIZE).encode(), HEADERS, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            session = response.headers["mcp-session-id"]
    except urllib.error.HTTPError as error:
        return error.code
    headers = HEADERS | {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    note = urllib.request.Request(url, json.dumps(INITIALIZED).encode(), headers, method="POST")
    with urllib.request.urlopen(note, timeout=30) as response:
        response.read()
    return 200


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def measure(label: str, command: list[str], port: int, env: dict[str, str], sessions: int) -> dict:
    with running(command, port, env) as pid:
        url = f"http://127.0.0.1:{port}/mcp"
        open_session(url)  # first-request allocations are not a session's
        time.sleep(1)
        before = rss_mb(pid)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: open_session(url), range(sessions)))
        elapsed = time.monotonic() - started
        time.sleep(2)
        after = rss_mb(pid)
    opened = statuses.count(200)
    row = {
        "server": label,
        "asked": sessions,
        "opened": opened,
        "refused_503": statuses.count(503),
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "kb_per_session": round((after - before) * 1024 / max(opened, 1), 1),
        "open_s": round(elapsed, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        boxes = Path(scratch) / "boxes"
        make_box(boxes, "calc", {"arith": ARITH})
        env = dict(os.environ, MCP_BOX_CACHE="off", BENCH_BARE_BOXES=str(boxes))
        serve = [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "http", "--no-reload"]
        serve += ["--boxes", str(boxes), "--no-bundled"]
        unbounded = ["--max-sessions", str(args.sessions + 10), "--session-idle-timeout", "3600"]
        bare = [sys.executable, str(ROOT / "bench" / "_bare_server.py"), "--transport", "http"]
        rows = []
        port = free_port()
        rows.append(
            measure(
                "mcp-box (limits raised)", [*serve, *unbounded, "--port", str(port)], port, env, args.sessions
            )
        )
        port = free_port()
        rows.append(measure("bare FastMCP", [*bare, "--port", str(port)], port, env, args.sessions))
        port = free_port()
        rows.append(measure("mcp-box (defaults)", [*serve, "--port", str(port)], port, env, args.sessions))
    ours, baseline = rows[0]["kb_per_session"], rows[1]["kb_per_session"]
    print(f"\nper idle session: mcp-box {ours} KB, bare FastMCP {baseline} KB, ratio {ours / baseline:.2f}x")
    print(
        f"with the default limits: {rows[2]['opened']} opened, {rows[2]['refused_503']} refused (503), "
        f"server at {rows[2]['rss_after_mb']} MB"
    )


if __name__ == "__main__":
    main()
