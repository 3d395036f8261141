"""Tell connected clients that tools, prompts or resources changed, in both protocol eras.

FastMCP 4 sends nothing by itself when tools change. Handshake-era sessions
(protocol 2025-11-25 and older: the `mcp` SDK's ClientSession, Claude Desktop)
get `notifications/tools/list_changed` on their connection; a middleware
remembers every connection it sees (in mcp 2 a `ServerSession` is a per-request
proxy, so the connection behind it is what lives as long as the client). Sessionless 2026-07-28 clients open
`subscriptions/listen`, served by `listen.Listen` over the SDK's subscription bus;
a `ToolsListChanged` event on the bus reaches each open stream (and a task's status,
from the tasks extension, reaches the streams that name its id).

Prompts and resources go the same two ways. A handshake-era client subscribes to a
resource with `resources/subscribe` (kept per connection here) and gets
`notifications/resources/updated`; a 2026-07-28 client names the URIs in its listen
request, and a `ResourceUpdated` event reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.middleware import Middleware, MiddlewareContext
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    ToolsListChanged,
)
from mcp_types import (
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_box_server.server.listen import Listen, max_streams_from_env

log = logging.getLogger("mcp_box.server")

SEND_TIMEOUT = 2.0  # seconds a connection may take to accept a notification; then it is dropped


class ChangeNotifier(Middleware):
    """Middleware that records handshake-era sessions, and the fan-out for both eras."""

    def __init__(self) -> None:
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        # handshake-era resource subscriptions, per connection (gone with it)
        self._subscriptions: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = Listen(self.bus, max_streams=max_streams_from_env())

    def install(self, server: FastMCP) -> None:
        server.add_middleware(self)
        low_level = server._mcp_server  # no public hook for these in FastMCP 4.1
        low_level.add_request_handler(
            "subscriptions/listen", SubscriptionsListenRequestParams, self.listen_handler
        )
        low_level.add_request_handler("resources/subscribe", SubscribeRequestParams, self._subscribe)
        low_level.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, self._unsubscribe)

    async def _subscribe(
        self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        """A handshake-era `resources/subscribe`: kept with the connection, and gone with it."""
        if (connection := _connection(ctx)) is not None:
            self._sessions.add(connection)
            self._subscriptions.setdefault(connection, set()).add(str(params.uri))
        return EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        if (connection := _connection(ctx)) is not None:
            self._subscriptions.get(connection, set()).discard(str(params.uri))
        return EmptyResult()

    async def on_message(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        self._remember(context)
        return await call_next(context)

    def _remember(self, context: MiddlewareContext[Any]) -> None:
        ctx = context.fastmcp_context
        request = ctx.request_context if ctx is not None else None
        if request is None or request.protocol_version in MODERN_PROTOCOL_VERSIONS:  # they listen instead
            return
        if (connection := _connection(request)) is not None:
            self._sessions.add(connection)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def tools_changed(self) -> None:
        await self._fan_out("tool", lambda s: s.send_tool_list_changed(), ToolsListChanged())

    async def prompts_changed(self) -> None:
        await self._fan_out("prompt", lambda s: s.send_prompt_list_changed(), PromptsListChanged())

    async def resources_changed(self) -> None:
        await self._fan_out("resource", lambda s: s.send_resource_list_changed(), ResourcesListChanged())

    async def resources_updated(self, touches: Callable[[str], bool]) -> None:
        """`resources/updated` for every subscribed URI that `touches` says changed, in both eras."""
        for uri in sorted(uri for uri in self.listen_handler.uris if touches(uri)):
            await self.bus.publish(ResourceUpdated(uri))
        targets = [(c, uri) for c, uris in list(self._subscriptions.items()) for uri in sorted(uris)]
        targets = [(connection, uri) for connection, uri in targets if touches(uri)]
        await self._send([c for c, _ in targets], [_updated(uri) for _, uri in targets])

    async def _fan_out(self, kind: str, send: Callable[[Any], Awaitable[None]], event: ServerEvent) -> None:
        """Notify every live session and every listen stream; a dead session is dropped."""
        sessions = list(self._sessions)
        await self._send(sessions, [send] * len(sessions))
        await self.bus.publish(event)
        log.info("%s list changed: notified %d session(s) and listen streams", kind, len(sessions))

    async def _send(self, sessions: list[Any], sends: list[Callable[[Any], Awaitable[None]]]) -> None:
        outcomes = await asyncio.gather(
            *(asyncio.wait_for(send(s), SEND_TIMEOUT) for s, send in zip(sessions, sends, strict=True)),
            return_exceptions=True,
        )
        for session, outcome in zip(sessions, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._sessions.discard(session)
                self._subscriptions.pop(session, None)
                log.debug("dropped a session that could not be notified: %r", outcome)

    def close(self) -> None:
        self.listen_handler.close()


def _updated(uri: str) -> Callable[[Any], Awaitable[None]]:
    return lambda connection: connection.send_resource_updated(uri)


def _connection(request: Any) -> Any:
    """The connection behind a request's per-request session (no public accessor in mcp 2.3)."""
    return getattr(request.session, "_connection", None)
