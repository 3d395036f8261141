"""Write the box: manifest, tool modules, examples, demos, README, report; verified, then swapped in.

The box is assembled in a hidden staging folder beside `--out`, nested one level
deeper (`.NAME.distill-XXXX/NAME/`) so that a server watching the parent never
sees a half-written box, then loaded and checked against its own examples in a
sandboxed pool, then renamed into place in one step.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mcp_box_server.box import MANIFEST, exposed_name, mismatch, read_manifest
from mcp_box_server.box.demos import DEMOS, Demo, DemoCall
from mcp_box_server.box.examples import EXAMPLES
from mcp_box_server.distill.cards import card
from mcp_box_server.distill.names import rename_source
from mcp_box_server.distill.records import Outcome, Rejection, Tool
from mcp_box_server.distill.report import Provenance, render
from mcp_box_server.distill.tasks import Task
from mcp_box_server.distill.teacher import TeacherStats
from mcp_box_server.distill.validate import Limits, normalise
from mcp_box_server.runtime import BoxPool, BoxRuntimeError

REPORT = "distill_report.md"


class EmitError(Exception):
    """The output path cannot take the box (exists and was not made by distill)."""


def check_out(out: Path, force: bool) -> None:
    """Fail before any teacher call when `out` holds something distill must not replace."""
    if out.exists() and not force and not (out / REPORT).is_file():
        raise EmitError(f"{out} exists and is not a distilled box; pass --force to replace it")


def unique_names(tools: list[Tool]) -> list[Tool]:
    """Rename clashing functions `f`, `f_2`, ...: every tool needs its own exposed name."""
    used: set[str] = set()
    for tool in tools:
        name, k = tool.function, 2
        while name in used:
            name, k = f"{tool.function}_{k}", k + 1
        if name != tool.function:
            tool.source = rename_source(tool.source, tool.function, name)
            tool.calls = {t: type(c)(name, c.arguments) for t, c in tool.calls.items()}
            tool.function = name
        used.add(name)
    return tools


def examples(outcome: Outcome, tasks: list[Task]) -> list[dict[str, Any]]:
    """One case per solved task (repeats once); `expect` is the task's answer when it matches exactly."""
    by_id = {t.id: t for t in tasks}
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for tool in outcome.tools:
        for task_id, call in tool.calls.items():
            got = tool.results[task_id]
            answer = by_id[task_id].answer
            expect = answer if mismatch(answer, got) is None else got
            case = {"tool": tool.function, "arguments": call.arguments, "expect": expect}
            key = json.dumps(case, sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                cases.append(case)
    return cases


def demos(name: str, outcome: Outcome, tasks: list[Task]) -> list[Demo]:
    """One worked example per solved task, in task order: the question, the kept tool's call
    with the result it returned in validation, and the task's answer (the teacher's trajectory
    as a small model can be shown it with `--shots`)."""
    solved = {task_id: tool for tool in outcome.tools for task_id in tool.calls}
    made = []
    for task in tasks:
        tool = solved.get(task.id)
        if tool is None:
            continue
        call = DemoCall(
            exposed_name(name, tool.function), tool.calls[task.id].arguments, tool.results[task.id]
        )
        made.append(Demo(task.question, str(task.answer), (call,), name))
    return made


def manifest(name: str, description: str, limits: Limits, provenance: Provenance) -> str:
    lines = [
        f"name = {_toml(name)}",
        'version = "0.1.0"',
        f"description = {_toml(description)}",
        'trust = "sandboxed"',
        f"timeout = {limits.timeout:g}",
        f"memory_mb = {limits.memory_mb}",
        "workers = 2",
        f"allow_imports = [{', '.join(_toml(m) for m in limits.allow_imports)}]",
        "",
        "[provenance]",
    ]
    lines += [f"{key} = {_toml(value)}" for key, value in provenance.as_dict().items()]
    return "\n".join(lines) + "\n"


def readme(name: str, description: str, outcome: Outcome, provenance: Provenance) -> str:
    lines = [
        f"# {name}",
        "",
        description,
        "",
        f"Distilled by `mcp-box distill` from `{provenance.tasks_file}` with the teacher "
        f"`{provenance.teacher}` on {provenance.date}. Every tool reproduced the answers of the "
        f"tasks in `{EXAMPLES}` in a sandboxed worker; the box runs sandboxed "
        f"(see `{REPORT}` for how it was made).",
        "",
        "## Tools",
        "",
        "One line per tool: the name clients see, the signature, what it does and what each parameter means.",
        "",
    ]
    lines += [f"- {card(exposed_name(name, t.function), t.source, t.function)}" for t in outcome.tools]
    return "\n".join(lines) + "\n"


async def emit(
    out: Path,
    name: str,
    description: str,
    outcome: Outcome,
    tasks: list[Task],
    limits: Limits,
    provenance: Provenance,
    stats: TeacherStats,
) -> Path:
    """Stage, verify, and move the box to `out`; tools failing verification are dropped.

    With no tool left there is no box: the report goes to `NAME.distill_report.md`
    beside `out` instead, and that path is returned.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.distill-", dir=out.parent))
    try:
        box_dir = staging / out.name
        outcome.tools = unique_names(outcome.tools)
        for _ in range(2):  # the second pass only runs after dropping tools
            if not outcome.tools:
                return _report_only(out, name, outcome, tasks, provenance, stats)
            _write(box_dir, name, description, outcome, tasks, limits, provenance, stats)
            failed = await verify(box_dir)
            if not failed:
                break
            for function, reason in failed.items():
                outcome.rejections.append(Rejection("verify", f"tool {function}", 0, reason, function))
            outcome.tools = [t for t in outcome.tools if t.function not in failed]
        else:
            raise EmitError(f"the assembled box failed its own examples twice: {failed}")
        if not out.exists():
            os.rename(box_dir, out)
        elif not _exchange(box_dir, out):  # no atomic swap here: a brief gap between two renames
            os.rename(out, staging / ".previous")
            os.rename(box_dir, out)
        return out
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _report_only(
    out: Path, name: str, outcome: Outcome, tasks: list[Task], provenance: Provenance, stats: TeacherStats
) -> Path:
    outcome.solved_by, outcome.counts.final_tools = {}, 0
    path = out.parent / f"{out.name}.{REPORT}"
    path.write_text(render(name, outcome, tasks, provenance, stats), encoding="utf-8")
    return path


def _write(
    box_dir: Path,
    name: str,
    description: str,
    outcome: Outcome,
    tasks: list[Task],
    limits: Limits,
    provenance: Provenance,
    stats: TeacherStats,
) -> None:
    shutil.rmtree(box_dir, ignore_errors=True)
    (box_dir / "tools").mkdir(parents=True)
    outcome.solved_by = {task_id: t.function for t in outcome.tools for task_id in t.calls}
    outcome.counts.final_tools = len(outcome.tools)
    for tool in outcome.tools:
        (box_dir / "tools" / f"{tool.function}.py").write_text(tool.source, encoding="utf-8")
    cases = examples(outcome, tasks)
    (box_dir / EXAMPLES).write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    (box_dir / DEMOS).write_text(
        "".join(d.to_json() + "\n" for d in demos(name, outcome, tasks)), encoding="utf-8"
    )
    (box_dir / "README.md").write_text(readme(name, description, outcome, provenance), encoding="utf-8")
    (box_dir / REPORT).write_text(render(name, outcome, tasks, provenance, stats), encoding="utf-8")
    (box_dir / MANIFEST).write_text(manifest(name, description, limits, provenance), encoding="utf-8")


async def verify(box_dir: Path) -> dict[str, str]:
    """Load the assembled box as the server would and run its examples: function -> why it failed."""
    pool = BoxPool(read_manifest(box_dir))
    failed: dict[str, str] = {}
    try:
        await pool.start()
        for failure in pool.failures:
            failed[Path(failure.file).stem] = normalise(f"does not load in the box: {failure.message}")
        for case in (json.loads(line) for line in (box_dir / EXAMPLES).read_text().splitlines()):
            if case["tool"] in failed:
                continue
            try:
                got = await pool.call(case["tool"], case["arguments"])
            except BoxRuntimeError as exc:
                failed[case["tool"]] = normalise(f"{type(exc).__name__}: {exc}")
                continue
            problem = mismatch(case["expect"], got)
            if problem:
                failed[case["tool"]] = f"its example fails in the box: {problem}"
    finally:
        await pool.close()
    return failed


def _exchange(new: Path, old: Path) -> bool:
    """Swap two directories in one step (Linux `renameat2(RENAME_EXCHANGE)`); False if unsupported.

    A server watching the parent then sees the box change in place, never vanish.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(old), rename_exchange) == 0


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)
