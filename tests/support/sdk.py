"""The official MCP SDK client (`mcp.ClientSession`) over streamable HTTP, as the server tests use it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


@contextlib.asynccontextmanager
async def sdk_session(base: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    """An initialized session with the server at `base` (`/mcp`), sending `token` as a bearer."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"} if token else None)
    async with (
        http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client
