"""The stages against a scripted teacher: repairs, rejections, abstraction, consolidation."""

import json
from pathlib import Path

from mcp_box_server.box import read_manifest
from mcp_box_server.distill import Settings, distill
from mcp_box_server.runtime import BoxPool
from tests.distill import family
from tests.distill.conftest import TEST_LIMITS, chat_model, write_tasks

ROWS = {row[0]: row for row in family.TRAIN}


def rows(*ids: str) -> list[tuple[str, str, tuple[float, ...]]]:
    return [ROWS[i] for i in ids]


async def run(llm, tmp_path: Path, ids: tuple[str, ...], **kwargs):
    tasks = write_tasks(tmp_path / "tasks.jsonl", rows(*ids))
    async with chat_model(llm) as model:
        return await distill(tasks, tmp_path / "out" / "box", model, limits=TEST_LIMITS, **kwargs)


def tools_signature(outcome, function: str) -> str:
    source = next(t.source for t in outcome.tools if t.function == function)
    return next(line for line in source.splitlines() if line.startswith("def "))


def reasons(outcome, stage: str, subject: str) -> list[str]:
    return [r.reason for r in outcome.rejections if r.stage == stage and r.subject == subject]


async def test_generation_faults_are_repaired_or_rejected_with_reasons(scripted_teacher, tmp_path):
    result = await run(scripted_teacher, tmp_path, ("t01", "t04", "t06", "t08", "t18", "t17", "t22"))
    counts = result.outcome.counts
    assert (counts.tasks, counts.generated, counts.valid, counts.repaired) == (7, 6, 5, 5)
    assert reasons(result.outcome, "generate", "task t01") == [
        "task t01: wrong answer: expected 8.04672, got 8.1271872"
    ]
    assert "syntax error: '(' was never closed" in reasons(result.outcome, "generate", "task t04")[0]
    assert "import of 'os' is forbidden" in reasons(result.outcome, "generate", "task t06")[0]
    assert "import of 'socket' is forbidden" in reasons(result.outcome, "generate", "task t08")[0]
    assert "ToolTimeout" in reasons(result.outcome, "generate", "task t18")[0]
    bombs = reasons(result.outcome, "generate", "task t17")
    assert len(bombs) == 3 and all("ran out of memory (cap 256 MB)" in b for b in bombs)
    assert (
        reasons(result.outcome, "generate", "task t22")
        == ["no ```python block with the tool module found in the reply"] * 3
    )
    assert set(result.outcome.solved_by) == {"t01", "t04", "t06", "t08", "t18"}
    # the teacher saw each error as the next turn of the same conversation
    repair = next(r for r in scripted_teacher.requests if "got 8.1271872" in json.dumps(r))
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    assert repair["messages"][3]["content"].startswith("That tool did not pass validation:")


async def test_abstraction_makes_tools_reusable_and_failed_merges_keep_members(scripted_teacher, tmp_path):
    result = await run(scripted_teacher, tmp_path, ("t10", "t11", "t12", "t13", "t14", "t16"))
    outcome = result.outcome
    counts = outcome.counts
    assert (counts.valid, counts.abstracted, counts.clusters, counts.consolidated) == (6, 5, 2, 1)
    # t11's rewrite failed three ways; its task-specific tool stayed until consolidation replaced it
    abstract = reasons(outcome, "abstract", "task t11")
    assert len(abstract) == 3 and "wrong answer" in abstract[0] and "has no parameters" in abstract[1]
    # a rewrite that keeps the task's values as defaults is sent back: task inputs are required
    assert reasons(outcome, "abstract", "task t13") == [
        "defaults taken from this task (percent = 7.5, total = 80): a caller that leaves them out would "
        "silently get this task's answer; make them required parameters (no default)"
    ]
    assert "= " not in tools_signature(outcome, "percent_of")
    # and one whose docstring leaves a parameter out: a student only reads the description
    assert reasons(outcome, "abstract", "task t14") == [
        "describe every parameter under `Args:` in the docstring, with its unit: missing total"
    ]
    assert outcome.clusters == [
        ["celsius_to_fahrenheit", "celsius_to_fahrenheit_task"],
        ["percent_of", "percent_share", "percent_change"],
    ]
    consolidate = reasons(outcome, "consolidate", "cluster 2 (percent_of, percent_share, percent_change)")
    assert consolidate == ["task t16: wrong answer: expected 25, got 80.0"] * 3
    tools = {t.function: t for t in outcome.tools}
    assert set(tools) == {"celsius_to_fahrenheit", "percent_of", "percent_share", "percent_change"}
    assert tools["percent_of"].calls.keys() == {"t12", "t13"}  # one copy kept for both tasks
    assert tools["celsius_to_fahrenheit"].members == ("celsius_to_fahrenheit", "celsius_to_fahrenheit_task")
    # the emitted tools answer questions they never saw
    pool = BoxPool(read_manifest(result.box))
    try:
        await pool.start()
        assert await pool.call("percent_of", {"percent": 20, "total": 55}) == 11
        assert await pool.call("celsius_to_fahrenheit", {"celsius": 37}) == 98.6
    finally:
        await pool.close()


async def test_first_thought_prefix_seeds_the_solving_step(scripted_teacher, tmp_path):
    result = await run(scripted_teacher, tmp_path, ("t02",), settings=Settings(first_thought=True))
    assert result.outcome.counts.final_tools == 1
    first, solve = scripted_teacher.requests[:2]
    assert "Think about how to solve" in first["messages"][-1]["content"]
    assert (
        "Begin your reasoning from this first thought:\nFirst, identify the quantity asked for and its unit."
        in (solve["messages"][1]["content"])
    )
    provenance = read_manifest(result.box).provenance
    assert provenance["first_thought"] is True


