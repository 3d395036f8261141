"""The conformance fixture boxes through the real runtime (worker processes), no Node needed.

The MCP conformance suite (.ci/conformance.sh) calls these tools by exact name; this
checks, fast, that each one loads and answers as its scenario expects, and that the
expected-failures list stays well-formed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, ToolFailed
from mcp_box_server.server import results

HERE = Path(__file__).resolve().parent
BOXES = HERE / "boxes"
EXPECTED = HERE / "expected_failures.txt"

SIMPLE_TEXT = "This is a simple text response for testing."
ERROR_MESSAGE = "This tool intentionally returns an error for testing"
SCHEMA_TOOL = "json_schema_2020_12_tool"


@pytest.fixture
async def test_box():
    pool = BoxPool(read_manifest(BOXES / "test"))
    await pool.start()
    yield pool
    await pool.close()


@pytest.fixture
async def json_box():
    pool = BoxPool(read_manifest(BOXES / "json"))
    await pool.start()
    yield pool
    await pool.close()


async def test_fixture_box_exposes_the_names_the_scenarios_call(test_box, json_box):
    assert test_box.failures == [] and json_box.failures == []
    assert {s.name for s in test_box.specs} == {
        "test_simple_text",
        "test_error_handling",
        "test_image_content",
        "test_audio_content",
        "test_embedded_resource",
        "test_multiple_content_types",
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_sampling",
        "test_elicitation",
        "test_elicitation_sep1034_defaults",
        "test_elicitation_sep1330_enums",
        "test_template_data",  # renders the resource template test://template/{id}/data
        "test_input_required_result_elicitation",
        "test_input_required_result_sampling",
        "test_input_required_result_list_roots",
        "test_input_required_result_request_state",
        "test_input_required_result_tampered_state",
        "test_input_required_result_multiple_inputs",
        "test_input_required_result_multi_round",
        "test_input_required_result_capabilities",
        "test_prompt_with_context",  # writes the prompt test_input_required_result_prompt
        "test_missing_capability",  # server-stateless (2026-07-28): asks for sampling
        "test_trigger_tool_change",  # server-stateless: adds or removes a tool file
        "test_trigger_prompt_change",  # server-stateless: adds or removes a prompt file
        "test_tool_with_task",  # tasks-mrtr-composition: asks in the request, then a task
        "test_header_echo",  # http-custom-header-server-validation: an x-mcp-header parameter
    }
    assert [s.name for s in json_box.specs] == [SCHEMA_TOOL]
    for spec in test_box.specs + json_box.specs:
        assert spec.description, spec.name  # tools-list: every tool has a description


async def test_trigger_tools_change_the_box_folder_they_are_pointed_at(tmp_path, monkeypatch):
    """server-stateless: each call adds or removes a file in the folder named by the
    environment (a copy of the box in CI), which hot reload then announces."""
    copy = tmp_path / "test"
    (copy / "tools").mkdir(parents=True)
    (copy / "prompts").mkdir()
    monkeypatch.setenv("MCP_BOX_CONFORMANCE_BOX", str(copy))
    pool = BoxPool(read_manifest(BOXES / "test"))
    await pool.start()
    try:
        assert await pool.call("trigger_tool_change", {}) == "added tools/triggered.py"
        assert (copy / "tools" / "triggered.py").read_text().startswith('"""Added by')
        assert await pool.call("trigger_prompt_change", {}) == "added prompts/triggered.md"
        assert await pool.call("trigger_tool_change", {}) == "removed tools/triggered.py"
        assert sorted(p.name for p in copy.rglob("*") if p.is_file()) == ["triggered.md"]
        assert not (BOXES / "test" / "tools" / "triggered.py").exists()  # never the checkout
    finally:
        await pool.close()


