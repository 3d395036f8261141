"""Scorers and benchmark loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_box_server.student.benchmarks import load_benchmark, parse_rows
from mcp_box_server.student.errors import BenchmarkError
from mcp_box_server.student.scoring import (
    chosen_letter,
    parse_number,
    score_choice,
    score_game24,
    score_numeric,
)


@pytest.mark.parametrize(
    ("prediction", "ok"),
    [
        ("(13 - 9) * (10 - 4)", True),
        ("(13 - 9) × (10 - 4) = 24", True),
        ("Using 4, 9, 10, 13: (10 - 4) x (13 - 9) = 24", True),
        ("[(13 - 9)] * [(10 - 4)]", True),
        ("(4 - 10) * (9 - 13)", True),
        ("(13 - 9) * (10 - 4) + 0", False),  # 0 is not a puzzle number
        ("(13 - 9) * 6", False),  # 10 and 4 not used
        ("13 + 9 + 10 - 4 - 4", False),  # 4 used twice
        ("4 * 9 - 10 - 13", False),  # uses all, equals 13
        ("13 / (10 - 10) + 4 + 9", False),
        ("2 ** 4 + 10 - 13", False),
        ("", False),
        ("no idea", False),
    ],
)
def test_game24(prediction: str, ok: bool) -> None:
    assert score_game24(prediction, "4 9 10 13") is ok


def test_game24_is_exact_arithmetic() -> None:
    # 8 / (3 - 8 / 3) = 24 only in exact arithmetic (floating point gives 23.999...)
    assert score_game24("8 / (3 - 8 / 3)", "3 3 8 8")


@pytest.mark.parametrize(
    ("prediction", "expected", "ok"),
    [
        ("18", "18", True),
        ("She makes $1,234 a day", "1234", True),
        ("The answer is 18.0", "#### 18", True),
        ("3/4", "0.75", True),
        ("17", "18", False),
        ("nothing", "18", False),
        ("-5 degrees", "-5", True),
    ],
)
def test_numeric(prediction: str, expected: str, ok: bool) -> None:
    assert score_numeric(prediction, expected) is ok


def test_numeric_tolerance() -> None:
    assert score_numeric("42.004%", "42.0", 0.01) and not score_numeric("42.02", "42.0", 0.01)
    assert parse_number("no numbers") is None


@pytest.mark.parametrize(
    ("prediction", "letter"),
    [
        ("B", "B"),
        ("(c)", "C"),
        ("B) MKV", "B"),
        ("Answer: D", "D"),
        ("I pick option (A)", "A"),
        ("none", None),
    ],
)
def test_choice(prediction: str, letter: str | None) -> None:
    assert chosen_letter(prediction) == letter
    assert score_choice(prediction, "B") is (letter == "B")


def test_game24_default_split() -> None:
    bench = load_benchmark("game24")
    assert len(bench.tasks) == 100
    assert bench.tasks[0].id == "game24-900" and bench.tasks[-1].id == "game24-999"
    assert bench.tasks[0].answer in bench.tasks[0].question
    assert [t.id for t in load_benchmark("game24", (0, 3)).tasks] == ["game24-0", "game24-1", "game24-2"]


def test_gsm8k_and_bio_load() -> None:
    gsm = load_benchmark("gsm8k", parse_rows(":2"))
    assert [t.answer for t in gsm.tasks] == ["18", "3"] and gsm.tasks[0].scorer == "numeric"
    assert len(load_benchmark("gsm8k").tasks) == 1319
    bio = load_benchmark("bio")
    assert {t.scorer for t in bio.tasks} <= {"exact", "numeric", "choice"}
    numeric = next(t for t in bio.tasks if t.tolerance)
    assert numeric.score(str(float(numeric.answer) + numeric.tolerance / 2))


def test_jsonl_benchmark(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [
        {"question": "Capital of France?", "answer": "Paris"},
        {"question": "2+2?", "answer": 4, "scorer": "numeric"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bench = load_benchmark(str(path), scorer="contains")
    assert bench.name == "mine" and [t.scorer for t in bench.tasks] == ["contains", "numeric"]
    assert bench.tasks[0].score("It is paris.") and bench.tasks[1].score("4")


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "invalid JSON"), ('{"question": "q"}', "needs 'question' and 'answer'")],
)
def test_bad_jsonl(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content + "\n")
    with pytest.raises(BenchmarkError, match=message):
        load_benchmark(str(path))


def test_unknown_benchmark() -> None:
    with pytest.raises(BenchmarkError, match="game24, gsm8k, bio"):
        load_benchmark("nope")
    with pytest.raises(BenchmarkError, match="START:END"):
        parse_rows("a:b")
    with pytest.raises(BenchmarkError, match=r"e\.g\. 0:5 for the first 5"):
        parse_rows("5")  # ambiguous: the first five, or from row five?
    assert parse_rows(":5") == (None, 5) and parse_rows("5:") == (5, None)
