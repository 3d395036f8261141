"""Helpers offered with examples become sub-step tools of their own."""

from mcp_box_server.distill.extract import Call, Example, extract
from mcp_box_server.distill.substeps import MAX_EXAMPLES, example_tasks, helper_module
from mcp_box_server.distill.tasks import Task
from tests.distill.realistic import CYLINDER_WITH_HELPER


def test_the_helper_becomes_the_public_function_and_the_tool_private():
    source = helper_module(CYLINDER_WITH_HELPER, "_base_area", "volume")
    assert source is not None
    assert "def base_area(radius: float) -> float:" in source
    assert "def _volume(radius: float, height: float) -> float:" in source
    assert "return base_area(radius) * height" in source
    assert helper_module(CYLINDER_WITH_HELPER, "_nowhere", "volume") is None
    assert helper_module(CYLINDER_WITH_HELPER, "volume", "volume") is None  # not a helper


def test_examples_are_read_from_the_reply_and_become_checks():
    reply = extract(
        f"```python\n{CYLINDER_WITH_HELPER}```\n"
        '```json\n[{"function": "volume", "arguments": {"radius": 1, "height": 2}},'
        ' {"helper": "_base_area", "arguments": {"radius": 2}, "expect": 12.566370614359172}]\n```'
    )
    assert reply.calls == [(None, Call("volume", {"radius": 1, "height": 2}))]
    assert reply.examples == (Example("_base_area", {"radius": 2}, 12.566370614359172),)
    task = Task("g9", "What is the volume of a cylinder with radius 1 and height 2?", 6.283185307179586)
    checks = example_tasks(task, list(reply.examples) * 5)
    assert len(checks["_base_area"]) == MAX_EXAMPLES
    first, call = checks["_base_area"][0]
    assert first.id == "g9.base_area.1" and first.answer == 12.566370614359172
    assert call == Call("base_area", {"radius": 2}) and "a sub-step of: What is the volume" in first.question
