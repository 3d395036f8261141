"""Distill a box from 22 tasks, watch a running `mcp-box serve` pick it up, answer held-out tasks.

Everything is real except the two language models: the teacher and the student
are scripted OpenAI-compatible servers on 127.0.0.1. The server is a separate
`mcp-box serve --boxes PARENT` process over stdio, started before the box exists,
so the box can only arrive by hot reload and `notifications/tools/list_changed`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

from mcp_box_server.distill import distill
from mcp_box_server.llm import ChatModel, resolve_model
from mcp_box_server.student.agent import Agent, AgentConfig
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from tests.distill import family
from tests.distill.conftest import TEST_LIMITS, chat_model, write_tasks
from tests.support.scripted_openai import ScriptedOpenAI

EXPECTED_COUNTS = {
    "tasks": 22,
    "generated": 21,  # t22: the teacher never wrote code
    "valid": 20,  # t17: a memory bomb three times
    "repaired": 5,  # wrong answer, syntax error, forbidden import, network, infinite loop
    "abstracted": 19,  # t11: every rewrite failed
    "helpers": 0,  # this teacher never offers a helper
    "clusters": 4,  # length conversions, temperature, percentages, interest
    "consolidated": 3,  # all but the percentages
    "final_tools": 6,  # convert_length, celsius_to_fahrenheit, interest, 3 percentage tools
}
FINAL_TOOLS = {
    "units_convert_length",
    "units_celsius_to_fahrenheit",
    "units_interest",
    "units_percent_of",
    "units_percent_share",
    "units_percent_change",
}


def student(request: dict[str, Any]) -> dict[str, Any] | str:
    """A small model that picks the consolidated tool for the question, then reports its result."""
    messages = request["messages"]
    results = [m["content"] for m in messages if m["role"] == "tool"]
    if results:
        return f"The tool says {results[-1]}.\nFinal answer: {results[-1]}"
    question = next(m["content"] for m in messages if m["role"] == "user")
    key, numbers = family.parse(question)  # type: ignore[misc]
    call = family.merged_call(key, numbers)
    name = f"units_{call['function']}"
    offered = {tool["function"]["name"] for tool in request.get("tools", [])}
    if name not in offered:
        return f"No tool for this. Final answer: unknown ({name} not offered)"
    return {"tool_calls": [{"name": name, "arguments": call["arguments"]}]}


async def wait_for_tools(box: BoxConnection, names: set[str], timeout: float = 60.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        listed = {tool.name for tool in await box.list_tools()}
        if names <= listed or time.monotonic() > deadline:
            return listed
        await asyncio.sleep(0.1)


async def test_distill_serve_and_answer_held_out_tasks(tmp_path):
    parent = tmp_path / "boxes"
    parent.mkdir()
    tasks = write_tasks(tmp_path / "tasks.jsonl", family.TRAIN)
    with ScriptedOpenAI(family.teacher) as teacher_llm, ScriptedOpenAI(student) as student_llm:
        async with BoxConnection(ServerTarget.local([parent])) as box:
            before = {tool.name for tool in await box.list_tools()}
            assert not any(name.startswith("units_") for name in before)

            async with chat_model(teacher_llm) as teacher:
                result = await distill(tasks, parent / "units", teacher, limits=TEST_LIMITS)
            counts = dict(result.outcome.counts.as_rows())
            assert counts == EXPECTED_COUNTS
            report = (parent / "units" / "distill_report.md").read_text()
            for stage, count in EXPECTED_COUNTS.items():
                assert f"| {stage} | {count} |" in report
            for why in ("wrong answer", "syntax error", "import of 'os' is forbidden",
                        "import of 'socket' is forbidden", "ToolTimeout", "ran out of memory",
                        "no ```python block", "has no parameters"):  # fmt: skip
                assert why in report, why
            assert len((parent / "units" / "examples.jsonl").read_text().splitlines()) == 20

            listed = await wait_for_tools(box, FINAL_TOOLS)
            assert listed >= FINAL_TOOLS, box.server_log_tail()
            assert box.list_changes >= 1  # the client learned of the box by notification
            status = await box.call_tool("box_status", {})
            assert status.ok, status.text
            # the staging folder was never taken for a box, and the box arrived complete
            (served,) = status.structured["boxes"]
            assert (served["box"], served["trust"], served["errors"]) == ("units", "sandboxed", [])
            assert set(served["tools"]) == FINAL_TOOLS and served["path"] == str((parent / "units").resolve())

            async with ChatModel(
                resolve_model("scripted", base_url=student_llm.base_url, max_retries=0)
            ) as model:
                agent = Agent(model, box, AgentConfig(max_steps=3))
                for task_id, key, numbers in family.HELD_OUT:
                    run = await agent.solve(family.question(key, numbers))
                    (step,) = run.steps
                    (call,) = step.tool_calls
                    assert call.name == f"units_{family.merged_call(key, numbers)['function']}", task_id
                    assert step.results[0].ok, step.results[0].text
                    assert abs(float(run.answer) - family.answer(key, numbers)) < 1e-9, (task_id, run.answer)
    # the emitted box passes `mcp-box check` on its own examples, like any hand-written box
    check = [sys.executable, "-m", "mcp_box_server", "check", str(parent / "units")]
    done = await asyncio.to_thread(subprocess.run, check, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
