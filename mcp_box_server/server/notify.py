"""Tell connected clients that the tool list changed, in both protocol eras.

FastMCP 4 sends nothing by itself when tools change. Handshake-era sessions
(protocol 2025-11-25 and older: the `mcp` SDK's ClientSession, Claude Desktop)
get `notifications/tools/list_changed` on their connection; a middleware
remembers every connection it sees (in mcp 2 a `ServerSession` is a per-request
proxy, so the connection behind it is what lives as long as the client). Sessionless 2026-07-28 clients open
`subscriptions/listen`, served by the SDK's ListenHandler over a subscription
bus; a `ToolsListChanged` event on the bus reaches each open stream.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.middleware import Middleware, MiddlewareContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.subscriptions import ToolsListChanged
from mcp_types import SubscriptionsListenRequestParams

log = logging.getLogger("mcp_box.server")

MODERN_PROTOCOL = "2026-07-28"
SEND_TIMEOUT = 2.0


class ChangeNotifier(Middleware):
    """Middleware that records handshake-era sessions, and the fan-out for both eras."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = ListenHandler(self.bus)

    def install(self, server: FastMCP) -> None:
        server.add_middleware(self)
        server._mcp_server.add_request_handler(  # no public hook for listen in FastMCP 4.1
            "subscriptions/listen", SubscriptionsListenRequestParams, self.listen_handler
        )

    async def on_message(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        self._remember(context)
        return await call_next(context)

    def _remember(self, context: MiddlewareContext[Any]) -> None:
        ctx = context.fastmcp_context
        request = ctx.request_context if ctx is not None else None
        if request is None or request.protocol_version == MODERN_PROTOCOL:
            return
        connection = getattr(request.session, "_connection", None)  # no public accessor in mcp 2.3
        if connection is not None:
            self._sessions.add(connection)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def tools_changed(self) -> None:
        """Notify every live session and every listen stream; a dead session is dropped."""
        sessions = list(self._sessions)
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(s.send_tool_list_changed(), SEND_TIMEOUT) for s in sessions),
            return_exceptions=True,
        )
        for session, outcome in zip(sessions, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._sessions.discard(session)
                log.debug("dropped a session that could not be notified: %r", outcome)
        await self.bus.publish(ToolsListChanged())
        log.info("tool list changed: notified %d session(s) and listen streams", len(sessions))

    def close(self) -> None:
        self.listen_handler.close()
