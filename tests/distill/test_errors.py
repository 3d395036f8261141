"""What a distill run tells when the teacher fails: the cause as it happens, an early stop,
the real reason for a web page in place of a reply, a task's own tolerance, the report's path."""

import io
import json

import pytest
from rich.console import Console

from mcp_box_server.cli import main
from mcp_box_server.distill import Stages, Task, TaskFileError, Teacher, TeacherOptions, TeacherUnusable
from mcp_box_server.distill.tasks import read_tasks, score
from mcp_box_server.llm import NotAChatReply
from tests.distill.conftest import chat_model, write_tasks
from tests.distill.family import TRAIN
from tests.distill.test_cli import distill_args
from tests.support.scripted_openai import Script, ScriptedOpenAI

LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head><body>...</body></html>"
)


def test_a_teacher_that_always_fails_stops_early_and_says_why(tmp_path, capsys):
    tasks = write_tasks(tmp_path / "tasks.jsonl", TRAIN[:10])
    out = tmp_path / "boxes" / "units"
    failing = {"status": 500, "content": "CUDA out of memory (scripted)"}
    with ScriptedOpenAI(lambda _: failing) as llm:
        assert main(distill_args(llm, tasks, out, tmp_path / "cache")) == 1
        sent = len(llm.requests)
    err = capsys.readouterr().err
    # five failed, plus at most the ones already in flight (4 at a time): no retry schedule ran out
    assert 5 <= sent <= 5 + 4, sent
    told = [line for line in err.splitlines() if line.startswith("teacher request failed (HTTP 500)")]
    assert len(told) == 1 and "CUDA out of memory (scripted)" in told[0]  # the cause, once per kind
    assert "stopped: each of the first 5 requests to the teacher failed" in err
    assert "failed teacher requests by kind: HTTP 500 " in err
    report = (tmp_path / "boxes" / "units.distill_report.md").resolve()
    assert f"report: {report}" in err
    text = report.read_text()
    assert "**stopped: each of the first 5 requests" in text and "by kind: HTTP 500: " in text
    assert not out.exists()


def test_a_teacher_refused_before_any_report_says_what_was_kept(tmp_path, capsys):
    tasks = write_tasks(tmp_path / "tasks.jsonl", TRAIN[:1])
    out, cache = tmp_path / "boxes" / "units", tmp_path / "cache"
    refused = {"status": 401, "content": "bad key (scripted)"}
    with ScriptedOpenAI(lambda _: refused) as llm:
        assert main(distill_args(llm, tasks, out, cache)) == 1
    err = capsys.readouterr().err
    assert "rejected the API key: bad key (scripted); stopped before any report: nothing was written" in err
    assert list(tmp_path.rglob("*")) == [tmp_path / "tasks.jsonl"]  # nothing indeed
    # One reply (no code in it: the repair is asked next), then the key is refused, twice.
    with ScriptedOpenAI(Script.sequence(["I would rather not write code.", refused, refused])) as llm:
        assert main(distill_args(llm, tasks, out, cache, "--repairs", "1")) == 1
        assert len(llm.requests) == 2
        err = capsys.readouterr().err
        kept = f"no box or report at {out}; kept: 1 teacher reply in the cache {cache} (a re-run sends"
        assert f"stopped before any report: {kept}" in err
        assert len(list(cache.rglob("*.json"))) == 1
        assert not out.exists() and not list(out.parent.glob("*distill_report*"))
        assert main(distill_args(llm, tasks, out, cache, "--repairs", "1")) == 1  # the same teacher again
        first, repair, again = (request["messages"] for request in llm.requests)
        assert again == repair != first  # the kept reply was not asked for again: only the rest
    assert "nothing was written" in capsys.readouterr().err


def test_the_early_stop_is_an_option(tmp_path, capsys):
    tasks = write_tasks(tmp_path / "tasks.jsonl", TRAIN[:3])
    with ScriptedOpenAI(lambda _: {"status": 503, "content": "warming up"}) as llm:
        args = distill_args(llm, tasks, tmp_path / "box", tmp_path / "c", "--retries", "0", "--repairs", "0")
        assert main([*args, "--stop-after", "0"]) == 1
        assert len(llm.requests) == 3  # every task asked once: no early stop
    err = capsys.readouterr().err
    assert "no tool survived" in err and "stopped:" not in err and "HTTP 503" in err
    assert main([*args, "--stop-after", "-1"]) == 2


