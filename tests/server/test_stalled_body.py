"""A request body that never ends is cut off, judged over real sockets on 127.0.0.1.

A real server with `--body-timeout`: clients that send a whole head and then stall in
their body, trickle it a byte a second, or send a chunked body with no last chunk, are
answered 408 and disconnected by the server within the deadline (plus slack), while the
official `mcp` SDK client lists and calls tools meanwhile; a big upload sent steadily
in chunks, slower than any single read but within the deadline, is served whole.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from mcp.client.client import Client

from tests.support.boxes import make_box
from tests.support.servers import http_server

BODY_TIMEOUT = 8.0
SLACK = 10.0
LATE = (
    f"request body not received whole within {BODY_TIMEOUT:g} s (the server's --body-timeout)\n".encode()
)  # a loaded machine's delay in noticing the deadline and closing

SIZE = '''
    def size(text: str) -> int:
        """How many characters `text` has."""
        return len(text)
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("boxes")
    make_box(root, "echo", {"size": SIZE})
    with http_server("--boxes", str(root), "--no-reload", "--body-timeout", str(BODY_TIMEOUT)) as base:
        yield base


def address(base: str) -> tuple[str, int]:
    return "127.0.0.1", int(base.rsplit(":", 1)[1])


def head(port: int, length: int | None, extra: str = "") -> bytes:
    """A whole POST /mcp head: a Content-Length body, or a chunked one when `length` is None."""
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    lines = [
        "POST /mcp HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: application/json, text/event-stream",
        framing,
        *([extra] if extra else []),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """All the server sends until it closes; a timeout here means it never did."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


class Trickle(threading.Thread):
    """Sends one byte of a body a second, until the server closes the connection."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock, self.sent = sock, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.sock.send(b" ")
            except OSError:
                return
            self.sent += 1


async def test_stalled_and_trickling_bodies_are_cut_off_while_a_client_is_served(server):
    host, port = address(server)
    stalled = [socket.create_connection((host, port)) for _ in range(2)]
    trickling = [socket.create_connection((host, port)) for _ in range(2)]
    chunked = socket.create_connection((host, port))
    for sock in stalled:
        sock.sendall(head(port, 1000) + b'{"jsonrpc": "2.0", ')
    for sock in trickling:
        sock.sendall(head(port, 100_000) + b"{")
    chunked.sendall(head(port, None) + b'5\r\n{"jso\r\n')
    started = time.monotonic()
    trickles = [Trickle(sock) for sock in trickling]
    for trickle in trickles:
        trickle.start()
    try:
        async with Client(f"{server}/mcp") as client:  # served while the five hold their connections
            tools = await client.list_tools()
            assert "echo_size" in [tool.name for tool in tools.tools]
            result = await client.call_tool("echo_size", {"text": "served meanwhile"})
            assert not result.is_error and result.structured_content == {"result": 16}
        answers = [read_until_closed(sock, BODY_TIMEOUT + SLACK) for sock in [*stalled, *trickling, chunked]]
        waited = time.monotonic() - started
    finally:
        for trickle in trickles:
            trickle.stop.set()
        for sock in [*stalled, *trickling, chunked]:
            sock.close()
    assert BODY_TIMEOUT - 1 < waited < BODY_TIMEOUT + SLACK
    assert all(trickle.sent >= BODY_TIMEOUT - 2 for trickle in trickles)  # they kept sending: not idle
    for answer in answers:
        status, _, text = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 408 ")
        assert text == LATE
    async with Client(f"{server}/mcp") as client:  # and still served after
        assert (await client.call_tool("echo_size", {"text": "after"})).structured_content == {"result": 5}


def test_a_big_upload_sent_steadily_within_the_deadline_is_served(server):
    """3.5 MB in 35 chunks over ~3.5 s: the SDK refuses /mcp bodies over 4 MiB (413) anyway."""
    host, port = address(server)
    text = "x" * 3_500_000
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    call["params"] = {
        "name": "echo_size",
        "arguments": {"text": text},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        },
    }
    body = json.dumps(call).encode()
    modern = "\r\n".join(
        [
            "MCP-Protocol-Version: 2026-07-28",
            "Mcp-Method: tools/call",
            "Mcp-Name: echo_size",
            "Connection: close",
        ]
    )
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head(port, len(body), modern))
        started = time.monotonic()
        step = len(body) // 35 + 1
        for offset in range(0, len(body), step):
            sock.sendall(body[offset : offset + step])
            time.sleep(0.1)
        sent_in = time.monotonic() - started
        answer = read_until_closed(sock, 60)
    assert sent_in >= 3  # a slow upload: many reads, seconds apart from the first
    status, _, payload = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200 ")
    assert json.loads(payload)["result"]["structuredContent"] == {"result": len(text)}
