"""HTTP hardening, judged over real HTTP on 127.0.0.1 by what reaches the box and what a client sees.

- a browser page of another local program (another port) cannot call a tool: the call
  never runs (its marker file is never written);
- a client that sends half a request head and stalls is disconnected, while others
  are served meanwhile;
- with a token set, `/health` tells a caller without it only whether the server is up.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mcp_box_server.server.http import HEAD_TIMEOUT
from tests.support.boxes import make_box
from tests.support.servers import INITIALIZE, free_port, http_get, http_server, mcp_post

TOKEN = "token-for-the-http-security-tests"

MARK = '''
    from pathlib import Path


    def mark(path: str) -> str:
        """Write a marker file: the proof that a call ran."""
        Path(path).write_text("ran")
        return "marked"
'''


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    root = tmp_path_factory.mktemp("boxes")
    make_box(root, "marker", {"mark": MARK})
    return root


@pytest.fixture(scope="module")
def server(boxes):
    allow = ("--allow-origin", "https://app.example.com")
    with http_server("--boxes", str(boxes), "--no-reload", *allow) as base:
        yield base


def open_session(base: str, origin: str) -> str:
    """Initialize a handshake-era session from `origin`; its session id."""
    request = urllib.request.Request(
        f"{base}/mcp",
        data=json.dumps(INITIALIZE).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "Origin": origin,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        session = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    headers = {"Origin": origin, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    assert mcp_post(f"{base}/mcp", initialized, headers)[0] == 202
    return session


def call_mark(base: str, session: str, origin: str, path: Path) -> int:
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call"}
    call["params"] = {"name": "marker_mark", "arguments": {"path": str(path)}}
    headers = {"Origin": origin, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
    return mcp_post(f"{base}/mcp", call, headers)[0]


def test_a_page_on_another_local_port_cannot_call_a_tool(server, tmp_path):
    port = int(server.rsplit(":", 1)[1])
    own = f"http://localhost:{port}"
    session = open_session(server, own)
    for foreign in (f"http://localhost:{port + 1}", f"http://127.0.0.1:{free_port()}", "null"):
        marker = tmp_path / f"foreign-{abs(hash(foreign))}"
        assert call_mark(server, session, foreign, marker) == 403
        assert not marker.exists()  # the call never reached the box
        assert mcp_post(f"{server}/mcp", INITIALIZE, {"Origin": foreign})[0] == 403
    for allowed in (own, f"http://127.0.0.1:{port}", f"http://[::1]:{port}", "https://app.example.com"):
        marker = tmp_path / f"own-{abs(hash(allowed))}"
        assert call_mark(server, session, allowed, marker) == 200
        assert marker.read_text() == "ran"
    assert mcp_post(f"{server}/mcp", INITIALIZE)[0] == 200  # no Origin: not a browser


def test_an_allowed_origin_that_is_not_one_is_refused_at_start():
    serve = [sys.executable, "-m", "mcp_box_server", "serve", "--transport", "http"]
    done = subprocess.run([*serve, "--allow-origin", "localhost:3000/app"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "--allow-origin: 'localhost:3000/app' is not an origin (http[s]://host[:port])" in done.stderr


def test_a_stalled_request_head_is_cut_off_and_others_are_served(server):
    host, port = "127.0.0.1", int(server.rsplit(":", 1)[1])
    with socket.create_connection((host, port)) as stalled, socket.create_connection((host, port)) as silent:
        stalled.sendall(f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: app".encode())
        started = time.monotonic()
        assert http_get(f"{server}/health")[0] == 200  # served while the two wait
        for sock in (stalled, silent):
            sock.settimeout(HEAD_TIMEOUT + 10)
            assert sock.recv(1024) == b""  # closed by the server, not by our timeout
        waited = time.monotonic() - started
    assert HEAD_TIMEOUT - 1 < waited < HEAD_TIMEOUT + 10
    assert http_get(f"{server}/health")[0] == 200


def test_health_details_need_the_token(boxes):
    with http_server("--boxes", str(boxes), "--no-reload", token=TOKEN) as base:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            code, body = http_get(f"{base}/health", headers)
            assert code == 200 and json.loads(body) == {"status": "ok"}
            assert "marker" not in body and "/" not in body
        code, body = http_get(f"{base}/health", {"Authorization": f"Bearer {TOKEN}"})
        health = json.loads(body)
        assert code == 200 and health["status"] == "ok" and health["boxes"]["marker"]["serving"]
