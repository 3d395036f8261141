"""Consolidation in bounded prompts: parts, sampled tasks, mapped calls, splits on overflow."""

import json
from pathlib import Path

from mcp_box_server.distill import Settings, distill
from mcp_box_server.distill.consolidate import apply, mapped_calls, parts, prompt
from mcp_box_server.distill.extract import Call, Reply
from mcp_box_server.distill.records import Tool
from mcp_box_server.distill.tasks import Task
from tests.distill import family
from tests.distill.conftest import TEST_LIMITS, chat_model, write_tasks
from tests.support.scripted_openai import ScriptedOpenAI

MILES = family.general_tool("miles_to_km")
LENGTH_ROWS = [r for r in family.TRAIN if r[1] in family.LENGTH_UNITS]


def member(function: str, source: str, calls: dict[str, dict]) -> Tool:
    return Tool(function, source, {t: Call(function, a) for t, a in calls.items()}, {}, "abstracted")


def test_parts_are_bounded_and_even():
    tools = [member(f"f{i}", MILES, {}) for i in range(7)]
    assert [len(p) for p in parts(tools, 6)] == [4, 3]
    assert [len(p) for p in parts(tools[:6], 6)] == [6]
    assert parts([], 6) == []


def test_the_prompt_shows_a_bounded_sample_of_tasks():
    tasks = {f"t{i}": Task(f"t{i}", f"Convert {i} miles to kilometres.", i * 1.609344) for i in range(100)}
    tool = member("miles_to_km", MILES, {t: {"miles": i} for i, t in enumerate(tasks)})
    text = prompt([tool, member("km_to_miles", family.general_tool("km_to_miles"), {})], tasks)
    assert "Convert 0 miles" in text and "Convert 1 miles" in text and "Convert 2 miles" not in text
    assert "... and 98 more task(s) of the same kind" in text and len(text) < 3000


def test_member_calls_are_mapped_onto_the_merged_signature():
    miles = member("miles_to_km", MILES, {"a": {"miles": 5}, "b": {"miles": 2}})
    fixed = member("km_task", "def km_task(miles: float = 7) -> float:\n    return 1\n", {"c": {}})
    template = {"value": "$miles", "from_unit": "mile", "to_unit": "km"}
    reply = Reply(
        "",
        [
            ("miles_to_km", Call("convert_length", template)),
            ("km_task", Call("convert_length", template)),
        ],
    )
    calls = mapped_calls(reply, [miles, fixed])
    assert calls == {
        "a": Call("convert_length", {"value": 5, "from_unit": "mile", "to_unit": "km"}),
        "b": Call("convert_length", {"value": 2, "from_unit": "mile", "to_unit": "km"}),
        "c": Call("convert_length", {"value": 7, "from_unit": "mile", "to_unit": "km"}),  # its default
    }
    assert mapped_calls(Reply("", reply.calls[:1]), [miles, fixed]) == (
        "no mapping given for tool 2 (km_task): give one entry per old tool"
    )
    wrong = Reply("", [("miles_to_km", Call("convert_length", {"value": "$feet"}))])
    assert (
        mapped_calls(wrong, [miles])
        == "the mapping for miles_to_km uses $feet, but miles_to_km has no parameter feet"
    )
    assert apply(Call("f", {"unit": "$", "price": "$5"}), {}) == Call("f", {"unit": "$", "price": "$5"})


async def run(responder, tmp_path: Path, rows, settings: Settings):
    tasks = write_tasks(tmp_path / "tasks.jsonl", rows)
    with ScriptedOpenAI(responder) as llm:
        async with chat_model(llm) as model:
            result = await distill(tasks, tmp_path / "box", model, limits=TEST_LIMITS, settings=settings)
        return result, llm.requests


async def test_a_large_cluster_is_merged_in_parts(tmp_path):
    result, requests = await run(family.teacher, tmp_path, LENGTH_ROWS, Settings(max_members=2))
    outcome = result.outcome
    assert outcome.clusters == [["miles_to_km", "km_to_miles", "feet_to_metres", "inches_to_cm"]]
    assert outcome.counts.consolidated == 2
    # both parts wrote the same convert_length: one copy passes every task, so the clash merges
    (tool,) = outcome.tools
    assert tool.function == "convert_length" and set(tool.calls) == {r[0] for r in LENGTH_ROWS}
    asked = [r for r in requests if "These tools do closely related things" in json.dumps(r)]
    assert len(asked) == 2 and all(json.dumps(r).count("### Tool") == 2 for r in asked)


async def test_a_context_overflow_splits_the_cluster_instead_of_ending_the_run(tmp_path):
    def small_context(request):
        if "### Tool 3" in json.dumps(request["messages"]):
            return {"status": 400, "content": "This model's maximum context length is 4096 tokens."}
        return family.teacher(request)

    result, _ = await run(small_context, tmp_path, LENGTH_ROWS, Settings())
    outcome = result.outcome
    assert outcome.counts.consolidated == 2
    (overflow,) = [r for r in outcome.rejections if r.stage == "consolidate"]
    assert overflow.subject.startswith("cluster 1 (") and "maximum context length" in overflow.reason
    (tool,) = outcome.tools
    assert tool.function == "convert_length" and set(tool.calls) == {r[0] for r in LENGTH_ROWS}
