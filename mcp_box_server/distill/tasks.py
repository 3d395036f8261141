"""Task files and how a tool's result is scored against a task's answer.

A task file is JSONL: `{"id": ..., "question": ..., "answer": ..., "scorer": ...,
"tolerance": ...}` per line, `scorer` and `tolerance` optional. Scoring is deliberately
small: the point of the validate stage is a yes/no a re-run reproduces exactly.

A numeric answer matches within a relative 1e-6 by default; a task whose answer is
rounded (say to 4 decimals) sets `tolerance`, the absolute difference it accepts (as
`mcp-box eval` task files do), and a mismatch names the tolerance it was held to.
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
NEAR_MISS = 1e-3  # a numeric miss within this relative distance names the tolerance it missed
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


class TaskFileError(ValueError):
    """The task file cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    question: str
    answer: Any
    scorer: str = "auto"
    tolerance: float | None = None  # absolute, for numeric answers; None: relative NUMERIC_RTOL


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
            raise TaskFileError(
                f'{where}: expected {{"id", "question": str, "answer", "scorer"?, "tolerance"?}}'
            )
        task_id = str(data.get("id", number))
        if task_id in seen:
            raise TaskFileError(f"{where}: duplicate task id {task_id!r}")
        scorer = data.get("scorer", "auto")
        if scorer not in SCORERS:
            raise TaskFileError(f"{where}: scorer must be one of {', '.join(SCORERS)}, got {scorer!r}")
        tolerance = _tolerance(data, scorer, where)
        seen.add(task_id)
        tasks.append(Task(task_id, data["question"], data["answer"], scorer, tolerance))
    if not tasks:
        raise TaskFileError(f"{path}: no tasks")
    return tasks


def _tolerance(data: dict[str, Any], scorer: str, where: str) -> float | None:
    """The task's `tolerance`, checked: a finite number >= 0, for a numeric answer only."""
    tolerance = data.get("tolerance")
    if tolerance is None:
        return None
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not math.isfinite(tolerance):
        raise TaskFileError(f"{where}: tolerance must be a number, got {tolerance!r}")
    if tolerance < 0:
        raise TaskFileError(f"{where}: tolerance must be 0 or more, got {tolerance!r}")
    if scorer not in ("auto", "numeric") or _scorer(Task("", "", data["answer"], scorer)) != "numeric":
        raise TaskFileError(f"{where}: tolerance applies to a numeric answer, not {data['answer']!r}")
    return float(tolerance)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def score(task: Task, got: Any) -> str | None:
    """None when `got` answers `task`, else a sentence the teacher can act on."""
    scorer = _scorer(task)
    if scorer == "exact":
        problem = mismatch(task.answer, got)
        return f"wrong answer: {problem}" if problem else None
    if scorer == "numeric":
        want, have = _as_number(task.answer), _as_number(got)
        if want is None:
            return f"the task's answer {task.answer!r} is not a number"
        wrong = f"wrong answer: expected {want:.15g}, got {_show(got)}"
        if have is None:
            return wrong
        off = abs(have - want)
        if task.tolerance is not None:
            return (
                None
                if off <= task.tolerance
                else f"{wrong} ({_off(off)} the task's tolerance {task.tolerance:g})"
            )
        if math.isclose(have, want, rel_tol=NUMERIC_RTOL, abs_tol=1e-9):
            return None
        if off > NEAR_MISS * max(abs(want), 1.0):
            return wrong
        return f'{wrong} ({_off(off)} a relative tolerance of {NUMERIC_RTOL:g}; a task may set "tolerance")'
    if _normal(got) == _normal(task.answer):
        return None
    return f"wrong answer: expected {_show(task.answer)}, got {_show(got)}"


def _off(off: float) -> str:
    return f"off by {off:.3g}, over"


def _scorer(task: Task) -> str:
    """The scorer `auto` stands for: numeric for a number (or numeric text), text, or exact."""
    if task.scorer != "auto":
        return task.scorer
    if not isinstance(task.answer, str | int | float) or isinstance(task.answer, bool):
        return "exact"
    return "numeric" if _as_number(task.answer) is not None else "text"


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
