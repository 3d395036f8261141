"""Session ids that name their replica: prefixed going out, stripped coming in; flags checked."""

import argparse

import pytest

from mcp_box_server.cli import serve_cmd
from mcp_box_server.server.replica import ReplicaSessionIds


async def test_session_ids_are_prefixed_out_and_stripped_in():
    seen: list[list[tuple[bytes, bytes]]] = []

    async def app(scope, receive, send):
        seen.append(scope["headers"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"mcp-session-id", b"abc")]})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    middleware = ReplicaSessionIds(app, "r1")
    scope = {"type": "http", "headers": [(b"mcp-session-id", b"r1.abc"), (b"host", b"x")]}
    await middleware(scope, None, send)
    assert seen[0] == [(b"mcp-session-id", b"abc"), (b"host", b"x")]
    assert sent[0]["headers"] == [(b"mcp-session-id", b"r1.abc")]
    await middleware({"type": "http", "headers": [(b"mcp-session-id", b"r2.abc")]}, None, send)
    assert seen[1] == [(b"mcp-session-id", b"r2.abc")]  # another replica's: unknown here, as it is


def test_replica_ids_and_worker_flags_are_checked():
    with pytest.raises(ValueError, match="replica id"):
        ReplicaSessionIds(None, "a.b")
    with pytest.raises(argparse.ArgumentTypeError):
        serve_cmd.replica_id("has space")
    parser = argparse.ArgumentParser()
    serve_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--max-workers", "3", "--worker-idle", "2.5", "--replica-id", "a-1"])
    assert (args.max_workers, args.worker_idle, args.replica_id) == (3, 2.5, "a-1")
