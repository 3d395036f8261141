"""The evaluation runner: exact accuracy on Game of 24, traces, resume, aborts."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import pytest

from mcp_box_server.llm import ChatModel, resolve_model
from mcp_box_server.student.agent import AgentConfig
from mcp_box_server.student.benchmarks import Benchmark, load_benchmark
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from mcp_box_server.student.evaluation import EvaluationAborted, read_trace, run_arm
from tests.support.scripted_openai import Reply, Script, ScriptedOpenAI, free_port


def solve24(numbers: list[int]) -> str:
    """An independent brute-force solver, so scripted answers are known to be right."""

    def search(items: list[tuple[Fraction, str]]) -> str | None:
        if len(items) == 1:
            return items[0][1] if items[0][0] == 24 else None
        for i, j in itertools.permutations(range(len(items)), 2):
            (a, ta), (b, tb) = items[i], items[j]
            rest = [items[k] for k in range(len(items)) if k not in (i, j)]
            options = [(a + b, f"({ta} + {tb})"), (a - b, f"({ta} - {tb})"), (a * b, f"({ta} * {tb})")]
            if b:
                options.append((a / b, f"({ta} / {tb})"))
            for value, text in options:
                if found := search([*rest, (value, text)]):
                    return found
        return None

    found = search([(Fraction(n), str(n)) for n in numbers])
    assert found is not None
    return found


def game24_script(bench: Benchmark, wrong: set[int]) -> dict[str, list[Reply]]:
    """Per puzzle: call the box's solver, then answer; puzzles in `wrong` get a wrong answer."""
    scripts: dict[str, list[Reply]] = {}
    for index, task in enumerate(bench.tasks):
        numbers = [int(n) for n in task.answer.split()]
        call = {"tool_calls": [{"name": "calc_solve_24", "arguments": {"numbers": numbers}}]}
        # A wrong answer uses every number but does not make 24 (checked by the test's assertion).
        answer = " + ".join(str(n) for n in numbers) if index in wrong else solve24(numbers)
        scripts[f"numbers {task.answer} and"] = [call, f"The tool found it.\nFinal answer: {answer}"]
    return scripts


async def test_game24_accuracy_matches_the_script_exactly(server_url: str, tmp_path: Path) -> None:
    bench = load_benchmark("game24", (900, 912))
    wrong = {1, 4, 5, 9}
    trace = tmp_path / "box.jsonl"
    with ScriptedOpenAI(Script.by_question(game24_script(bench, wrong))) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model,
            BoxConnection(ServerTarget.remote(server_url)) as box,
        ):
            result = await run_arm(bench, model, box, AgentConfig(), trace, arm="box", concurrency=4)
    summary = result.summary
    assert summary.tasks == 12 and summary.correct == 8 and summary.accuracy == pytest.approx(8 / 12)
    assert [r["correct"] for r in result.records] == [i not in wrong for i in range(12)]
    assert summary.steps == 1.0 and summary.tool_calls == 1.0 and summary.tokens == 30.0
    records = read_trace(trace)
    assert sorted(r["task_id"] for r in records) == [t.id for t in bench.tasks]
    first = next(r for r in records if r["task_id"] == "game24-900")
    assert first["steps"][0]["tool_calls"][0]["name"] == "calc_solve_24"
    assert first["steps"][0]["results"][0]["structured"]["solvable"] is True
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert first["messages"][-1]["content"].startswith("The tool found it.")
    assert first["tool_mode"] == "native" and first["tool_mode_reason"] is None
    assert [s["finish_reason"] for s in first["steps"]] == ["tool_calls", "stop"]
    assert summary.answered == 12 and summary.stuck == summary.step_limit == summary.length == 0
    assert first["usage"] == {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
    assert first["wall_s"] > 0 and first["model_latency_s"] > 0


async def test_resume_runs_only_unfinished_tasks(tmp_path: Path) -> None:
    bench = load_benchmark("gsm8k", (0, 6))
    scripts = {t.question[:60]: [f"Final answer: {t.answer}"] for t in bench.tasks}
    trace = tmp_path / "no-box.jsonl"
    with ScriptedOpenAI(Script.by_question(scripts)) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            await run_arm(bench, model, None, AgentConfig(), trace, arm="no-box", concurrency=1)
    lines = trace.read_text().splitlines()
    # Keep three finished tasks and a torn line, as if the run had been killed mid-write.
    trace.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])
    kept = {json.loads(line)["task_id"] for line in lines[:3]}

    fresh = {t.question[:60]: [f"Final answer: {t.answer}"] for t in bench.tasks if t.id not in kept}
    with ScriptedOpenAI(Script.by_question(fresh)) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            result = await run_arm(bench, model, None, AgentConfig(), trace, arm="no-box", resume=True)
    assert len(llm.requests) == 3
    assert result.resumed == 3 and result.summary.tasks == 6 and result.summary.correct == 6
    assert [r["task_id"] for r in result.records] == [t.id for t in bench.tasks]
    assert len(read_trace(trace)) == 6 and len(trace.read_text().splitlines()) == 6


