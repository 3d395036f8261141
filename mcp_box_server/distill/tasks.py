"""Task files and how a tool's result is scored against a task's answer.

A task file is JSONL: `{"id": ..., "question": ..., "answer": ..., "scorer": ...}`
per line, `scorer` optional. Scoring is deliberately small: the point of the
validate stage is a yes/no a re-run reproduces exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_box_server.box import mismatch

SCORERS = ("auto", "exact", "numeric", "text")
NUMERIC_RTOL = 1e-6
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class TaskFileError(ValueError):
    """The task file cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    question: str
    answer: Any
    scorer: str = "auto"


def read_tasks(path: Path) -> list[Task]:
    """Parse a task file; any bad line raises `TaskFileError` naming it (a run needs all of them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{where}: invalid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("question"), str) or "answer" not in data:
            raise TaskFileError(f'{where}: expected {{"id", "question": str, "answer", "scorer"?}}')
        task_id = str(data.get("id", number))
        if task_id in seen:
            raise TaskFileError(f"{where}: duplicate task id {task_id!r}")
        scorer = data.get("scorer", "auto")
        if scorer not in SCORERS:
            raise TaskFileError(f"{where}: scorer must be one of {', '.join(SCORERS)}, got {scorer!r}")
        seen.add(task_id)
        tasks.append(Task(task_id, data["question"], data["answer"], scorer))
    if not tasks:
        raise TaskFileError(f"{path}: no tasks")
    return tasks


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def score(task: Task, got: Any) -> str | None:
    """None when `got` answers `task`, else a sentence the teacher can act on."""
    scorer = task.scorer
    if scorer == "auto":
        scorer = "numeric" if _as_number(task.answer) is not None else "text"
        if not isinstance(task.answer, str | int | float) or isinstance(task.answer, bool):
            scorer = "exact"
    if scorer == "exact":
        problem = mismatch(task.answer, got)
        return f"wrong answer: {problem}" if problem else None
    if scorer == "numeric":
        want, have = _as_number(task.answer), _as_number(got)
        if want is None:
            return f"the task's answer {task.answer!r} is not a number"
        if have is not None and math.isclose(have, want, rel_tol=NUMERIC_RTOL, abs_tol=1e-9):
            return None
        return f"wrong answer: expected {want:g}, got {_show(got)}"
    if _normal(got) == _normal(task.answer):
        return None
    return f"wrong answer: expected {_show(task.answer)}, got {_show(got)}"


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def _normal(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
