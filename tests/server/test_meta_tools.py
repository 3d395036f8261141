"""find_tools / call_tool / box_status through a real server over stdio."""

import pytest
from fastmcp import Client

from tests.support.boxes import ARITH, make_box
from tests.support.servers import stdio_transport

SEQ = '''
    def reverse_complement(sequence: str) -> str:
        """Reverse complement of a DNA sequence.

        Args:
            sequence: DNA letters A, C, G, T.
        """
        return sequence[::-1].translate(str.maketrans("ACGT", "TGCA"))
'''


@pytest.fixture
def root(tmp_path):
    make_box(tmp_path, "calc", {"arith": ARITH})
    make_box(tmp_path, "dna", {"seq": SEQ})
    return tmp_path


async def test_meta_tools(root):
    async with Client(stdio_transport("--boxes", str(root), "--no-reload")) as client:
        found = (await client.call_tool("find_tools", {"query": "reverse complement DNA", "k": 2})).data
        assert found["tools"][0]["name"] == "dna_reverse_complement"
        assert found["tools"][0]["input_schema"]["required"] == ["sequence"]

        routed = await client.call_tool(
            "call_tool", {"name": "dna_reverse_complement", "arguments": {"sequence": "AACG"}}
        )
        assert routed.structured_content == {"result": "CGTT"}
        assert routed.content[0].text == "CGTT"  # a string result reads as itself, not JSON-quoted

        bad = await client.call_tool(
            "call_tool", {"name": "calc_add", "arguments": {"a": "x"}}, raise_on_error=False
        )
        assert bad.is_error and "parameter 'a'" in bad.content[0].text

        unknown = await client.call_tool(
            "call_tool", {"name": "calc_ad", "arguments": {}}, raise_on_error=False
        )
        assert unknown.is_error and "unknown tool 'calc_ad'" in unknown.content[0].text

        meta = await client.call_tool("call_tool", {"name": "find_tools"}, raise_on_error=False)
        assert meta.is_error and "cannot call the meta-tool" in meta.content[0].text

        status = (await client.call_tool("box_status", {})).structured_content["boxes"]
        assert [(box["box"], box["serving"]) for box in status] == [("calc", True), ("dna", True)]

        k_error = await client.call_tool("find_tools", {"query": "x", "k": 0}, raise_on_error=False)
        assert k_error.content[0].text == (
            "invalid arguments: parameter 'k': Input should be greater than or equal to 1 (got 0)"
        )
        schema = next(t for t in await client.list_tools() if t.name == "find_tools").input_schema
        assert schema["properties"]["k"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 50,
            "default": 5,
            "description": "how many tools to return (1 to 50).",
        }