async def test_model_errors_are_recorded_then_rerun_on_resume(tmp_path: Path) -> None:
    bench = load_benchmark("gsm8k", (0, 2))
    first, second = bench.tasks
    scripts: dict[str, list[Reply]] = {
        first.question[:60]: ["Final answer: 18"],
        second.question[:60]: [{"status": 500, "content": "out of memory"}],
    }
    trace = tmp_path / "t.jsonl"
    with ScriptedOpenAI(Script.by_question(scripts)) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url, max_retries=0)) as model:
            result = await run_arm(bench, model, None, AgentConfig(), trace, arm="no-box")
            assert result.summary.model_errors == 1 and result.summary.correct == 1
            failed = next(r for r in result.records if r["end"] == "model_error")
            assert "HTTP 500: out of memory" in failed["error"]
            scripts[second.question[:60]] = ["Final answer: 3"]
            llm.responder = Script.by_question(scripts)
            again = await run_arm(bench, model, None, AgentConfig(), trace, arm="no-box", resume=True)
    assert again.resumed == 1 and again.summary.correct == 2 and again.summary.model_errors == 0


async def test_dead_endpoint_aborts_instead_of_failing_every_task(tmp_path: Path) -> None:
    bench = load_benchmark("gsm8k", (0, 5))
    config = resolve_model(f"ollama:qwen3:8b@http://127.0.0.1:{free_port()}/v1", max_retries=0)
    async with ChatModel(config) as model:
        with pytest.raises(EvaluationAborted, match="nothing answers"):
            await run_arm(bench, model, None, AgentConfig(), tmp_path / "t.jsonl", arm="no-box")
    assert read_trace(tmp_path / "t.jsonl") == []


async def test_concurrency_overlaps_model_calls(tmp_path: Path) -> None:
    bench = load_benchmark("gsm8k", (0, 8))
    answers = {t.question[:60]: [f"Final answer: {t.answer}"] for t in bench.tasks}
    walls: dict[int, float] = {}
    for concurrency in (1, 4):
        with ScriptedOpenAI(Script.by_question(answers), latency_s=0.2) as llm:
            async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
                result = await run_arm(
                    bench,
                    model,
                    None,
                    AgentConfig(),
                    tmp_path / f"{concurrency}.jsonl",
                    arm="x",
                    concurrency=concurrency,
                )
        walls[concurrency] = result.summary.wall_s
        answers = {t.question[:60]: [f"Final answer: {t.answer}"] for t in bench.tasks}
    assert walls[1] >= 1.6 and walls[4] < walls[1] / 2


def test_summary_helpers_round_trip(tmp_path: Path) -> None:
    trace = tmp_path / "x.jsonl"
    trace.write_text('{"task_id": "a", "correct": true}\nnot json\n{"other": 1}\n')
    assert read_trace(trace) == [{"task_id": "a", "correct": True}]
    assert read_trace(tmp_path / "missing.jsonl") == []
