"""mcp-box: tool boxes written by a teacher model, served over MCP to any client.

This module stays import-light on purpose: box modules may import from here
(`tool`; `Image`, `Audio`, `Resource` results and `line_chart`; `progress`,
`log`, `elicit`, `sample` during a call), and worker processes import it before loading box code.
"""

from mcp_box_server.box.content import Audio, Image, Resource
from mcp_box_server.box.context import (
    Elicit,
    Roots,
    Sample,
    ask,
    client_can,
    elicit,
    log,
    progress,
    roots,
    sample,
)
from mcp_box_server.box.decorator import tool
from mcp_box_server.box.figures import line_chart

__version__ = "0.1.0"

__all__ = [
    "Audio",
    "Elicit",
    "Image",
    "Resource",
    "Roots",
    "Sample",
    "__version__",
    "ask",
    "client_can",
    "elicit",
    "line_chart",
    "log",
    "progress",
    "roots",
    "sample",
    "tool",
]
