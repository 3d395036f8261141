"""A blocking facade over a real `fastmcp.Client`, for hypothesis tests (which are sync).

The client lives on an event loop in a background thread for the whole test module,
so hundreds of generated calls share one server process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastmcp import Client
from mcp_types import CallToolResult, Tool

T = TypeVar("T")


class BlockingClient:
    def __init__(self, transport: Any, timeout: float = 120) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = Client(transport, timeout=timeout)
        self._run(self._client.__aenter__())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def list_tools(self) -> list[Tool]:
        return self._run(self._client.list_tools())

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        return self._run(self._client.call_tool_mcp(name, arguments))

    def close(self) -> None:
        try:
            self._run(self._client.__aexit__(None, None, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