@pytest.mark.parametrize("stream", [True, False])
def test_an_html_page_with_status_200_is_named(tmp_path, capsys, stream):
    tasks = write_tasks(tmp_path / "tasks.jsonl", TRAIN[:2])
    with ScriptedOpenAI(lambda _: {"body": LOGIN_PAGE}) as llm:
        extra = () if stream else ("--no-stream",)
        assert main(distill_args(llm, tasks, tmp_path / "box", tmp_path / "c", *extra)) == 1
    err = capsys.readouterr().err
    assert "returned an HTML page with status 200 (text/html): title 'Sign in - Corporate Proxy'" in err
    assert "empty reply" not in err


async def test_a_json_body_that_is_not_a_reply_is_named(tmp_path):
    with ScriptedOpenAI(lambda _: {"body": "plain words, no JSON", "media_type": "text/plain"}) as llm:
        async with chat_model(llm) as model:
            with pytest.raises(
                NotAChatReply, match=r"no chat reply with status 200 \(text/plain\): 'plain words"
            ):
                await model.chat([{"role": "user", "content": "hi"}])


async def test_rate_limits_do_not_stop_the_run_and_each_kind_is_told_once(tmp_path):
    replies = [{"status": 429, "content": "slow down", "headers": {"Retry-After": "0"}}] * 7 + ["fine"]
    lines = io.StringIO()
    stages = Stages(console=Console(file=lines, width=200))
    with ScriptedOpenAI(Script.sequence(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, None, TeacherOptions(retries=10, stop_after=5), tell=stages.note)
            answer = await teacher.ask([{"role": "user", "content": "q"}])
    assert answer.text == "fine"
    assert teacher.stats.failures == {"HTTP 429": 7} and teacher.stats.sent == 8
    told = lines.getvalue().splitlines()
    assert len(told) == 1 and told[0].startswith("teacher request failed (HTTP 429):")


async def test_failures_after_an_answer_never_stop_the_run(tmp_path):
    replies = ["first", *[{"status": 500, "content": "down"}] * 8]
    with ScriptedOpenAI(Script.sequence(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, None, TeacherOptions(retries=0, stop_after=2))
            assert (await teacher.ask([{"role": "user", "content": "a"}])).text == "first"
            for question in "bcd":
                with pytest.raises(Exception) as failed:
                    await teacher.ask([{"role": "user", "content": question}])
                assert not isinstance(failed.value, TeacherUnusable)
    assert teacher.stats.failures == {"HTTP 500": 3}


def test_a_task_sets_its_tolerance_and_a_miss_names_it(tmp_path):
    path = tmp_path / "tasks.jsonl"
    rows = [
        {"id": "a", "question": "5 miles in km, to 4 decimals?", "answer": 8.0467, "tolerance": 1e-4},
        {"id": "b", "question": "5 miles in km?", "answer": "8.04672"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    rounded, exact = read_tasks(path)
    assert rounded.tolerance == 1e-4 and exact.tolerance is None
    assert score(rounded, 8.04672) is None  # within 1e-4 of the rounded answer
    assert score(rounded, 8.0469) == (
        "wrong answer: expected 8.0467, got 8.0469 (off by 0.0002, over the task's tolerance 0.0001)"
    )
    near = score(Task("c", "q", 8.0467), 8.04672)  # the default: relative 1e-6, named with the fix
    assert near == (
        "wrong answer: expected 8.0467, got 8.04672 "
        '(off by 2e-05, over a relative tolerance of 1e-06; a task may set "tolerance")'
    )
    assert score(Task("d", "q", 25), 80.0) == "wrong answer: expected 25, got 80.0"  # far off: no noise


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"answer": 1.5, "tolerance": "0.1"}, "tolerance must be a number, got '0.1'"),
        ({"answer": 1.5, "tolerance": True}, "tolerance must be a number, got True"),
        ({"answer": 1.5, "tolerance": -0.1}, "tolerance must be 0 or more, got -0.1"),
        ({"answer": "Paris", "tolerance": 0.1}, "tolerance applies to a numeric answer, not 'Paris'"),
        ({"answer": 2, "scorer": "exact", "tolerance": 0.1}, "tolerance applies to a numeric answer"),
    ],
)
def test_a_bad_tolerance_is_refused_naming_the_line(tmp_path, row, error):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"question": "q", **row}) + "\n")
    with pytest.raises(TaskFileError, match=rf"tasks.jsonl:1: {error}"):
        read_tasks(path)
