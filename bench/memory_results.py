"""Peak memory of a server passing huge results, against main's behaviour and a bare FastMCP server.

    .venv/bin/python bench/memory_results.py                 # ours, main at e1363ac, bare
    .venv/bin/python bench/memory_results.py --before REV    # another baseline commit

The scenario of issue 17 (tests/support/big_results.py): a sandboxed box allowing itself
`max_result_mb = 64`, `memory_mb = 1024` and `workers = 8`, its tool returning 63 MB of text,
called over streamable HTTP by 8 `mcp` SDK clients at once, twice each. Printed: each
server's peak resident memory (`VmHWM` of the server process; workers and zygotes are
processes of their own and not counted) and what the clients received.

- ours:   `python -m mcp_box_server serve` from this checkout, `--max-workers 8`
- before: the same command from `git archive REV` (default e1363ac, main before this work)
- bare:   bench/_bare_server.py, the tool imported and run in-process by FastMCP

Each server runs alone, one after the other (peak memory, not time, is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.big_results import (  # noqa: E402
    CLIENTS,
    MB,
    RESULT_MB,
    ROUNDS,
    call_concurrently,
    make_big_box,
    peak_rss,
)
from tests.support.servers import SERVE, free_port, stop_group  # noqa: E402

BEFORE = "e1363ac"
SERVE_ARGS = ["--box", "big", "--no-reload", "--max-workers", "8"]


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], ready: str, cwd: Path | None = None) -> Iterator[int]:
    """Run a server in a process group of its own until `ready` answers 200 (for /health: every
    box loaded) or, for any other path, answers at all; yields its pid."""
    process = subprocess.Popen(command, start_new_session=True, env=env, cwd=cwd, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _answers(ready):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)}: never answered {ready}")
            time.sleep(0.1)
        yield process.pid
    finally:
        stop_group(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except urllib.error.HTTPError:
        return not url.endswith("/health")
    except OSError:
        return False


def serve(boxes: Path, port: int) -> list[str]:
    return [*SERVE, "--transport", "http", "--port", str(port), "--boxes", str(boxes), *SERVE_ARGS]


@contextlib.contextmanager
def checkout_of(revision: str) -> Iterator[Path]:
    """The repository's files at `revision`, in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="mcp-box-before-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", revision], check=True, capture_output=True
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def measure(label: str, base: str, pid: int) -> int:
    started = time.monotonic()
    sizes = asyncio.run(call_concurrently(f"{base}/mcp"))
    peak = peak_rss(pid)
    whole = sum(size == RESULT_MB * MB for size in sizes)
    print(
        f"{label:>7}: peak RSS {peak / MB:6.0f} MB; {whole}/{len(sizes)} results of {RESULT_MB} MB "
        f"received whole, in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help=f"baseline commit (default {BEFORE})")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare FastMCP server")
    args = parser.parse_args()
    print(f"{CLIENTS} clients x {ROUNDS} calls of a {RESULT_MB} MB text result, streamable HTTP", flush=True)
    peaks: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="mcp-box-bench-") as scratch:
        boxes = Path(scratch) / "boxes"
        make_big_box(boxes)
        env = os.environ | {"MCP_BOX_CACHE": "off"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with running(serve(boxes, port), env, f"{base}/health") as pid:
            peaks["ours"] = measure("ours", base, pid)
        with checkout_of(args.before) as before:
            old = env | {"PYTHONPATH": str(before)}
            with running(serve(boxes, port), old, f"{base}/health", cwd=before) as pid:
                peaks["before"] = measure("before", base, pid)
        if not args.no_bare:
            bare = [sys.executable, str(REPO / "bench" / "_bare_server.py"), "--transport", "http"]
            bare_env = env | {"BENCH_BARE_BOXES": str(boxes)}
            with running([*bare, "--port", str(port)], bare_env, f"{base}/mcp") as pid:
                peaks["bare"] = measure("bare", base, pid)
    for other in ("before", "bare"):
        if other in peaks:
            print(f"ours / {other}: {peaks['ours'] / peaks[other]:.2f}x")


if __name__ == "__main__":
    main()
