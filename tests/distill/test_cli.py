"""`mcp-box distill` end to end in-process: exit codes, output, and a free re-run from the cache."""

import json

from mcp_box_server.cli import main
from tests.distill.conftest import write_tasks
from tests.distill.family import TRAIN
from tests.support.scripted_openai import ScriptedOpenAI


def distill_args(llm, tasks, out, cache, *extra):
    return [
        "distill", str(tasks), "--teacher", "scripted", "--base-url", llm.base_url, "--api-key", "x",
        "--out", str(out), "--cache", str(cache), "--timeout", "1", "--memory-mb", "256", "--quiet", *extra,
    ]  # fmt: skip


def test_distill_then_rerun_from_the_cache(scripted_teacher, tmp_path, capsys):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [r for r in TRAIN if r[0] in ("t01", "t04", "t12")])
    out = tmp_path / "boxes" / "units"
    assert main(distill_args(scripted_teacher, tasks, out, tmp_path / "cache", "--dry-run")) == 0
    assert "dry run: 0 teacher requests answered from the cache, 3 to send" in capsys.readouterr().err
    assert scripted_teacher.requests == [] and not out.exists()
    assert main(distill_args(scripted_teacher, tasks, out, tmp_path / "cache")) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out.resolve())
    assert "tasks 3, generated 3, valid 3, repaired 2, abstracted 3" in captured.err
    first = len(scripted_teacher.requests)
    tools = sorted(p.name for p in (out / "tools").iterdir())
    examples = (out / "examples.jsonl").read_text()

    assert main(distill_args(scripted_teacher, tasks, out, tmp_path / "cache")) == 0
    assert len(scripted_teacher.requests) == first  # every teacher reply came from the cache
    assert f"teacher requests {first} ({first} cached, 0 failed" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "tools").iterdir()) == tools
    assert (out / "examples.jsonl").read_text() == examples
    assert (
        f"teacher requests: {first} ({first} from the cache, 0 without"
        in (out / "distill_report.md").read_text()
    )


def test_errors_exit_nonzero_with_a_message(tmp_path, capsys):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"question": "q"}\n')
    with ScriptedOpenAI(lambda _: "no code") as llm:
        assert main(distill_args(llm, tasks, tmp_path / "box", tmp_path / "c")) == 2
        assert "tasks.jsonl:1: expected" in capsys.readouterr().err
        (tmp_path / "taken").mkdir()
        assert main(distill_args(llm, tasks, tmp_path / "taken", tmp_path / "c")) == 2
        assert "exists and is not a distilled box" in capsys.readouterr().err
        assert main(distill_args(llm, tasks, tmp_path / "Bad Name", tmp_path / "c")) == 2
        assert "box name 'Bad Name' must match" in capsys.readouterr().err
        tasks.write_text(json.dumps({"question": "Convert 5 miles to kilometres.", "answer": 8.04672}) + "\n")
        # a teacher that never writes code: no tool survives, exit 1, and nothing is emitted
        assert main(distill_args(llm, tasks, tmp_path / "empty", tmp_path / "c", "--repairs", "0")) == 1
        err = capsys.readouterr().err
        assert "final_tools 0" in err and "no tool survived; the report says why" in err
        assert f"report: {(tmp_path / 'empty.distill_report.md').resolve()}" in err
        assert not (tmp_path / "empty").exists()
        report = (tmp_path / "empty.distill_report.md").read_text()
        assert "no ```python block with the tool module found in the reply" in report
    unreachable = [
        "distill",
        str(tasks),
        "--teacher",
        "scripted@http://127.0.0.1:9/v1",
        "--out",
        str(tmp_path / "x"),
    ]
    assert main([*unreachable, "--no-cache", "--quiet"]) == 1
    assert "mcp-box distill:" in capsys.readouterr().err


def test_teacher_options_reach_the_server(scripted_teacher, tmp_path, capsys):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [r for r in TRAIN if r[0] in ("t12", "t14")])
    extra = (
        "--max-tokens",
        "900",
        "--temperature",
        "0.2",
        "--cluster",
        "tfidf",
        "--no-stream",
        "--retries",
        "1",
    )
    assert main(distill_args(scripted_teacher, tasks, tmp_path / "pct", tmp_path / "cache", *extra)) == 0
    requests = scripted_teacher.requests
    assert all(r["max_tokens"] == 900 and r["temperature"] == 0.2 and "stream" not in r for r in requests)
    assert not any("Group them by" in json.dumps(r) for r in requests)
    assert "largest prompt" in capsys.readouterr().err
    assert (
        main(distill_args(scripted_teacher, tasks, tmp_path / "pct", tmp_path / "c", "--max-tokens", "0"))
        == 2
    )
