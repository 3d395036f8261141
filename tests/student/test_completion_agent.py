"""The completion loop (base models, `/v1/completions`) against a scripted model and a real server."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mcp_box_server.box.demos import Demo
from mcp_box_server.llm import resolve_model
from mcp_box_server.student.agent import AgentConfig
from mcp_box_server.student.completion_agent import CompletionAgent
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from mcp_box_server.student.model import StudentModel
from mcp_box_server.student.steps import EndReason, ErrorKind, Run
from tests.student.test_cli import mcp_box
from tests.support.scripted_openai import Reply, Responder, Script, ScriptedOpenAI

SOLVE = 'Action: calc_solve_24 {"numbers": [4, 7, 8, 8]}'
QUESTION = "Use the numbers 4 7 8 8 to make 24."


async def solve(
    server_url: str | None,
    responder: Responder,
    question: str = QUESTION,
    *,
    demos: bool = False,
    deadline_s: float = 30,
    **config: Any,
) -> tuple[Run, list[dict[str, Any]]]:
    with ScriptedOpenAI(responder) as llm:
        spec = resolve_model("scripted", base_url=llm.base_url, max_retries=0)
        async with StudentModel(spec, deadline_s=deadline_s) as model:
            if server_url is None:
                shown = [Demo("What is 20 plus 22?", "42")] if demos else []
                run = await CompletionAgent(model, None, AgentConfig(**config), shown).solve(question)
                return run, llm.requests
            async with BoxConnection(ServerTarget.remote(server_url)) as box:
                shown = await box.demos() if demos else []
                run = await CompletionAgent(model, box, AgentConfig(**config), shown).solve(question)
    return run, llm.requests


def answer_from_observation(request: dict[str, Any]) -> Reply:
    """Call the tool first; once an observation is in the prompt, answer with its expression."""
    prompt = request["prompt"]
    tail = prompt.rsplit(f"Question: {QUESTION}\n", 1)[1]
    if "Observation:" not in tail:
        return SOLVE + "\nObservation: (the model must not be trusted to write this)"
    observed = json.loads(tail.split("Observation: ", 1)[1].splitlines()[0])
    return f"Answer: {observed['expression']}\n\nQuestion: more text the stop sequence cuts"


async def test_box_arm_calls_the_real_tool_and_reads_its_observation(server_url: str) -> None:
    run, requests = await solve(server_url, answer_from_observation, shots=1, demos=True)
    assert run.final.reason is EndReason.ANSWER and run.tool_mode == "completion"
    (step,) = run.steps
    assert step.tool_calls[0].name == "calc_solve_24" and step.results[0].ok
    expression = step.results[0].structured["expression"]
    assert run.answer == expression and eval(expression) == 24
    first, second = (r["prompt"] for r in requests)
    assert requests[0]["stop"] == ["\nObservation:", "\nQuestion:", "\n\n"]
    # The demo nearest the question comes with its call and result, before the question.
    assert (
        'Question: Use the numbers 1 2 3 4 to make 24.\nAction: calc_solve_24 {"numbers": [1, 2, 3, 4]}'
        in first
    )
    assert "What is 20 plus 22?" not in first and first.endswith(f"Question: {QUESTION}\n")
    # What the model wrote after its action line never reaches the prompt; the real result does.
    assert "must not be trusted" not in second
    assert second == first + SOLVE + "\nObservation: " + step.results[0].text + "\n"
    assert run.messages[-1] == {"role": "completion", "content": run.final.output}


async def test_demos_come_from_the_server_with_exposed_tool_names(server_url: str) -> None:
    async with BoxConnection(ServerTarget.remote(server_url)) as box:
        demos = await box.demos()
    calc = [d for d in demos if d.box == "calc"]
    assert [c.tool for d in calc for c in d.calls] == ["calc_solve_24", "calc_add"]
    assert calc[1].answer == "42" and calc[1].calls[0].result == 42


async def test_no_box_arm_sees_questions_and_answers_then_answer(tmp_path: Path) -> None:
    run, requests = await solve(None, Script.sequence([" 42\n"]), "What is 40 plus 2?", shots=2, demos=True)
    assert run.answer == "42" and run.final.reason is EndReason.ANSWER and run.tool_mode == "none"
    (request,) = requests
    assert request["stop"] == ["\n"] and request["prompt"].endswith("Question: What is 40 plus 2?\nAnswer:")
    assert (
        "Question: What is 20 plus 22?\nAnswer: 42\n\n" in request["prompt"]
        and "Action" not in request["prompt"]
    )


async def test_errors_go_back_as_observations(server_url: str) -> None:
    script = Script.sequence(
        [
            "Action: calc_plus {}",  # unknown tool
            "Action: calc_add a=1",  # unreadable arguments
            'Action: calc_add {"a": "x"}',  # the server refuses the arguments
            "Answer: 5",
        ]
    )
    run, requests = await solve(server_url, script, "What is 2 + 3?")
    kinds = [step.results[0].error for step in run.steps]
    assert kinds == [ErrorKind.UNKNOWN_TOOL, ErrorKind.PARSE, ErrorKind.BAD_ARGUMENTS]
    last = requests[-1]["prompt"]
    assert "Observation: Error (unknown_tool): unknown tool 'calc_plus'; nearest tools: calc_add" in last
    assert "Observation: Error (parse_error): could not read the tool call" in last
    assert "Observation: Error (bad_arguments)" in last and run.answer == "5"


async def test_repeats_end_as_stuck_and_invalid_streaks_as_retry_limit(server_url: str) -> None:
    add = 'Action: calc_add {"a": 2, "b": 3}'
    run, requests = await solve(server_url, Script.sequence([add] * 5), "What is 2 + 3?", max_repeats=2)
    assert run.final.reason is EndReason.STUCK and run.answer == ""
    assert "it was not run again" in requests[-1]["prompt"] and len(run.steps) == 3
    run, _ = await solve(
        server_url, Script.sequence(["Action: nope {}"] * 5), "What is 2 + 3?", max_retries=1
    )
    assert run.final.reason is EndReason.RETRY_LIMIT and len(run.steps) == 2


async def test_step_limit_asks_for_the_answer_with_the_prompt_ending_in_answer(server_url: str) -> None:
    script = Script.sequence(['Action: calc_add {"a": 2, "b": 3}', " 5\n"])
    run, requests = await solve(server_url, script, "What is 2 + 3?", max_steps=1)
    assert run.final.reason is EndReason.STEP_LIMIT and run.answer == "5"
    assert requests[-1]["stop"] == ["\n"] and requests[-1]["prompt"].endswith("Observation: 5\nAnswer:")


async def test_samples_vote_on_results(server_url: str) -> None:
    replies = iter(['Action: calc_add {"a": 1, "b": 1}', 'Action: calc_add {"a": 2, "b": 3}'] * 2)

    def respond(request: dict[str, Any]) -> Reply:
        after_question = request["prompt"].rsplit("Question: ", 1)[1]
        return next(replies, "Answer: 5") if "Observation:" not in after_question else "Answer: 5"

    run, requests = await solve(server_url, respond, "What is 2 + 3?", samples=3)
    assert requests[0]["n"] == 3 and requests[0]["temperature"] == 0.7
    (step,) = run.steps
    assert step.tool_calls[0].arguments in ({"a": 1, "b": 1}, {"a": 2, "b": 3})
    assert [c.votes for c in step.candidates if c.dropped is None] and run.answer == "5"


async def test_a_cut_off_continuation_without_action_or_answer_ends_as_length(server_url: str) -> None:
    script = Script.sequence([{"content": "Let me think about this for a long", "finish_reason": "length"}])
    run, _ = await solve(server_url, script, "What is 2 + 3?", max_tokens=8)
    assert (
        run.final.reason is EndReason.LENGTH
        and run.answer == ""
        and "max_tokens (8)" in (run.final.error or "")
    )


async def test_the_deadline_bounds_a_slow_completion(server_url: str) -> None:
    run, _ = await solve(server_url, Script.sequence([{"content": "Answer: 5", "delay": 5}]), deadline_s=1)
    assert run.final.reason is EndReason.MODEL_ERROR and "within 1 s" in (run.final.error or "")


def test_eval_over_completions_writes_a_summary_with_probes_apart(server_url: str, tmp_path: Path) -> None:
    tasks = tmp_path / "sums.jsonl"
    tasks.write_text(
        "".join(json.dumps({"question": f"What is {n} plus 1?", "answer": str(n + 1)}) + "\n" for n in (1, 2))
    )

    def respond(request: dict[str, Any]) -> Reply:
        prompt = request["prompt"]
        number = int(re.findall(r"What is (\d+) plus 1\?", prompt)[-1])
        if prompt.endswith("Answer:"):
            return " 0\n"  # the no-box arm is wrong
        if prompt.endswith("?\n"):
            return f'Action: calc_add {{"a": {number}, "b": 1}}'
        return f"Answer: {number + 1}"

    summary = tmp_path / "out" / "summary.json"
    with ScriptedOpenAI(respond) as llm:
        done = mcp_box(
            "eval", str(tasks), "--compare-no-box", "--api", "completions", "--shots", "1", "-j", "1",
            "--model", "scripted", "--base-url", llm.base_url, "--server-url", server_url,
            "--traces", str(tmp_path / "traces"), "--summary", str(summary),
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "model tokens / task" in done.stdout and "probe tokens / task (harness)" in done.stdout
    data = json.loads(summary.read_text())
    assert (data["api"], data["shots"], data["tasks"]) == ("completions", 1, 2)
    box, no_box = data["arms"]
    assert (box["arm"], box["correct"], box["answered"], box["mean_steps"]) == ("box", 2, 2, 1.0)
    assert (no_box["arm"], no_box["correct"], no_box["mean_steps"]) == ("no-box", 0, 0.0)
    for arm in (box, no_box):
        assert arm["stuck"] == arm["step_limit"] == arm["errors"] == 0 and arm["wall_s"] > 0
        assert arm["mean_tokens"] > 0 and arm["mean_probe_tokens"] == 0
    assert data["extra_body"] == {"repeat_penalty": 1.0}
    assert all(r["repeat_penalty"] == 1.0 for r in llm.requests)  # the servers' 1.1 drops repeated values


async def test_extra_body_reaches_every_request_and_null_removes_a_default(tmp_path: Path) -> None:
    extra = {"top_k": 1, "repeat_penalty": None}
    with ScriptedOpenAI(Script.sequence(["Answer: 42", {"content": "42"}])) as llm:
        spec = resolve_model("scripted", base_url=llm.base_url, max_retries=0)
        async with StudentModel(spec, extra_body=extra) as model:
            await model.complete("Question: 6 times 7?\n", stop=["\n"])
            await model.chat([{"role": "user", "content": "6 times 7?"}])
    completion, chat = llm.requests
    assert completion["top_k"] == 1 and "repeat_penalty" not in completion
    assert chat["top_k"] == 1 and "repeat_penalty" not in chat


async def test_openai_and_vllm_get_no_completion_defaults() -> None:
    for provider in ("openai", "vllm"):
        with ScriptedOpenAI(Script.sequence(["Answer: 42"])) as llm:
            spec = resolve_model(f"{provider}:m", base_url=llm.base_url, api_key="k", max_retries=0)
            async with StudentModel(spec) as model:
                await model.complete("Question: 6 times 7?\n", stop=["\n"])
        assert "repeat_penalty" not in llm.requests[0], provider


def test_extra_body_that_is_not_a_json_object_is_refused_by_name() -> None:
    for bad, reason in (("{top_k: 1}", "not JSON"), ("[1]", "must be a JSON object")):
        done = mcp_box("ask", "q", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--extra-body", bad)
        assert done.returncode == 2 and "--extra-body" in done.stderr and reason in done.stderr, done.stderr
