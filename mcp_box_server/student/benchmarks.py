"""Benchmarks as lists of tasks: Game of 24, GSM8K, the bio box's tasks, any JSONL.

- `game24`: rows 900-999 of the Tree-of-Thoughts `game24.csv` by default (the
  paper's split); scored by `scoring.score_game24` against the puzzle numbers.
- `gsm8k`: the GSM8K test set (1,319 problems); the number after `####`, scored
  by numeric match.
- `bio`: `benchmark.jsonl` of the bundled bio box (SeqQA-style questions), each
  row `{id, question, answer, scorer}` with `scorer` one of `exact`, `numeric`
  (optional `tolerance`) or `choice`, as the box's README defines.
- `bio-translate`: 100 short coding sequences to translate into protein (DNA -> protein,
  GeneTuring-style), made by `bench/make_demos.py` (random sequences, seed 24, answers
  by Biopython's `Seq.translate(to_stop=True)`), scored exactly.
- a path to a JSONL file of `{question, answer}` rows (optional `id`, `scorer`,
  `tolerance`), scored with the row's scorer, else the chosen one (`exact`).

`rows=(start, end)` selects rows like a Python slice (0-based, end excluded).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mcp_box_server.student.errors import BenchmarkError
from mcp_box_server.student.scoring import SCORERS, score_numeric

GAME24_ROWS = (900, 1000)
GAME24_PROMPT = (
    "Use the numbers {numbers} and basic arithmetic operations (+ - * /) to obtain 24. "
    "Use each number exactly once; parentheses are allowed. Give the final answer as one "
    "expression, e.g. 'Final answer: (1 + 2 + 3) * 4'."
)
GSM8K_PROMPT = "{question}\nGive the final answer as a number."
BIO_TRANSLATE_PROMPT = (
    "Translate this DNA coding sequence into protein with the standard genetic code. Give the "
    "protein in one-letter code, without the stop: {sequence}"
)
BUILTIN = ("game24", "gsm8k", "bio", "bio-translate")


@dataclass(frozen=True, slots=True)
class Task:
    """One question, its expected answer and the scorer that judges predictions."""

    id: str
    question: str
    answer: str
    scorer: str
    tolerance: float | None = None

    def score(self, prediction: str) -> bool:
        if self.scorer == "numeric" and self.tolerance:
            return score_numeric(prediction, self.answer, self.tolerance)
        return SCORERS[self.scorer](prediction, self.answer)


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str
    tasks: list[Task]


def load_benchmark(
    name: str, rows: tuple[int | None, int | None] | None = None, scorer: str | None = None
) -> Benchmark:
    """A benchmark by name (see `BUILTIN`) or a JSONL path; raises `BenchmarkError`."""
    if scorer is not None and scorer not in SCORERS:
        raise BenchmarkError(f"unknown scorer {scorer!r}; choose from {', '.join(SCORERS)}")
    if name == "game24":
        tasks = _game24(rows or GAME24_ROWS)
    elif name == "gsm8k":
        tasks = _slice(_gsm8k(), rows)
    elif name == "bio":
        tasks = _slice(_jsonl(_bio_tasks(), "bio", scorer or "exact"), rows)
    elif name == "bio-translate":
        tasks = _slice(_jsonl(_data("bio_translate.jsonl"), name, scorer or "exact"), rows)
    else:
        path = Path(name)
        if not path.is_file():
            raise BenchmarkError(f"no benchmark {name!r}: use {', '.join(BUILTIN)} or a JSONL file path")
        tasks = _slice(_jsonl(path, path.stem, scorer or "exact"), rows)
        name = path.stem
    if scorer is not None and name in ("game24", "gsm8k"):
        tasks = [Task(t.id, t.question, t.answer, scorer) for t in tasks]
    if not tasks:
        raise BenchmarkError(f"benchmark {name!r} has no tasks in rows {rows}")
    return Benchmark(name, tasks)


def parse_rows(text: str) -> tuple[int | None, int | None]:
    """`"900:1000"`, `":50"` or `"10:"` into a slice pair.

    A bare number is refused: some read `5` as "the first five", others as "from row 5".
    """
    start, sep, end = text.partition(":")
    if not sep:
        raise BenchmarkError(
            f"rows must look like START:END, e.g. 0:{text} for the first {text}, got {text!r}"
        )
    try:
        first = int(start) if start.strip() else None
        last = int(end) if sep and end.strip() else None
    except ValueError:
        raise BenchmarkError(f"rows must look like START:END, got {text!r}") from None
    return first, last


def _data(name: str) -> Path:
    return Path(str(resources.files("mcp_box_server.student") / "data" / name))


def _slice(tasks: list[Task], rows: tuple[int | None, int | None] | None) -> list[Task]:
    return tasks if rows is None else tasks[rows[0] : rows[1]]


def _game24(rows: tuple[int | None, int | None]) -> list[Task]:
    with _data("game24.csv").open(newline="", encoding="utf-8") as handle:
        puzzles = [row["Puzzles"] for row in csv.DictReader(handle)]
    start = rows[0] if rows[0] is not None else 0
    chosen = puzzles[rows[0] : rows[1]]
    return [
        Task(f"game24-{start + i}", GAME24_PROMPT.format(numbers=p), p, "game24")
        for i, p in enumerate(chosen)
    ]


def _gsm8k() -> list[Task]:
    tasks = []
    with _data("gsm8k_test.jsonl").open(encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            row = json.loads(line)
            answer = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
            tasks.append(
                Task(f"gsm8k-{index}", GSM8K_PROMPT.format(question=row["question"]), answer, "numeric")
            )
    return tasks


def _bio_tasks() -> Path:
    from mcp_box_server.box import bundled_boxes_dir

    path = bundled_boxes_dir() / "bio" / "benchmark.jsonl"
    if not path.is_file():
        raise BenchmarkError(f"the bio box has no task file ({path})")
    return path


def _jsonl(path: Path, prefix: str, default_scorer: str) -> list[Task]:
    tasks = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchmarkError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "question" not in row or "answer" not in row:
            raise BenchmarkError(f"{path}:{number}: each row needs 'question' and 'answer'")
        scorer = row.get("scorer", default_scorer)
        if scorer not in SCORERS:
            raise BenchmarkError(f"{path}:{number}: unknown scorer {scorer!r}")
        task_id = str(row.get("id", f"{prefix}-{len(tasks)}"))
        tolerance = row.get("tolerance")
        if tolerance is not None and not isinstance(tolerance, int | float):
            raise BenchmarkError(f"{path}:{number}: tolerance must be a number")
        tasks.append(Task(task_id, str(row["question"]), str(row["answer"]), scorer, tolerance))
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise BenchmarkError(f"{path}: task ids must be unique")
    return tasks
