"""`mcp-box ask` and `mcp-box eval` as users run them: real processes, real server, scripted model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp_box_server.cli import main
from tests.support.scripted_openai import Reply, Script, ScriptedOpenAI, free_port


def mcp_box(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_box_server", *args], capture_output=True, text=True, timeout=timeout
    )


def test_ask_end_to_end_with_the_bundled_math_box_over_stdio() -> None:
    call = {"tool_calls": [{"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13]}}]}
    with ScriptedOpenAI(Script.sequence([call, "Final answer: (4 - 10) * (9 - 13)"])) as llm:
        done = mcp_box(
            "ask",
            "Use the numbers 4 9 10 13 and + - * / to make 24 (Game of 24).",
            "--model", "scripted", "--base-url", llm.base_url, "--box", "math", "--verbose",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "(4 - 10) * (9 - 13)\n"
    assert "math_solve_24" in done.stderr and "(4 - 10) * (9 - 13) = 24" in done.stderr
    offered = [t["function"]["name"] for t in llm.requests[0]["tools"]]
    assert "math_solve_24" in offered and offered[-1] == "find_tools"
    assert len(offered) == 9  # 8 box tools by relevance + find_tools, out of the math box's many
    (tool_reply,) = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert json.loads(tool_reply["content"])["expression"] == "(4 - 10) * (9 - 13)"


def test_eval_compare_no_box_prints_both_arms(server_url: str, tmp_path: Path) -> None:
    puzzles = {"4 5 6 10": "(10 - 6) * 5 + 4"}  # the first row of the split; others stay unsolved

    def respond(request: dict[str, Any]) -> Reply:
        question = request["messages"][1]["content"]
        puzzle = question.split("numbers ", 1)[1].split(" and", 1)[0]
        if "tools" not in request:
            return f"Final answer: {puzzles.get(puzzle, '1 + 2')}"
        if len(request["messages"]) == 2:
            numbers = [int(n) for n in puzzle.split()]
            return {"tool_calls": [{"name": "calc_solve_24", "arguments": {"numbers": numbers}}]}
        tool = json.loads(request["messages"][-1]["content"])
        return f"Final answer: {tool['expression']}"

    traces = tmp_path / "traces"
    common = ["--model", "scripted", "--server-url", server_url, "--traces", str(traces), "-j", "3"]
    with ScriptedOpenAI(respond) as llm:
        done = mcp_box(
            "eval", "game24", "--rows", "900:903", "--compare-no-box", "--base-url", llm.base_url, *common
        )
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "no-box" in done.stdout and "100.0%" in done.stdout
    summary = json.loads((traces / "summary.json").read_text())
    arms = {arm["arm"]: arm for arm in summary["arms"]}
    assert arms["box"]["correct"] == 3 and arms["box"]["mean_tool_calls"] == 1.0
    assert arms["no-box"]["correct"] == 1 and arms["no-box"]["mean_tool_calls"] == 0.0
    assert len((traces / "box.jsonl").read_text().splitlines()) == 3

    again = main(["eval", "game24", "--rows", "900:903", "--base-url", "http://127.0.0.1:9/v1", *common])
    assert again == 2  # traces exist: refuses without --resume / --overwrite


def test_ask_reports_a_dead_model_endpoint() -> None:
    done = mcp_box("ask", "2+2?", "--model", f"ollama:qwen3:8b@http://127.0.0.1:{free_port()}/v1", "--no-box")
    assert done.returncode == 1
    assert "nothing answers at http://127.0.0.1" in done.stderr and "ollama serve" in done.stderr
    assert done.stdout == ""


def test_ask_reports_an_unknown_model(capsys: Any) -> None:
    with ScriptedOpenAI(Script.sequence(["x"]), models=("qwen3:8b",)) as llm:
        code = main(["ask", "2+2?", "--model", "qwen3:4b", "--base-url", llm.base_url, "--no-box"])
    assert code == 1
    assert "model 'qwen3:4b' not found" in capsys.readouterr().err


def test_bad_spec_is_a_usage_error(capsys: Any) -> None:
    assert main(["ask", "q", "--model", "qwen3:8b", "--no-box"]) == 2
    assert "no provider" in capsys.readouterr().err
