"""Emitting a box: unique names, verification in a sandboxed pool, atomic replacement."""

import json
import tomllib

import pytest

from mcp_box_server.box import read_examples, read_manifest
from mcp_box_server.distill.emit import EmitError, check_out, emit, unique_names
from mcp_box_server.distill.extract import Call
from mcp_box_server.distill.records import Outcome, Tool
from mcp_box_server.distill.report import Provenance
from mcp_box_server.distill.tasks import Task
from mcp_box_server.distill.teacher import TeacherStats
from tests.distill import family
from tests.distill.conftest import TEST_LIMITS

PROVENANCE = Provenance("ollama:big", "2026-01-01T00:00:00+00:00", "tasks.jsonl", "ab" * 32, 2, False)
TASKS = [Task("a", "What is 10 percent of 50?", 5), Task("b", "What is 20 percent of 50?", 10)]


def percent_tool(task: str, percent: float, result: float) -> Tool:
    return Tool(
        "percent_of",
        family.general_tool("percent_of"),
        {task: Call("percent_of", {"percent": percent, "total": 50})},
        {task: result},
        "abstracted",
    )


def test_unique_names_rename_the_function_and_its_calls():
    first, second = unique_names([percent_tool("a", 10, 5), percent_tool("b", 20, 10)])
    assert first.function == "percent_of" and second.function == "percent_of_2"
    assert "def percent_of_2(percent: float, total: float) -> float:" in second.source
    assert second.calls["b"] == Call("percent_of_2", {"percent": 20, "total": 50})


def test_out_must_be_new_or_a_distilled_box(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(EmitError, match="is not a distilled box"):
        check_out(tmp_path / "mine", force=False)
    check_out(tmp_path / "mine", force=True)
    check_out(tmp_path / "new", force=False)


async def test_emit_writes_a_complete_box_and_replaces_the_previous_one(tmp_path):
    out = tmp_path / "boxes" / "pct"
    for _ in range(2):  # the second run replaces the first box in place
        outcome = Outcome(tools=[percent_tool("a", 10, 5), percent_tool("b", 20, 10)])
        box = await emit(out, "pct", "Percentages.", outcome, TASKS, TEST_LIMITS, PROVENANCE, TeacherStats())
        assert box == out.resolve()
    assert sorted(p.name for p in (tmp_path / "boxes").iterdir()) == ["pct"]  # no staging left behind
    manifest = read_manifest(out)
    assert manifest.trust == "sandboxed" and manifest.name == "pct" and manifest.timeout == 1.0
    assert manifest.provenance["teacher"] == "ollama:big" and manifest.provenance["tasks_sha256"] == "ab" * 32
    assert tomllib.loads((out / "box.toml").read_text())["allow_imports"] == list(TEST_LIMITS.allow_imports)
    assert sorted(p.name for p in (out / "tools").iterdir()) == ["percent_of.py", "percent_of_2.py"]
    examples, failures = read_examples(out)
    assert failures == [] and [(e.tool, e.expect) for e in examples] == [
        ("percent_of", 5),
        ("percent_of_2", 10),
    ]
    assert (
        "- `pct_percent_of_2(percent: float, total: float) -> float`: Percentage of an amount: the given "
        "percent of a total. `percent`: the percent; `total`: the total.\n"
    ) in (out / "README.md").read_text()
    report = (out / "distill_report.md").read_text()
    assert "| final_tools | 2 |" in report and "sha256 `" + "ab" * 32 in report


async def test_tools_failing_in_the_assembled_box_are_dropped_with_a_reason(tmp_path):
    good, bad = percent_tool("a", 10, 5), percent_tool("b", 20, 11)  # 11: not what the tool returns
    outcome = Outcome(tools=[good, bad])
    out = tmp_path / "pct"
    await emit(out, "pct", "Percentages.", outcome, TASKS, TEST_LIMITS, PROVENANCE, TeacherStats())
    assert [t.function for t in outcome.tools] == ["percent_of"] and outcome.counts.final_tools == 1
    (rejection,) = outcome.rejections
    assert (
        rejection.stage == "verify"
        and rejection.reason == "its example fails in the box: result: expected 11, got 10.0"
    )
    assert [json.loads(line)["tool"] for line in (out / "examples.jsonl").read_text().splitlines()] == [
        "percent_of"
    ]
    assert "### verify" in (out / "distill_report.md").read_text()


async def test_emit_writes_the_solved_tasks_as_demos_that_check_passes(tmp_path):
    from mcp_box_server.box.demos import read_demos
    from mcp_box_server.cli.check_cmd import check_box

    outcome = Outcome(tools=[percent_tool("a", 10, 5), percent_tool("b", 20, 10)])
    out = await emit(
        tmp_path / "pct", "pct", "Percentages.", outcome, TASKS, TEST_LIMITS, PROVENANCE, TeacherStats()
    )
    found = read_demos(out, "pct")
    assert found.failures == []
    assert [(d.question, d.answer) for d in found.demos] == [(t.question, str(t.answer)) for t in TASKS]
    calls = [(c.tool, c.arguments, c.result) for d in found.demos for c in d.calls]
    assert calls == [
        ("pct_percent_of", {"percent": 10, "total": 50}, 5),
        ("pct_percent_of_2", {"percent": 20, "total": 50}, 10),
    ]
    problems, outcomes = await check_box(out)
    demo_checks = [o for o in outcomes if o.file == "demos.jsonl"]
    assert problems == [] and len(demo_checks) == 2 and all(o.passed for o in demo_checks)
