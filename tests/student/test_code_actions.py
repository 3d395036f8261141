"""`mcp-box ask --actions code --samples 5`: code actions through execute, self-consistency by vote.

The models are scripted (tests/support/scripted_openai.py); the server is real (started
over stdio with --code-mode), so every candidate's code really runs in its own sandboxed
program and the vote is on what the programs returned and printed.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from tests.support.scripted_openai import ScriptedOpenAI

PUZZLE = "Use the numbers 4 9 10 13 and basic arithmetic operations (+ - * /) to obtain 24."
GC_QUESTION = "What is the GC content, in percent, of the DNA sequence ATGCGCATGG?"

GAME24_CANDIDATES = [
    "Thought: the solver finds it.\nCode:\n```py\nr = math.solve_24(numbers=[4, 9, 10, 13])\n"
    "final_answer(r['expression'])\n```<end_code>",
    "Thought: call the tool.\nCode:\n```py\n"
    "final_answer(math.solve_24(numbers=[4, 9, 10, 13])['expression'])\n```",
    "Thought: add them.\nCode:\n```py\nfinal_answer('4 + 9 + 10 + 13')\n```<end_code>",
    "I think it is 24.",
    "Thought: divide.\nCode:\n```py\nprint(1 / 0)\n```<end_code>",
]

MEASURE = (
    "Thought: measure it.\nCode:\n```py\nprint(bio.gc_content(sequence='ATGCGCATGG')['gc_percent'])\n```"
)
GC_FIRST = [
    MEASURE + "<end_code>",
    "Thought: the bio box.\nCode:\n```python\nx = bio.gc_content(sequence='ATGCGCATGG')\n"
    "print(x['gc_percent'])\n```",
    "Thought: wrong sequence.\nCode:\n```py\nprint(bio.gc_content(sequence='GGGG')['gc_percent'])\n```",
    MEASURE,
    "Thought: typo.\nCode:\n```py\nprint(bio.gc_contnet(sequence='ATGCGCATGG'))\n```<end_code>",
]


def responder() -> Any:
    """Five candidates per request, in turn; the second GC step answers from the observation."""
    game24 = itertools.cycle(GAME24_CANDIDATES)
    first = itertools.cycle(GC_FIRST)
    lock = threading.Lock()

    def respond(request: dict[str, Any]) -> str:
        text = request.get("prompt") or " ".join(str(m.get("content")) for m in request.get("messages", []))
        with lock:
            if PUZZLE in text:
                return next(game24)
            if "Observation: 60.0" in text:  # the winner's printed output came back
                return "Thought: it is 60 percent.\nCode:\n```py\nfinal_answer(60.0)\n```<end_code>"
            if "Observation: " in text:  # (the instructions name it too, without a space after)
                return "Thought: no observation I expected.\nCode:\n```py\nfinal_answer(-1)\n```"
            return next(first)

    return respond


def ask(llm: ScriptedOpenAI, question: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mcp_box_server", "ask", question, "--model", "scripted"]
    command += ["--base-url", llm.base_url, "--actions", "code", "--samples", "5", "--verbose", *extra]
    env = dict(os.environ, COLUMNS="500")  # one line per candidate in the verbose log
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_game_of_24_by_vote_over_five_code_actions(api):
    with ScriptedOpenAI(responder()) as llm:
        done = ask(llm, PUZZLE, "--box", "math", "--api", api)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "(4 - 10) * (9 - 13)"
    log = done.stderr
    assert "candidate 0:" in log and "candidate 4:" in log
    assert "solve_24" in log and "-> '(4 - 10) * (9 - 13)'" in log  # each candidate's code and outcome
    assert log.count("[2 votes]") == 2 and "[1 votes]" in log  # the two that agree, the one alone
    assert "dropped: no code block" in log and "dropped: raised: program error: ZeroDivisionError" in log
    first = llm.requests[0]
    assert first.get("n") == 5 or api == "completions"
    sent = first.get("prompt") or first["messages"][0]["content"]
    assert "def solve_24(numbers: list[" in sent  # tools shown as Python signatures


def test_a_bio_task_feeds_the_winning_output_back_as_the_observation():
    with ScriptedOpenAI(responder()) as llm:
        done = ask(llm, GC_QUESTION, "--box", "bio")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "60.0"
    log = done.stderr
    assert "[3 votes]" in log and "[1 votes]" in log and "dropped: raised" in log  # step 1's vote
    second = [r for r in llm.requests if "Observation: 60.0" in str(r.get("messages") or r.get("prompt"))]
    assert second, "the winner's output never reached the model"


def test_no_box_is_refused_with_a_clear_error():
    with ScriptedOpenAI(responder()) as llm:
        done = ask(llm, PUZZLE, "--no-box")
    assert done.returncode == 2
    assert "--actions code runs code against the box tools" in done.stderr


def test_eval_game24_traces_each_candidate_its_output_and_the_vote(tmp_path):
    """`mcp-box eval --actions code --samples 5`: three puzzles, solved by code, votes in the traces."""

    turn = itertools.count()

    def respond(request: dict[str, Any]) -> str:
        """The five candidates of a request, in turn (the server asks once per choice, in order)."""
        text = request.get("prompt") or " ".join(str(m.get("content")) for m in request.get("messages", []))
        puzzle = text.split("Task: ", 1)[1].split("numbers ", 1)[1].split(" and", 1)[0]
        solve = f"math.solve_24(numbers=[{', '.join(puzzle.split())}])"
        choices = [
            f"Thought: solve.\nCode:\n```py\nfinal_answer({solve}['expression'])\n```",
            f"Thought: solve.\nCode:\n```py\nr = {solve}\nfinal_answer(r['expression'])\n```",
            "Thought: guess.\nCode:\n```py\nfinal_answer('1 + 2')\n```",
            "24",
            "Thought: oops.\nCode:\n```py\nfinal_answer(undefined_name)\n```",
        ]
        return choices[next(turn) % 5]

    traces = tmp_path / "traces"
    with ScriptedOpenAI(respond) as llm:
        command = [sys.executable, "-m", "mcp_box_server", "eval", "game24", "--rows", "900:903"]
        command += [
            "--model",
            "scripted",
            "--base-url",
            llm.base_url,
            "--box",
            "math",
            "--traces",
            str(traces),
        ]
        command += ["--actions", "code", "--samples", "5", "-j", "1"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (traces / "box.jsonl").read_text().splitlines()]
    assert [record["correct"] for record in records] == [True, True, True]
    for record in records:
        (step,) = record["steps"][:-1] if record["steps"][-1]["type"] == "final" else record["steps"]
        fates = [(c["votes"], c["dropped"]) for c in step["candidates"]]
        assert fates[:3] == [(2, None), (2, None), (1, None)]
        assert fates[3][1] == "no code block" and fates[4][1].startswith("raised: program error: NameError")
        assert "solve_24" in step["candidates"][0]["summary"]  # the candidate's code and its outcome
        assert "->" in step["candidates"][0]["summary"]
