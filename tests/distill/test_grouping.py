"""Grouping by the teacher (with TF-IDF as fallback) and distinct names for clashing tools."""

import json

from mcp_box_server.distill import Settings, distill
from mcp_box_server.distill.grouping import Group, parse
from mcp_box_server.distill.names import parse_names, rename_source
from tests.distill import family
from tests.distill.conftest import TEST_LIMITS, chat_model, write_tasks
from tests.support.scripted_openai import ScriptedOpenAI


def test_groups_are_read_loosely_and_every_tool_lands_once():
    reply = (
        "<think>tools 1 and 3 look alike</think>Here you go:\n```json\n"
        '[{"tools": [1, 3], "why": "unit conversions"}, {"tools": [3, 9, "2"], "why": "dupes"},'
        ' // tool 4 is alone\n {"tools": [4], "why": "a percentage",},]\n```'
    )
    assert parse(reply, 4) == [Group([0, 2], "unit conversions"), Group([3], "a percentage"), Group([1], "")]
    assert parse("I would group them by topic.", 4) == "the grouping reply holds no JSON list"
    assert parse('```json\n[{"tools": [7]}]\n```', 4) == "the grouping reply names no tools"


def test_names_must_be_distinct_short_and_snake_case():
    assert parse_names('```json\n{"1": "ohms_law_current", "2": "electric_power"}\n```', 2, set(), 40) == [
        "ohms_law_current",
        "electric_power",
    ]
    assert "distinct" in parse_names('{"1": "same", "2": "same"}', 2, set(), 40)
    assert "distinct" in parse_names('{"1": "taken", "2": "free"}', 2, {"taken"}, 40)
    assert "snake_case of at most 5" in parse_names('{"1": "toolong", "2": "Bad-Name"}', 2, set(), 5)


def test_renaming_touches_code_not_strings():
    source = (
        'def area(shape: str, size: float) -> float:\n    """Area."""\n'
        '    if shape == "area":\n        return area("square", size)\n    return size * size\n'
    )
    renamed = rename_source(source, "area", "shape_area")
    assert renamed.startswith("def shape_area(") and 'shape == "area"' in renamed
    assert 'return shape_area("square", size)' in renamed


async def test_an_unusable_grouping_falls_back_to_tfidf(tmp_path):
    def vague(request):
        if "Group them by what they do" in json.dumps(request["messages"]):
            return "These all look like maths to me."
        return family.teacher(request)

    rows = [r for r in family.TRAIN if r[0] in ("t10", "t12", "t14", "t16")]
    tasks = write_tasks(tmp_path / "tasks.jsonl", rows)
    with ScriptedOpenAI(vague) as llm:
        async with chat_model(llm) as model:
            result = await distill(tasks, tmp_path / "box", model, limits=TEST_LIMITS)
    outcome = result.outcome
    assert outcome.cluster_method == "tfidf (fallback: the grouping reply holds no JSON list)"
    assert outcome.clusters == [["celsius_to_fahrenheit"], ["percent_of", "percent_share", "percent_change"]]
    report = (tmp_path / "box" / "distill_report.md").read_text()
    assert "Grouped by: tfidf (fallback: the grouping reply holds no JSON list)." in report
    assert (
        "2. `percent_of`, `percent_share`, `percent_change`: similar names, summaries and parameters"
        in report
    )


async def test_tfidf_when_asked_sends_no_grouping_request(scripted_teacher, tmp_path):
    rows = [r for r in family.TRAIN if r[0] in ("t10", "t12", "t14")]
    tasks = write_tasks(tmp_path / "tasks.jsonl", rows)
    async with chat_model(scripted_teacher) as model:
        result = await distill(
            tasks, tmp_path / "box", model, limits=TEST_LIMITS, settings=Settings(cluster="tfidf")
        )
    assert result.outcome.cluster_method == "tfidf"
    assert not any("Group them by" in json.dumps(r) for r in scripted_teacher.requests)


async def test_many_tools_are_grouped_in_batches_of_bounded_size():
    from mcp_box_server.distill.grouping import MAX_CARDS, by_teacher
    from mcp_box_server.distill.records import Tool
    from mcp_box_server.distill.teacher import Teacher
    from mcp_box_server.llm import AssistantMessage, ChatResult

    class PairingModel:
        """A stand-in teacher that pairs the cards of each request: 1+2, 3+4, ..."""

        label = "pairs"

        def __init__(self) -> None:
            self.prompts: list[str] = []

        async def chat(self, messages, tools=None, n=1, temperature=None, **kwargs):
            prompt = messages[-1]["content"]
            self.prompts.append(prompt)
            count = len([line for line in prompt.splitlines() if line[:1].isdigit()])
            groups = [{"tools": [i, i + 1], "why": "a pair"} for i in range(1, count, 2)]
            return ChatResult(
                (AssistantMessage(f"```json\n{json.dumps(groups)}\n```", finish_reason="stop"),)
            )

    source = family.general_tool("miles_to_km")
    tools = [
        Tool(f"tool_{i}", source.replace("miles_to_km", f"tool_{i}"), {}, {}, "abstracted") for i in range(45)
    ]
    model = PairingModel()
    found = await by_teacher(Teacher(model, None), "system", tools, 0.15)
    assert len(model.prompts) == 2 and model.prompts[0].count("\n1. `") == 1
    assert found.method == "teacher"
    assert sorted(len(g.members) for g in found.groups).count(2) == (MAX_CARDS // 2) + 2
    assert sorted(i for g in found.groups for i in g.members) == list(range(45))
