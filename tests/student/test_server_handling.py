"""The harness against servers that treat tools like real local servers do (`model_servers`).

Each test names the real server whose behaviour the scripted one copies; a real
`mcp-box serve` answers the tool calls.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mcp_box_server.cli import main
from mcp_box_server.llm import ModelTimeout, resolve_model
from mcp_box_server.student.agent import Agent, AgentConfig
from mcp_box_server.student.benchmarks import load_benchmark
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from mcp_box_server.student.evaluation import read_trace, run_arm
from mcp_box_server.student.model import StudentModel
from mcp_box_server.student.steps import EndReason, ErrorKind, Run
from mcp_box_server.student.transcript import BRIEF_PROMPT
from tests.support.model_servers import Behaviour, MimicServer
from tests.support.scripted_openai import Reply

ADD = {"name": "calc_add", "arguments": {"a": 2, "b": 3}}
TEXT = "the quick brown fox jumps over the lazy dog " * 3
REVERSE = {"name": "text_reverse_text", "arguments": {"text": TEXT}}


async def solve(
    server_url: str,
    server: MimicServer,
    question: str = "What is 2 + 3?",
    *,
    stream: bool = False,
    deadline_s: float = 30.0,
    **config: Any,
) -> Run:
    with server:
        spec = resolve_model("scripted", base_url=server.base_url, max_retries=0, timeout_s=deadline_s)
        async with (
            StudentModel(spec, deadline_s=deadline_s, stream=stream) as model,
            BoxConnection(ServerTarget.remote(server_url)) as box,
        ):
            return await Agent(model, box, AgentConfig(**config)).solve(question)


def probes(server: MimicServer) -> list[int]:
    """Indexes of the harness's prompt-count probes (one token, no tools) among the requests."""
    return [i for i, r in enumerate(server.requests) if r.get("max_tokens") == 1 and "tools" not in r]


def chats(server: MimicServer) -> list[dict[str, Any]]:
    """The requests that were not probes."""
    skip = set(probes(server))
    return [r for i, r in enumerate(server.requests) if i not in skip]


def answer_once_seen(needle: str, call: dict[str, Any], answer: str) -> Any:
    """A model that calls `call` until `needle` (the result) is in its prompt, then answers."""

    def respond(view: dict[str, Any]) -> Reply:
        return f"Final answer: {answer}" if needle in view["_prompt"] else {"tool_calls": [call]}

    return respond


