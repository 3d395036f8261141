"""Bounds on streamable-HTTP sessions: how many may be open, how long one may sit idle.

Every session holds a transport, its streams and tasks in the server (bench/README.md
has the figure per idle session). The SDK's defaults, 10,000 sessions idle for up to
30 minutes, suit a shared deployment, not a server on a user's machine, and FastMCP 4
exposes neither on `run_http_async`: this ASGI middleware sets both on the SDK's session
manager once the app has started, before the first request. Past the limit a new
session gets the SDK's "503 Too many open sessions"; open ones are unaffected.
"""

from __future__ import annotations

import logging
from typing import Any

from fastmcp.server.http import StreamableHTTPASGIApp
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("mcp_box.server")


class SessionLimits:
    """Apply `max_sessions` and `idle_timeout` to the streamable-HTTP session manager."""

    def __init__(self, app: ASGIApp, max_sessions: int, idle_timeout: float) -> None:
        self.app = app
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def on_startup(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._apply(scope.get("app"))
            await send(message)

        await self.app(scope, receive, on_startup)

    def _apply(self, app: Any) -> None:
        for route in getattr(app, "routes", []):
            endpoint = getattr(route, "endpoint", None)
            manager = getattr(endpoint, "session_manager", None)
            if isinstance(endpoint, StreamableHTTPASGIApp) and manager is not None:
                manager.max_sessions = self.max_sessions
                manager.session_idle_timeout = self.idle_timeout
                log.info(
                    "sessions: at most %d open, closed after %g s idle", self.max_sessions, self.idle_timeout
                )
                return
