"""The box format: manifest, tool modules, schemas, examples. Knows nothing of MCP."""

from mcp_box_server.box.discover import bundled_boxes_dir, find_boxes
from mcp_box_server.box.errors import BoxError, LoadFailure, ManifestError
from mcp_box_server.box.examples import Example, mismatch, read_examples
from mcp_box_server.box.manifest import MANIFEST, Manifest, read_manifest
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name

__all__ = [
    "MANIFEST",
    "TOOL_NAME",
    "BoxError",
    "Example",
    "LoadFailure",
    "Manifest",
    "ManifestError",
    "ToolSpec",
    "bundled_boxes_dir",
    "exposed_name",
    "find_boxes",
    "mismatch",
    "read_examples",
    "read_manifest",
]