async def test_ignored_tools_switch_to_text_and_results_reach_the_prompt(server_url: str) -> None:
    # llama-cpp-python's default chat format: tools ignored (HTTP 200), tool messages dropped.
    server = MimicServer(answer_once_seen('"content": "5"', ADD, "5"), "llama-cpp-python")
    run = await solve(server_url, server)
    assert run.answer == "5" and run.final.reason is EndReason.ANSWER
    assert run.tool_mode == "text" and "wrote its calls as text" in (run.tool_mode_reason or "")
    first, second = server.requests
    assert first["tools"] and first["tool_choice"] == "auto" and first["max_tokens"] == 1024
    assert "tools" not in second and "calc_add" in second["messages"][0]["content"]
    assert '"content": "5"' in server.prompts[1]
    assert [m["role"] for m in run.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert run.steps[0].notes and run.steps[0].finish_reason == "stop"


async def test_dropped_tool_messages_are_detected_from_prompt_tokens(server_url: str) -> None:
    # llama-cpp-python's chatml-function-calling: native calls with tool_choice, tool messages dropped.
    server = MimicServer(answer_once_seen(TEXT[::-1], REVERSE, "done"), "llama-cpp-python-chatml-fc")
    run = await solve(server_url, server, "Reverse the text.")
    assert run.answer == "done"
    assert (run.tool_mode_reason or "").startswith("tool results did not reach the prompt")
    native, _, sent, blank, text = server.requests
    assert native["tool_choice"] == "auto" and run.steps[0].tool_calls[0].source == "native"
    assert probes(server) == [2, 3] and sent["messages"][-1]["content"] == TEXT[::-1]
    assert blank["messages"][-1]["content"] == "" and server.prompts[2] == server.prompts[3]
    assert TEXT[::-1] not in server.prompts[1]  # the native tool message was dropped...
    assert "tools" not in text and TEXT[::-1] in server.prompts[4]  # ...and is read as text
    # The model's tokens leave the two probes out; they are counted apart.
    spent = [g.prompt_tokens for g in server.generations]
    assert run.usage.prompt_tokens == sum(spent) - spent[2] - spent[3]
    assert run.probe_usage.prompt_tokens == spent[2] + spent[3]


async def test_kept_tool_messages_are_checked_once(server_url: str) -> None:
    # llama-server --jinja keeps tool messages: the probe pair differs, the run stays native.
    replies = iter([{"tool_calls": [REVERSE]}, {"tool_calls": [ADD]}, "Final answer: done"])
    server = MimicServer(lambda view: "" if view.get("max_tokens") == 1 else next(replies))
    run = await solve(server_url, server, "Reverse the text, then add.")
    assert run.answer == "done" and run.tool_mode == "native"
    assert probes(server) == [2, 3] and len(server.requests) == 5


async def test_without_tool_choice_the_chatml_format_gets_text_calls(server_url: str) -> None:
    server = MimicServer(answer_once_seen('"content": "5"', ADD, "5"), "llama-cpp-python-chatml-fc")
    run = await solve(server_url, server, tool_choice="omit")
    assert "tool_choice" not in server.requests[0] and run.steps[0].tool_calls[0].source == "text"
    assert run.answer == "5" and run.tool_mode == "text"


async def test_a_refused_tool_choice_is_dropped_and_tools_stay_native(server_url: str) -> None:
    # vLLM without --enable-auto-tool-choice refuses tool_choice "auto".
    server = MimicServer(answer_once_seen("<tool>5</tool>", ADD, "5"), "vllm-no-auto-tool-choice")
    run = await solve(server_url, server)
    assert run.answer == "5" and run.tool_mode == "native"
    assert [("tool_choice" in r, bool(r.get("tools"))) for r in chats(server)] == [
        (True, True),
        (False, True),
        (False, True),
    ]
    assert "refused tool_choice" in run.steps[0].notes[0]


async def test_repeated_calls_are_nudged_then_stuck(server_url: str) -> None:
    server = MimicServer(lambda _: {"tool_calls": [ADD]}, "llama-server-jinja")
    run = await solve(server_url, server)
    assert run.final.reason is EndReason.STUCK and run.answer == ""
    assert "repeated calc_add" in (run.final.error or "")
    assert [s.results[0].error for s in run.steps] == [None, ErrorKind.REPEATED, ErrorKind.REPEATED]
    requests = chats(server)
    nudge = requests[2]["messages"][-1]
    assert nudge["role"] == "tool" and "already called calc_add" in nudge["content"]
    assert "\n5\n" in nudge["content"] and len(requests) == 3


async def test_a_cut_off_reply_is_retried_once_briefly(server_url: str) -> None:
    def respond(view: dict[str, Any]) -> Reply:
        return "Final answer: 5" if BRIEF_PROMPT in view["_prompt"] else {"never_ends": True}

    server = MimicServer(respond, "llama-server-jinja")
    run = await solve(server_url, server, max_tokens=64)
    assert run.answer == "5" and run.final.reason is EndReason.ANSWER
    assert [g.end for g in server.generations] == ["length", "stop"]
    assert any("cut off" in note for note in run.final.notes)
    assert run.messages[-2]["content"] == BRIEF_PROMPT and len(run.messages[-3]["content"]) < 320


async def test_a_reply_cut_off_twice_ends_as_length(server_url: str) -> None:
    server = MimicServer(lambda _: {"never_ends": True}, "llama-server-jinja")
    run = await solve(server_url, server, max_tokens=32)
    assert run.final.reason is EndReason.LENGTH and run.answer == ""
    assert run.final.finish_reason == "length" and len(server.requests) == 2


async def test_timeout_bounds_retries_too() -> None:
    with MimicServer(lambda _: {"status": 503, "content": "loading model"}) as server:
        # Unbounded, 5 retries with the openai client's backoff would take about 15 s.
        spec = resolve_model("scripted", base_url=server.base_url, max_retries=5, timeout_s=1.2)
        async with StudentModel(spec, deadline_s=1.2) as model:
            started = time.monotonic()
            with pytest.raises(ModelTimeout, match=r"within 1\.2 s \(retries included\)"):
                await model.chat([{"role": "user", "content": "q"}])
    assert time.monotonic() - started < 3.0 and len(server.requests) >= 2  # margins for a loaded machine


@pytest.mark.parametrize(
    ("behaviour", "stream", "stops"),
    [
        ("llama-server-jinja", False, True),  # closes the connection: generation stops
        ("llama-cpp-python", False, False),  # keeps generating a dropped non-streamed reply
        ("llama-cpp-python", True, True),  # ...but stops a dropped stream
    ],
)
async def test_timeout_cancels_the_request(behaviour: str, stream: bool, stops: bool) -> None:
    with MimicServer(lambda _: {"never_ends": True}, behaviour, tokens_per_s=500) as server:
        spec = resolve_model("scripted", base_url=server.base_url, max_retries=2, timeout_s=0.5)
        async with StudentModel(spec, deadline_s=0.5, stream=stream) as model:
            started = time.monotonic()
            with pytest.raises(ModelTimeout):
                await model.chat([{"role": "user", "content": "q"}])
            assert time.monotonic() - started < 2.0
            time.sleep(1.0)
    (generation,) = server.generations
    assert (generation.end == "disconnected") is stops
    if stops:
        assert generation.ended is not None and generation.ended - started < 1.5


async def test_streamed_replies_carry_native_calls() -> None:
    with MimicServer(lambda _: {"tool_calls": [ADD], "content": "Adding."}) as server:
        async with StudentModel(resolve_model("scripted", base_url=server.base_url), stream=True) as model:
            tools = [{"type": "function", "function": {"name": "calc_add", "parameters": {"type": "object"}}}]
            result = await model.chat([{"role": "user", "content": "q"}], tools=tools)
    assert server.requests[0]["stream"] is True
    (call,) = result.message.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("calc_add", {"a": 2, "b": 3})
    assert result.message.content == "Adding." and result.message.finish_reason == "tool_calls"


async def test_a_broken_stream_is_asked_again_unstreamed() -> None:
    # chatml-function-calling answers a streamed request whose reply is a native call with an empty 200.
    reply = {"tool_calls": [ADD], "broken_stream": True}
    with MimicServer(lambda _: reply, "llama-cpp-python-chatml-fc") as server:
        async with StudentModel(resolve_model("scripted", base_url=server.base_url), stream=True) as model:
            tools = [{"type": "function", "function": {"name": "calc_add", "parameters": {"type": "object"}}}]
            result = await model.chat([{"role": "user", "content": "q"}], tools=tools, tool_choice="auto")
    assert [r.get("stream", False) for r in server.requests] == [True, False]
    assert result.message.tool_calls[0].name == "calc_add"


async def test_eval_summary_counts_how_tasks_ended(server_url: str, tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    questions = ["answers", "repeats", "wanders", "rambles"]
    tasks.write_text("".join(json.dumps({"question": f"It {q}.", "answer": "5"}) + "\n" for q in questions))

    def respond(view: dict[str, Any]) -> Reply:
        question = view["messages"][1]["content"]
        calls = sum(1 for m in view["messages"] if m["role"] == "tool")
        if "answers" in question:
            return {"tool_calls": [ADD]} if calls == 0 else "Final answer: 5"
        if "repeats" in question:
            return {"tool_calls": [ADD]}
        if "wanders" in question:
            step = {"name": "calc_add", "arguments": {"a": 2, "b": calls}}
            return "Final answer: 7" if "used all your steps" in view["_prompt"] else {"tool_calls": [step]}
        return {"never_ends": True}

    with MimicServer(respond, "llama-server-jinja") as server:
        async with (
            StudentModel(resolve_model("scripted", base_url=server.base_url)) as model,
            BoxConnection(ServerTarget.remote(server_url)) as box,
        ):
            config = AgentConfig(max_steps=3, max_tokens=32)
            bench = load_benchmark(str(tasks))
            result = await run_arm(bench, model, box, config, tmp_path / "box.jsonl", arm="box")
    summary = result.summary.to_dict()
    assert (summary["answered"], summary["stuck"], summary["step_limit"], summary["length"]) == (1, 1, 1, 1)
    assert summary["correct"] == 1
    ends = {r["question"]: (r["end"], r["answer"]) for r in read_trace(tmp_path / "box.jsonl")}
    assert ends == {
        "It answers.": ("answer", "5"),
        "It repeats.": ("stuck", ""),
        "It wanders.": ("step_limit", "7"),
        "It rambles.": ("length", ""),
    }


def test_ask_verbose_shows_finish_reasons_and_a_stuck_run_is_no_answer(server_url: str, capsys: Any) -> None:
    with MimicServer(lambda _: {"tool_calls": [ADD]}, Behaviour("native")) as server:
        code = main(
            [
                *("ask", "What is 2 + 3?", "--model", "scripted", "--base-url", server.base_url),
                *("--server-url", server_url, "-v", "--max-repeats", "1"),
            ]
        )
    err = capsys.readouterr().err
    assert code == 1 and "finish_reason tool_calls" in err
    assert "no answer (stuck): the model repeated calc_add" in err
    assert len(chats(server)) == 2 and len(probes(server)) == 2


async def test_a_timed_out_task_fails_alone(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"question": q, "answer": "5"}) + "\n" for q in ("slow", "fast")))

    def respond(view: dict[str, Any]) -> Reply:
        return {"never_ends": True} if "slow" in view["_prompt"] else "Final answer: 5"

    with MimicServer(respond, tokens_per_s=100) as server:
        spec = resolve_model("scripted", base_url=server.base_url, timeout_s=0.5)
        async with StudentModel(spec, deadline_s=0.5) as model:
            config = AgentConfig(max_tokens=None)
            result = await run_arm(
                load_benchmark(str(tasks)), model, None, config, tmp_path / "t.jsonl", arm="no-box"
            )
    assert [(r["end"], r["answer"]) for r in result.records] == [("model_error", ""), ("answer", "5")]
    assert "within 0.5 s" in result.records[0]["error"]


async def test_runaway_native_arguments_are_clipped_in_the_history(server_url: str) -> None:
    runaway = {"name": "text_reverse_text", "arguments": {"text": "ab" * 5000}}
    replies = iter([{"tool_calls": [runaway]}, "Final answer: done"])
    server = MimicServer(lambda view: "" if view.get("max_tokens") == 1 else next(replies))
    run = await solve(server_url, server, "Reverse it.")
    assert run.answer == "done" and run.steps[0].results[0].ok
    kept = json.loads(chats(server)[1]["messages"][2]["tool_calls"][0]["function"]["arguments"])
    assert len(kept["clipped_arguments"]) == 2000