async def test_a_run_stopped_by_a_teacher_failure_resumes_from_the_cache(tmp_path):
    from mcp_box_server.llm import ChatModel, ModelError, resolve_model
    from tests.support.scripted_openai import ScriptedOpenAI

    def flaky(request):  # breaks at the abstract stage, once every generate reply is in the cache
        first = request["messages"][1]["content"]
        if first.startswith("Here is a validated tool") and "Convert 100 miles" in first:
            return {"status": 400, "content": "the teacher's server broke"}
        return family.teacher(request)

    tasks = write_tasks(tmp_path / "tasks.jsonl", rows("t01", "t02", "t03", "t12", "t13"))
    out, cache = tmp_path / "out" / "box", tmp_path / "cache"
    with ScriptedOpenAI(flaky) as llm:
        port = int(llm.base_url.rsplit(":", 1)[1].split("/")[0])
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url, max_retries=0)) as model:
            try:
                await distill(tasks, out, model, limits=TEST_LIMITS, cache_dir=cache)
            except ModelError as exc:
                assert "the teacher's server broke" in str(exc)
            else:
                raise AssertionError("the run should stop when the teacher fails")
    assert not out.exists()
    with ScriptedOpenAI(family.teacher, port=port) as llm:  # the same endpoint: its replies are reused
        async with chat_model(llm) as model:
            result = await distill(tasks, out, model, limits=TEST_LIMITS, cache_dir=cache)
        asked = len(llm.requests)
    stats = result.stats
    assert stats.cached > 0 and stats.requests == stats.cached + asked  # only unfinished work was asked again
    assert result.outcome.counts.final_tools == 2 and result.outcome.counts.valid == 5


async def test_cut_off_empty_and_rate_limited_replies_are_failed_attempts_not_the_end(tmp_path):
    from collections import Counter
    from threading import Lock

    from mcp_box_server.distill import TeacherOptions
    from tests.support.scripted_openai import ScriptedOpenAI, first_user_text

    seen: Counter[str] = Counter()
    lock = Lock()

    def unreliable(request):
        question = first_user_text(request)
        with lock:
            for key in ("26.2 miles", "100 miles", "15 percent"):
                if key in question and request["messages"][-1]["role"] == "user":
                    seen[key] += 1
                    count = seen[key]
        if "26.2 miles" in question and count == 1:
            return {
                "content": "Sure! Let me explain at length how miles relate to",
                "finish_reason": "length",
            }
        if "100 miles" in question and count == 1:
            return ""
        if "15 percent" in question and count <= 4:  # the first request and its 3 retries
            return {"status": 429, "content": "slow down", "headers": {"retry-after-ms": "1"}}
        return family.teacher(request)

    tasks = write_tasks(tmp_path / "tasks.jsonl", rows("t02", "t03", "t12"))
    with ScriptedOpenAI(unreliable) as llm:
        async with chat_model(llm) as model:
            result = await distill(
                tasks,
                tmp_path / "box",
                model,
                limits=TEST_LIMITS,
                teacher_options=TeacherOptions(backoff_s=0.001),
            )
    outcome = result.outcome
    assert set(outcome.solved_by) == {"t02", "t03", "t12"}
    assert reasons(outcome, "generate", "task t02") == ["the reply was cut off at the token limit"]
    shorter = next(r for r in llm.requests if "cut off at the length limit" in json.dumps(r))
    assert [m["role"] for m in shorter["messages"]] == ["system", "user", "assistant", "user"]
    (empty,) = reasons(outcome, "generate", "task t03")
    assert empty == "no reply from the teacher: openai-compatible:scripted returned an empty reply"
    (limited,) = reasons(outcome, "generate", "task t12")
    assert "HTTP 429: slow down (after 3 retries)" in limited
    assert (result.stats.failed, result.stats.retries, result.stats.truncated) == (2, 3, 1)


async def test_first_thought_is_an_assistant_prefix_where_the_server_continues_one(tmp_path):
    from mcp_box_server.llm import ChatModel, resolve_model
    from tests.support.scripted_openai import ScriptedOpenAI

    def teacher(request):
        if "Think about how to solve" in json.dumps(request["messages"]):
            return "<think>Miles to km... 1.609344.</think>\n1. Multiply the miles by 1.609344. Then round."
        if request["messages"][-1]["role"] == "assistant":  # continue the prefix
            source, call = (
                family.general_tool("miles_to_km"),
                {"function": "miles_to_km", "arguments": {"miles": 26.2}},
            )
            return " So the tool is:\n" + family.fence(source, call)
        return family.teacher(request)

    tasks = write_tasks(tmp_path / "tasks.jsonl", rows("t02"))
    with ScriptedOpenAI(teacher) as llm:
        config = resolve_model(f"vllm:scripted@{llm.base_url}", max_retries=0)
        async with ChatModel(config) as model:
            result = await distill(
                tasks, tmp_path / "box", model, limits=TEST_LIMITS, settings=Settings(first_thought=True)
            )
    assert result.outcome.counts.valid == 1
    solve = llm.requests[1]
    assert solve["messages"][-1] == {"role": "assistant", "content": "Multiply the miles by 1.609344."}
    assert solve["continue_final_message"] is True and solve["add_generation_prompt"] is False
    assert "Begin your reasoning" not in json.dumps(solve)  # a prefix, not a hint


def test_one_first_step_is_kept():
    from mcp_box_server.distill.pipeline import first_step

    assert (
        first_step("<think>long musing. More.</think>\n\nStep 1: Convert the miles. Then add.")
        == "Convert the miles."
    )
    assert (
        first_step("- First, find the rate; then apply it.\n- Second.")
        == "First, find the rate; then apply it."
    )
    assert first_step("<think>never closed") == ""
