"""Assemble the MCP server: FastMCP + box provider + meta-tools + reload + auth.

`run()` is the whole life of a server process. It launches the box zygotes
before importing FastMCP, so the box imports (sympy, Bio) and FastMCP's own
import overlap: the first `tools/list` is not slower than a bare FastMCP
server that imports the same tools in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp_box_server.server.registry import BoxRegistry

if TYPE_CHECKING:
    from fastmcp import FastMCP

log = logging.getLogger("mcp_box.server")

Transport = Literal["stdio", "http", "sse"]

INSTRUCTIONS = (
    "Tools from MCP boxes, named <box>_<function>. If the tool you need is not listed, "
    "use find_tools to search every box and call_tool to call a tool by name."
)


@dataclass(slots=True)
class ServerConfig:
    roots: list[Path]
    only: set[str] | None = None
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    reload: bool = True
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)


def create_server(registry: BoxRegistry, config: ServerConfig) -> FastMCP:
    """The FastMCP app over `registry`; its lifespan loads boxes and runs the watcher."""
    from fastmcp import FastMCP
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from mcp_box_server import __version__
    from mcp_box_server.server.auth import SharedTokenVerifier
    from mcp_box_server.server.meta_tools import register_meta_tools
    from mcp_box_server.server.notify import ChangeNotifier
    from mcp_box_server.server.provider import BoxProvider
    from mcp_box_server.server.watcher import watch

    notifier = ChangeNotifier()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        await registry.start()
        registry.on_change(notifier.tools_changed)
        watcher = asyncio.create_task(watch(registry)) if config.reload else None
        try:
            yield {}
        finally:
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            notifier.close()
            await registry.close()

    auth = SharedTokenVerifier(config.token) if config.token and config.transport != "stdio" else None
    server = FastMCP(
        "mcp-box",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        auth=auth,
        providers=[BoxProvider(registry)],
        mask_error_details=False,
    )
    notifier.install(server)
    register_meta_tools(server, registry)

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        states = registry.states
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "boxes": {s.name: {"serving": s.serving, "errors": len(s.errors)} for s in states},
                "tools": len(registry.tools),
            }
        )

    return server


async def serve(config: ServerConfig, registry: BoxRegistry) -> None:
    from starlette.middleware import Middleware

    from mcp_box_server.server.http import ExplainMissingToken

    server = create_server(registry, config)
    if config.transport == "stdio":
        await server.run_stdio_async(show_banner=False)
        return
    await server.run_http_async(
        show_banner=False,
        transport=config.transport,
        host=config.host,
        port=config.port,
        host_origin_protection=True,
        allowed_hosts=config.allowed_hosts or None,
        allowed_origins=config.allowed_origins or None,
        middleware=[Middleware(ExplainMissingToken)],
        uvicorn_config={"log_config": None, "timeout_graceful_shutdown": 3},
    )


def run(config: ServerConfig) -> None:
    """Run a server until interrupted; box zygotes start before FastMCP is imported."""
    from mcp_box_server.server.spec_cache import SpecCache

    registry = BoxRegistry(config.roots, config.only, cache=SpecCache.from_env())
    registry.prestart()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, registry))
