"""The MCP face: FastMCP app, transports, hot reload, notifications, meta-tools, auth."""

from mcp_box_server.server.app import ServerConfig, create_server, run
from mcp_box_server.server.registry import BoxRegistry, BoxState

__all__ = ["BoxRegistry", "BoxState", "ServerConfig", "create_server", "run"]
