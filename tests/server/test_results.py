"""Tool results built without FastMCP's serialise-and-parse round trip are the ones it builds."""

import pytest
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult

from mcp_box_server.server import results

VALUES = [
    21,
    'ATGC\nTTAGC "quoted" é',
    {"gcd": 21, "steps": [[1071, 462], [462, 147]], "ok": True, "none": None},
    [1.5, -2, {"nested": ["x", 3.25]}],
    {"text": "NaN and Infinity inside a string"},  # looks like a non-finite float: the slow path, same result
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("schema", [False, True])
def test_a_result_is_what_fastmcp_builds(value, schema):
    built = results.success(value, schema=schema)
    structured = value if isinstance(value, dict) else {"result": value}
    expected = ToolResult(content=built.content, structured_content=structured)
    assert built.to_mcp_result() == expected.to_mcp_result()
    assert built.model_dump() == expected.model_dump()


@pytest.mark.parametrize("value", [float("nan"), {"x": [float("inf")]}, -float("inf")])
def test_a_non_finite_float_is_refused_as_fastmcp_refuses_it(value):
    with pytest.raises(ToolError, match="non-finite float"):
        results.success(value)