async def test_trigger_tools_refuse_without_a_folder_to_change(monkeypatch):
    monkeypatch.delenv("MCP_BOX_CONFORMANCE_BOX", raising=False)
    pool = BoxPool(read_manifest(BOXES / "test"))
    await pool.start()
    try:
        with pytest.raises(ToolFailed, match="MCP_BOX_CONFORMANCE_BOX is not set"):
            await pool.call("trigger_tool_change", {})
    finally:
        await pool.close()


async def test_simple_text_answers_with_text_content(test_box):
    """tools-call-simple-text: a non-empty text content block."""
    value = await test_box.call("simple_text", {})
    assert value == SIMPLE_TEXT
    result = results.success(value)
    text = [block for block in result.content if block.type == "text"]
    assert text and SIMPLE_TEXT in text[0].text
    assert not result.is_error


async def test_error_handling_becomes_an_mcp_tool_error(test_box):
    """tools-call-error: `isError: true` and a first content block with text."""
    with pytest.raises(ToolFailed, match=ERROR_MESSAGE) as info:
        await test_box.call("error_handling", {})
    result = results.failure(info.value)
    assert result.is_error
    assert ERROR_MESSAGE in result.content[0].text
    # The worker survives a failing tool: the next call works.
    assert await test_box.call("simple_text", {}) == SIMPLE_TEXT


async def test_schema_tool_has_the_2020_12_keywords_the_scenario_looks_for(json_box):
    """json-schema-2020-12 checks `$defs.address` with its `$anchor` and `additionalProperties:
    false` (`$schema` is added by the server for 2025-11-25 and later clients)."""
    schema = json_box.specs[0].parameters
    assert schema["additionalProperties"] is False
    assert set(schema["$defs"]["address"]["properties"]) == {"street", "city"}
    assert schema["$defs"]["address"]["$anchor"] == "addressDef"
    assert {"$ref": "#/$defs/address"} in schema["properties"]["address"]["anyOf"]
    address = {"street": "1 Main St", "city": "Springfield"}
    assert await json_box.call("schema_2020_12_tool", {"name": "a", "address": address}) == {
        "name": "a",
        "address": address,
    }


async def test_header_tool_declares_a_string_parameter_mirrored_in_a_header(test_box):
    """http-custom-header-server-validation looks for a string property with `x-mcp-header`."""
    (spec,) = [s for s in test_box.specs if s.name == "test_header_echo"]
    assert spec.parameters["properties"]["region"] == {
        "type": "string",
        "description": "A region name, mirrored in the Mcp-Param-Region header.",
        "x-mcp-header": "Region",
    }
    assert await test_box.call("header_echo", {"region": "eu"}) == "region: eu"


def test_expected_failures_are_well_formed():
    names = []
    for number, line in enumerate(EXPECTED.read_text(encoding="utf-8").splitlines(), start=1):
        entry, _, reason = line.partition("#")
        if not entry.strip():
            continue
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", entry.strip()), f"line {number}: {line!r}"
        assert reason.strip(), f"line {number}: '{entry.strip()}' needs a one-line reason"
        names.append(entry.strip())
    assert len(names) == len(set(names)), "duplicate entries"
    # The scenarios the fixture boxes are there for must not be written off.
    assert not {"tools-list", "tools-call-simple-text", "tools-call-error"} & set(names)


async def test_task_fixture_boxes_expose_the_names_the_tasks_scenarios_call():
    """The tasks-* scenarios call bare names: each is a box `<box>` with a function `<rest>`."""
    wanted = {
        "slow_compute": "optional",
        "failing_job": "required",  # tasks-required-task-error: -32021 without the extension
        "protocol_error_job": "optional",
        "confirm_delete": "optional",
        "multi_input": "optional",
        "test_tool_with_task": "after_questions",  # tasks-mrtr-composition
    }
    for name, mode in wanted.items():
        pool = BoxPool(read_manifest(BOXES / name.split("_", 1)[0]))
        await pool.start()
        try:
            spec = next(spec for spec in pool.specs if f"{spec.box}_{spec.function}" == name)
            assert spec.task == mode, name
        finally:
            await pool.close()
