"""Session ids that name their replica, so a load balancer can route a session without a table.

A handshake-era (stateful) streamable-HTTP session lives in the replica that answered
its `initialize`; a request for it that lands on another replica gets "Session not
found". The SDK draws session ids at random, so a balancer hashing the id cannot
know that replica. With `serve --replica-id NAME` every id this server hands out is
`NAME.<id>`: the balancer routes on the prefix (docs/replicas.md has the nginx
`map`), and the prefix is stripped again before the SDK sees the id. Sessionless
(2026-07-28) requests carry no session id and are not touched; their multi-round
state is sealed under MCP_BOX_STATE_KEY, the same on every replica.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_box_server.server.conversation import STATE_KEY_ENV

if TYPE_CHECKING:
    from mcp.server.request_state import RequestStateSecurity

HEADER = b"mcp-session-id"
REPLICA_ID = re.compile(r"[a-zA-Z0-9-]{1,32}")  # fullmatch, like TOOL_NAME


class ReplicaSessionIds:
    """Prefix outgoing session ids with `replica.`; strip it from incoming ones."""

    def __init__(self, app: ASGIApp, replica: str) -> None:
        if not REPLICA_ID.fullmatch(replica):
            raise ValueError(f"a replica id must match {REPLICA_ID.pattern}, got {replica!r}")
        self.app = app
        self.prefix = replica.encode() + b"."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [
            (name, value.removeprefix(self.prefix) if name == HEADER else value)
            for name, value in scope.get("headers", [])
        ]

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                named = [
                    (name, self.prefix + value if name.lower() == HEADER else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": named}
            await send(message)

        await self.app({**scope, "headers": headers}, receive, send_named)


def shared_request_state() -> RequestStateSecurity | None:
    """The SDK's `requestState` sealing under MCP_BOX_STATE_KEY, when it is set.

    Its own default is a key per process: an answering round that lands on another
    replica would be refused ("Invalid or expired requestState"). The tool's rounds
    are sealed under the same variable (server/conversation.py).
    """
    from mcp.server.request_state import RequestStateSecurity

    secret = os.environ.get(STATE_KEY_ENV, "")
    if not secret:
        return None
    key = hashlib.sha256(b"mcp-box requestState\0" + secret.encode()).digest()
    return RequestStateSecurity(keys=[key], audience="mcp-box")
