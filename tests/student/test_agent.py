"""The agent loop against a scripted model (real HTTP) and a real `mcp-box serve` (real MCP)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_box_server.llm import ChatModel, resolve_model
from mcp_box_server.student.agent import STEP_LIMIT_PROMPT, Agent, AgentConfig
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from mcp_box_server.student.steps import ActionStep, EndReason, ErrorKind, FinalAnswerStep, Run
from tests.support.scripted_openai import Reply, Responder, Script, ScriptedOpenAI, free_port

ADD = {"name": "calc_add", "arguments": {"a": 2, "b": 3}}


async def solve(
    server_url: str, responder: Responder, question: str = "What is 2 + 3?", **config: Any
) -> tuple[Run, list[dict[str, Any]]]:
    with ScriptedOpenAI(responder) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url, max_retries=0)) as model,
            BoxConnection(ServerTarget.remote(server_url)) as box,
        ):
            run = await Agent(model, box, AgentConfig(**config)).solve(question)
    return run, llm.requests


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_native_call_then_answer(server_url: str) -> None:
    run, requests = await solve(
        server_url, Script.sequence([{"tool_calls": [ADD]}, "It is 5.\nFinal answer: 5"])
    )
    assert run.answer == "5" and run.final.reason is EndReason.ANSWER
    (step,) = run.steps
    assert [(c.name, c.arguments, c.source) for c in step.tool_calls] == [
        ("calc_add", {"a": 2, "b": 3}, "native")
    ]
    assert step.results[0].ok and step.results[0].text == "5"
    assert step.results[0].structured == {"result": 5}
    assert "calc_add" in step.tools_offered
    (reply,) = tool_messages(requests[1])
    assert reply["content"] == "5" and reply["tool_call_id"] == "call_0"
    assert requests[1]["messages"][2]["tool_calls"][0]["function"]["name"] == "calc_add"
    assert run.usage.total_tokens == 30 and run.tool_calls == 1
    assert {t["function"]["name"] for t in requests[0]["tools"]} == {
        "calc_add",
        "calc_divide",
        "calc_solve_24",
        "text_reverse_text",
        "text_word_count",
        "text_upper_case",
        "text_celsius_to_fahrenheit",
        "text_is_prime",
    }


TEXT_CALLS = {
    "tagged": '<tool_call>{"name": "calc_add", "arguments": {"a": 2, "b": 3}}</tool_call>',
    "unclosed": 'Let me add.\n<tool_call>{"name": "calc_add", "arguments": {"a": 2, "b": 3}}',
    "fence": '```json\n{"name": "calc_add", "arguments": {"a": 2, "b": 3}}\n```',
    "bare": '{"name": "calc_add", "arguments": {"a": 2, "b": 3}}',
    "python-tag": '<|python_tag|>{"name": "calc_add", "parameters": {"a": 2, "b": 3}}<|eom_id|>',
    "double-encoded": json.dumps({"name": "calc_add", "arguments": json.dumps({"a": 2, "b": 3})}),
}


@pytest.mark.parametrize("text", TEXT_CALLS.values(), ids=TEXT_CALLS.keys())
async def test_text_calls_are_executed(server_url: str, text: str) -> None:
    run, requests = await solve(server_url, Script.sequence([text, "Final answer: 5"]))
    assert run.answer == "5"
    (step,) = run.steps
    assert step.tool_calls[0].source == "text" and step.results[0].text == "5"
    assistant, reply = requests[1]["messages"][2:]
    assert assistant == {"role": "assistant", "content": text} and "tools" not in requests[1]
    assert reply["role"] == "user" and '{"name": "calc_add", "content": "5"}' in reply["content"]
    assert run.tool_mode == "text" and "wrote its calls as text" in (run.tool_mode_reason or "")
    assert run.messages[-1] == {"role": "assistant", "content": "Final answer: 5"}


async def test_several_text_calls_in_one_message(server_url: str) -> None:
    text = (
        '<tool_call>{"name": "calc_add", "arguments": {"a": 2, "b": 3}}</tool_call>\n'
        '<tool_call>{"name": "text_upper_case", "arguments": {"text": "abc"}}</tool_call>'
    )
    run, requests = await solve(server_url, Script.sequence([text, "Final answer: 5 ABC"]))
    assert [(r.name, r.structured) for r in run.steps[0].results] == [
        ("calc_add", {"result": 5}),
        ("text_upper_case", {"result": "ABC"}),
    ]
    assert requests[1]["messages"][-1]["content"].count("<tool_response>") == 2


async def test_malformed_json_goes_back_then_recovers(server_url: str) -> None:
    bad = '<tool_call>{"name": "calc_add", "arguments": {"a": 2 "b": 3}}</tool_call>'
    run, requests = await solve(server_url, Script.sequence([bad, {"tool_calls": [ADD]}, "Final answer: 5"]))
    first, second = run.steps
    assert first.results[0].error is ErrorKind.PARSE and first.invalid
    assert second.results[0].ok
    feedback = requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "could not read the tool call (invalid JSON" in feedback["content"]
    assert run.answer == "5"


async def test_unknown_tool_is_reported_with_the_nearest_names(server_url: str) -> None:
    wrong = {"tool_calls": [{"name": "calc_plus", "arguments": {"a": 2, "b": 3}}]}
    run, requests = await solve(
        server_url, Script.sequence([wrong, {"tool_calls": [ADD]}, "Final answer: 5"])
    )
    assert run.steps[0].results[0].error is ErrorKind.UNKNOWN_TOOL
    (reply,) = tool_messages(requests[1])
    first_line = reply["content"].splitlines()[0]
    assert first_line.startswith("Error (unknown_tool): unknown tool 'calc_plus'; nearest tools: calc_add, ")
    assert len(first_line.split(": ", 2)[2].split(", ")) == 5  # of the 8 tools served
    assert run.answer == "5" and run.steps[1].results[0].ok


async def test_bad_arguments_then_recovery(server_url: str) -> None:
    missing = {"tool_calls": [{"name": "calc_add", "arguments": {"a": 2}}]}
    run, requests = await solve(
        server_url, Script.sequence([missing, {"tool_calls": [ADD]}, "Final answer: 5"])
    )
    first = run.steps[0].results[0]
    assert first.error is ErrorKind.BAD_ARGUMENTS and "'b'" in first.text
    (reply,) = tool_messages(requests[1])
    assert reply["content"].startswith("Error (bad_arguments): invalid arguments")
    assert run.answer == "5"


async def test_retry_limit_ends_invalid_loops(server_url: str) -> None:
    wrong: Reply = {"tool_calls": [{"name": "nope", "arguments": {}}]}
    run, requests = await solve(server_url, Script.sequence([wrong] * 10), max_retries=2)
    assert run.final.reason is EndReason.RETRY_LIMIT and run.answer == ""
    assert len(run.steps) == 3 and len(requests) == 3
    assert "unknown tool 'nope'" in (run.final.error or "")


async def test_step_limit_asks_for_a_final_answer(server_url: str) -> None:
    adds = [{"tool_calls": [{"name": "calc_add", "arguments": {"a": 2, "b": n}}]} for n in range(3)]
    run, requests = await solve(server_url, Script.sequence([*adds, "Final answer: 5"]), max_steps=3)
    assert run.final.reason is EndReason.STEP_LIMIT and run.answer == "5"
    assert len(run.steps) == 3 and len(requests) == 4
    assert "tools" not in requests[3]
    assert requests[3]["messages"][-1] == {"role": "user", "content": STEP_LIMIT_PROMPT}


async def test_tool_failure_goes_back_and_is_not_a_retry(server_url: str) -> None:
    divide = {"tool_calls": [{"name": "calc_divide", "arguments": {"a": 1, "b": 0}}]}
    again = {"tool_calls": [{"name": "calc_divide", "arguments": {"a": 2, "b": 0}}]}
    run, requests = await solve(
        server_url, Script.sequence([divide, again, "Final answer: undefined"]), max_retries=0
    )
    assert [s.results[0].error for s in run.steps] == [ErrorKind.TOOL_FAILED, ErrorKind.TOOL_FAILED]
    assert not run.steps[0].invalid
    assert "division by zero" in tool_messages(requests[1])[0]["content"]
    assert run.final.reason is EndReason.ANSWER and run.answer == "undefined"


async def test_dead_model_endpoint_ends_the_run(server_url: str) -> None:
    config = resolve_model(f"vllm:q@http://127.0.0.1:{free_port()}/v1", max_retries=0)
    async with ChatModel(config) as model, BoxConnection(ServerTarget.remote(server_url)) as box:
        run = await Agent(model, box).solve("2+3?")
    assert run.final.reason is EndReason.MODEL_ERROR
    assert "nothing answers at http://127.0.0.1" in (run.final.error or "")


async def test_no_box_sends_no_tools() -> None:
    with ScriptedOpenAI(Script.sequence(["2 + 3 = 5.\nFinal answer: 5"])) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            run = await Agent(model, None).solve("What is 2 + 3?")
    assert run.answer == "5" and run.steps == [] and run.tool_mode == "none"
    assert "tools" not in llm.requests[0]
    assert "Final answer" in llm.requests[0]["messages"][0]["content"]


async def test_no_box_does_not_parse_calls() -> None:
    with ScriptedOpenAI(Script.sequence(['{"name": "calc_add", "arguments": {}}'])) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            run = await Agent(model, None).solve("q")
    assert run.steps == [] and run.final.reason is EndReason.ANSWER


async def test_retrieval_narrows_and_find_tools_widens(server_url: str) -> None:
    find = {"tool_calls": [{"name": "find_tools", "arguments": {"query": "prime number", "k": 1}}]}
    prime = {"tool_calls": [{"name": "text_is_prime", "arguments": {"n": 7}}]}
    question = "Convert 100 degrees Celsius to Fahrenheit, then reverse the text 'abc'."
    run, requests = await solve(
        server_url, Script.sequence([find, prime, "Final answer: 212"]), question, max_tools=2
    )
    first = [t["function"]["name"] for t in requests[0]["tools"]]
    assert first == ["text_reverse_text", "text_celsius_to_fahrenheit", "find_tools"]
    second = {t["function"]["name"] for t in requests[1]["tools"]}
    assert second == {"text_reverse_text", "text_celsius_to_fahrenheit", "text_is_prime", "find_tools"}
    assert run.steps[1].results[0].text == "true"


async def test_self_consistency_votes_on_results(server_url: str) -> None:
    choices: list[Reply] = [
        {"tool_calls": [{"name": "calc_divide", "arguments": {"a": 1, "b": 0}}]},
        {"tool_calls": [{"name": "calc_add", "arguments": {"a": 1, "b": 4}}]},
        '<tool_call>{"name": "calc_add", "arguments": {"a": 2, "b": 3}}</tool_call>',
        '<tool_call>{"name": "calc_add", "arguments": {"a": 2 "b": 3}}</tool_call>',
        {"tool_calls": [{"name": "calc_add", "arguments": {"a": 10, "b": 10}}]},
        "Final answer: 5",
        "Final answer: 6",
        "Final answer: 5",
        "Final answer: 5",
        "Final answer: 7",
    ]
    run, requests = await solve(server_url, Script.sequence(choices), samples=5)
    assert requests[0]["n"] == 5 and requests[0]["temperature"] == 0.7
    (step,) = run.steps
    assert [(c.name, c.arguments) for c in step.tool_calls] == [("calc_add", {"a": 1, "b": 4})]
    assert [c.votes for c in step.candidates] == [0, 2, 2, 0, 1]
    assert step.candidates[0].dropped is not None and step.candidates[0].dropped.startswith("tool_failed")
    assert step.candidates[3].dropped is not None and step.candidates[3].dropped.startswith("parse error")
    assert len(tool_messages(requests[1])) == 1
    assert run.answer == "5" and run.final.reason is EndReason.ANSWER


async def test_falls_back_to_text_tools_when_server_refuses_tools(server_url: str) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        if "tools" in request:
            return {"status": 500, "content": "tools param requires --jinja flag"}
        if any(m["role"] == "user" and "<tool_response>" in m["content"] for m in request["messages"]):
            return "Final answer: 5"
        return '<tool_call>{"name": "calc_add", "arguments": {"a": 2, "b": 3}}</tool_call>'

    run, requests = await solve(server_url, respond)
    assert run.answer == "5"
    assert requests[0]["tool_choice"] == "auto" and "tool_choice" not in requests[1]  # tried without it
    assert "tools" not in requests[2] and "calc_add" in requests[2]["messages"][0]["content"]
    assert '"content": "5"' in requests[3]["messages"][-1]["content"]
    assert run.tool_mode == "text" and (run.tool_mode_reason or "").startswith("the server refused tools")


async def test_run_stream_yields_typed_steps(server_url: str) -> None:
    with ScriptedOpenAI(Script.sequence([{"tool_calls": [ADD]}, "Final answer: 5"])) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model,
            BoxConnection(ServerTarget.remote(server_url)) as box,
        ):
            steps = [step async for step in Agent(model, box).run("2+3?")]
    assert [type(s) for s in steps] == [ActionStep, FinalAnswerStep]
    assert steps[0].to_dict()["type"] == "action" and steps[1].to_dict()["answer"] == "5"


async def test_no_box_samples_vote_on_answers() -> None:
    replies = ["Final answer: 7", "Final answer: 8", "I think **8**.\nFinal answer: 8."]
    with ScriptedOpenAI(Script.sequence(replies)) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            run = await Agent(model, None, AgentConfig(samples=3)).solve("q")
    assert run.answer == "8" and llm.requests[0]["n"] == 3


async def test_shots_put_the_nearest_demos_in_front_as_chat_turns(server_url: str) -> None:
    from mcp_box_server.student.connection import BoxConnection as Connection

    with ScriptedOpenAI(Script.sequence(["Final answer: 24", "Final answer: 24"])) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url, max_retries=0)) as model,
            Connection(ServerTarget.remote(server_url)) as box,
        ):
            demos = await box.demos()
            question = "Use the numbers 4 7 8 8 to make 24."
            await Agent(model, box, AgentConfig(shots=1), demos).solve(question)
            await Agent(model, None, AgentConfig(shots=1), demos).solve(question)
    with_box, without = (r["messages"] for r in llm.requests)
    # With the box: the demo's question, its call as a native turn, the real result, its answer.
    assert [m["role"] for m in with_box] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert with_box[1]["content"] == "Use the numbers 1 2 3 4 to make 24."
    call = with_box[2]["tool_calls"][0]["function"]
    assert call["name"] == "calc_solve_24" and json.loads(call["arguments"]) == {"numbers": [1, 2, 3, 4]}
    assert json.loads(with_box[3]["content"])["expression"] == "4 * (3 + (1 + 2))"
    assert with_box[4]["content"] == "Final answer: 4 * (3 + (1 + 2))" and with_box[5]["content"] == question
    # Without it: the same demo as question and answer only.
    assert [m["role"] for m in without] == ["system", "user", "assistant", "user"]
    assert without[2]["content"] == "Final answer: 4 * (3 + (1 + 2))"
