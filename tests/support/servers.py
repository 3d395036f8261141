"""Start real `mcp-box serve` processes and connect real MCP clients to them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StdioTransport

SERVE = [sys.executable, "-m", "mcp_box_server", "serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def named_only(serve_args: tuple[str, ...]) -> list[str]:
    """A test server serves exactly the boxes its test names: `--boxes` adds to the bundled
    boxes, so the helpers below leave those out with `--no-bundled` (start `SERVE` yourself
    to serve both)."""
    return [*serve_args, "--no-bundled"] if "--boxes" in serve_args else list(serve_args)


def stdio_transport(*serve_args: str, env: dict[str, str] | None = None) -> StdioTransport:
    args = [*SERVE[1:], *named_only(serve_args)]
    return StdioTransport(command=SERVE[0], args=args, env=env, keep_alive=False)


def stdio_args(*serve_args: str) -> tuple[str, list[str]]:
    """(command, args) for the mcp SDK's StdioServerParameters."""
    return SERVE[0], [*SERVE[1:], *named_only(serve_args)]


@contextlib.contextmanager
def http_server(*serve_args: str, transport: str = "http", token: str | None = None) -> Iterator[str]:
    """Run `mcp-box serve` over HTTP on a free loopback port; yields the base URL."""
    with server_process(*serve_args, transport=transport, token=token) as (base, _):
        yield base


@contextlib.contextmanager
def server_process(
    *serve_args: str,
    transport: str = "http",
    token: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`http_server` that also yields the process (its pid), with a chosen environment and folder;
    its stderr goes to `log_file` when given, for a test to read."""
    port = free_port()
    command = [*SERVE, "--transport", transport, "--port", str(port), *named_only(serve_args)]
    if token:
        command += ["--token", token]
    # Its log goes to a file: a pipe nobody reads would stop the server once 64 KB are written.
    opened = open(log_file, "w+") if log_file else tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
    with opened as log:
        process = subprocess.Popen(command, start_new_session=True, stderr=log, text=True, env=env, cwd=cwd)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_healthy(base, process)
            except RuntimeError as exc:
                log.seek(0)
                raise RuntimeError(f"{exc}:\n{log.read()}") from None
            yield base, process
        finally:
            stop_group(process)


def wait_healthy(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Until `url`/health says every box has loaded: 200 "ok", or 503 "degraded" (a box that
    should serve does not: tests of broken boxes start such servers); an error if `process`
    exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        with contextlib.suppress(OSError, ValueError):
            status, body = http_get(f"{url}/health")
            if status == 200 or (status == 503 and json.loads(body).get("status") == "degraded"):
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer /health within {timeout:g} s")
        time.sleep(0.1)


def stop_group(process: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Signal a server's process group (it runs in a session of its own); SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def mcp_post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """A raw JSON-RPC POST, to see HTTP-level answers (401, 421, 403) that clients hide."""
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        | (headers or {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


class ToolListWatcher:
    """A message handler that records `notifications/tools/list_changed`."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.count = 0

    async def __call__(self, message: Any) -> None:
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/tools/list_changed":
            self.count += 1
            self.changed.set()

    async def wait(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.changed.wait(), timeout)
        self.changed.clear()

    def forget(self) -> None:
        """Drop what was heard so far: a box that loaded after the client connected announced
        itself (the server answers before its boxes load); the next `wait` is for a new change."""
        self.changed.clear()


async def wait_for_tools(client: Client, predicate: Any, timeout: float = 10.0) -> list[str]:
    """Poll tools/list until `predicate(names)` holds; returns the names."""
    deadline = time.monotonic() + timeout
    while True:
        names = [tool.name for tool in await client.list_tools()]
        if predicate(names):
            return names
        if time.monotonic() > deadline:
            raise AssertionError(f"tool list never matched; last: {names}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def legacy_client(transport: Any) -> AsyncIterator[tuple[Client, ToolListWatcher]]:
    watcher = ToolListWatcher()
    async with Client(transport, mode="legacy", message_handler=watcher, timeout=60) as client:
        yield client, watcher


def write_tool(box: Path, module: str, source: str) -> None:
    """Replace a tool module atomically, as editors do, so the watcher sees one change."""
    target = box / "tools" / f"{module}.py"
    scratch = box / "tools" / f".{module}.py.tmp"
    scratch.write_text(source)
    scratch.replace(target)


def first_answer(url: str, timeout: float = 60) -> int:
    """Poll `url` until the server answers at all (200, 503 "starting", 4xx); its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"{url} never answered")
