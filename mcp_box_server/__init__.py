"""mcp-box: tool boxes written by a teacher model, served over MCP to any client.

This module stays import-light on purpose: box modules may import `tool` from
here, and worker processes import it before loading box code.
"""

from mcp_box_server.box.decorator import tool

__version__ = "0.1.0"

__all__ = ["__version__", "tool"]
