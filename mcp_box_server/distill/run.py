"""`distill()`: one call from a task file to an emitted box."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mcp_box_server.box.manifest import BOX_NAME
from mcp_box_server.distill.emit import REPORT, EmitError, check_out, emit
from mcp_box_server.distill.pipeline import Pipeline, Settings
from mcp_box_server.distill.progress import Stages
from mcp_box_server.distill.records import Outcome
from mcp_box_server.distill.report import Provenance
from mcp_box_server.distill.tasks import file_sha256, read_tasks
from mcp_box_server.distill.teacher import (
    ReplyCache,
    Teacher,
    TeacherOptions,
    TeacherStats,
    TeacherUnusable,
)
from mcp_box_server.distill.validate import Limits, Validator
from mcp_box_server.llm import ChatClient, ModelError


class TeacherAbort(ModelError):
    """The teacher could not be used at all, before any report: the cause, and what the run kept."""


@dataclass(frozen=True, slots=True)
class Distilled:
    """The emitted box (or, when no tool survived, the report written beside `--out`)."""

    box: Path
    outcome: Outcome
    stats: TeacherStats
    dry_run: bool = False

    @property
    def emitted(self) -> bool:
        return not self.dry_run and self.outcome.counts.final_tools > 0

    @property
    def report(self) -> Path:
        """`distill_report.md`: inside the box, or the file written in its place."""
        return self.box / REPORT if self.emitted else self.box


async def distill(
    tasks_file: Path,
    out: Path,
    model: ChatClient,
    *,
    name: str | None = None,
    description: str | None = None,
    settings: Settings | None = None,
    limits: Limits | None = None,
    cache_dir: Path | None = None,
    jobs: int = 2,
    teacher_options: TeacherOptions | None = None,
    force: bool = False,
    dry_run: bool = False,
    stages: Stages | None = None,
) -> Distilled:
    """Generate, validate, abstract, cluster, consolidate and emit a box at `out`.

    Raises `TaskFileError` for a bad task file, `EmitError` when `out` cannot be
    replaced or the name is invalid, and `TeacherAbort` when the teacher cannot be used at
    all (unreachable, unknown model, bad key, a request it rejects, a web page for a reply;
    its message says what was kept: no box and no report, maybe replies in the cache);
    a request that merely fails (busy, empty, cut off) is a failed attempt of its task,
    unless the first `teacher_options.stop_after` requests sent all fail: the run then
    stops early with a report (`outcome.stopped` says why) and no box.

    `dry_run` sends nothing and writes nothing: cached replies are replayed (and
    validated) as far as they go, and `stats` says how many requests were answered
    from the cache (`cached`) and how many would be sent next (`to_send`).
    """
    settings = settings or Settings()
    limits = limits or Limits()
    name = name or out.name
    if not BOX_NAME.fullmatch(name):
        raise EmitError(f"box name {name!r} must match {BOX_NAME.pattern}; pass --name")
    check_out(out, force)
    tasks = read_tasks(tasks_file)
    cache = ReplyCache(cache_dir) if cache_dir else None
    options = teacher_options or TeacherOptions(concurrency=max(jobs, 2) * 2)
    stages = stages or Stages()
    teacher = Teacher(model, cache, options, offline=dry_run, tell=stages.note)
    scratch = Path(tempfile.mkdtemp(prefix="mcp-box-distill-"))
    try:
        with stages:
            async with Validator(limits, scratch, jobs, name) as validator:
                pipeline = Pipeline(teacher, validator, settings, stages)
                try:
                    outcome = await pipeline.run(tasks)
                except TeacherUnusable as exc:  # no box; the report says what happened so far
                    outcome = pipeline.outcome
                    outcome.stopped, outcome.tools = str(exc), []
                except ModelError as exc:
                    raise TeacherAbort(f"{exc}; {_kept(cache, out)}") from exc
                tasks = list(pipeline.tasks.values())  # with the helpers' examples
            if dry_run:
                return Distilled(out, outcome, teacher.stats, dry_run=True)
            provenance = Provenance(
                teacher=teacher.label,
                date=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
                tasks_file=tasks_file.name,
                tasks_sha256=file_sha256(tasks_file),
                repairs=settings.repairs,
                first_thought=settings.first_thought,
            )
            with stages.stage("emit", 1) as advance:
                description = description or f"Tools distilled from {tasks_file.name} by {teacher.label}."
                box = await emit(out, name, description, outcome, tasks, limits, provenance, teacher.stats)
                advance()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Distilled(box, outcome, teacher.stats)


def _kept(cache: ReplyCache | None, out: Path) -> str:
    """What a run stopped before any report leaves behind, in words."""
    if cache is None or not cache.written:
        return "stopped before any report: nothing was written"
    replies = f"{cache.written} teacher {'replies' if cache.written > 1 else 'reply'}"
    return (
        f"stopped before any report: no box or report at {out}; kept: {replies} in the cache "
        f"{cache.root} (a re-run sends only the rest)"
    )
