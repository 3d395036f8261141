"""Validate a candidate tool: static gate, then real calls in a sandboxed worker.

Each candidate gets its own throwaway box (`trust = "sandboxed"`, a small memory
cap, a short timeout, one worker) run through the same `BoxPool` the server
uses, so a tool that passes here behaves the same once served. Reasons are
normalised (temp paths reduced to file names) because they go back into
teacher prompts, and the reply cache needs prompts that repeat exactly.

Where sandboxed workers cannot run (no Seatbelt or Landlock, Windows), nothing can
be validated: entering a `Validator` checks that first and raises
`ValidationUnavailable`, which says so plainly, before any teacher is asked.
"""

from __future__ import annotations

import ast
import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_box_server.box import exposed_name, read_manifest
from mcp_box_server.distill.extract import Call
from mcp_box_server.distill.gate import DEFAULT_ALLOW_IMPORTS, check_source, public_functions
from mcp_box_server.distill.tasks import Task, score
from mcp_box_server.runtime import BoxPool, BoxRuntimeError, ToolFailed, platform
from mcp_box_server.runtime.process import Zygote

CANDIDATE_BOX = "candidate"
MAX_TOOL_NAME = 64  # box.spec.TOOL_NAME: what OpenAI and Anthropic accept as a function name
_TEMP_PATH = re.compile(re.escape(tempfile.gettempdir()) + r"/[^\s'\"]*")
_CANNOT = "distill cannot validate candidate tools on this machine: they run in sandboxed workers, and"
_PROBE = '''
def probe() -> str:
    """Answer, to show a sandboxed worker runs here."""
    return "ok"
'''


class ValidationUnavailable(RuntimeError):
    """Sandboxed workers do not run here, so no candidate can be validated (and none is tried)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What a candidate may use; `allow_imports` is also what the emitted box declares."""

    timeout: float = 10.0
    memory_mb: int = 512
    allow_imports: tuple[str, ...] = DEFAULT_ALLOW_IMPORTS


@dataclass(slots=True)
class Verdict:
    """The outcome of validating one module against one or more tasks."""

    function: str | None
    stage: str = "ok"  # "gate" | "load" | "call" | "answer" | "ok"
    reasons: dict[str, str] = field(default_factory=dict)  # task id (or "*") -> why it failed
    results: dict[str, Any] = field(default_factory=dict)  # task id -> result, for passing tasks
    checked: int = 0  # tasks run

    @property
    def ok(self) -> bool:
        return not self.reasons

    def reason(self, limit: int = 5) -> str:
        """The reasons as one text, at most `limit` tasks of them (prompts stay bounded)."""
        if list(self.reasons) == ["*"]:
            return self.reasons["*"]
        shown = list(self.reasons.items())[:limit]
        lines = [f"task {task}: {_clip(why)}" for task, why in shown]
        if len(self.reasons) > limit:
            lines.append(f"... and {len(self.reasons) - limit} more failing task(s) of {self.checked}")
        return "\n".join(lines)


def _module_failure(stage: str, reason: str, function: str | None = None) -> Verdict:
    return Verdict(function, stage, {"*": reason})


class Validator:
    """Runs candidates, at most `jobs` workers at a time, under one scratch directory.

    Every candidate box is a fresh `BoxPool`, but all of them fork their workers
    from one shared zygote (the runtime's preloaded parent process), so a
    candidate costs a fork rather than a Python start and a pydantic import.
    Use as an async context manager, or call `close()`, to stop that zygote.

    Candidates are loaded under `box`, the name the emitted box will have, so a
    function name too long once prefixed (`<box>_<function>`) fails here, where
    the teacher can still shorten it, not at emit.
    """

    def __init__(self, limits: Limits, scratch: Path, jobs: int = 2, box: str = CANDIDATE_BOX) -> None:
        self.limits = limits
        self.scratch = scratch
        self.box = box
        self._jobs = asyncio.Semaphore(jobs)
        self._count = 0
        self._zygote: Zygote | None = None

    async def __aenter__(self) -> Validator:
        await self.check()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        zygote, self._zygote = self._zygote, None
        if zygote is not None:
            await zygote.close()

    async def check(self) -> None:
        """Raise `ValidationUnavailable` where a sandboxed worker cannot load a box here."""
        if refusal := platform.current().SERVE_REFUSAL:
            raise ValidationUnavailable(f"{_CANNOT} {refusal}")
        box_dir = self.scratch / "sandbox-check"
        (box_dir / "tools").mkdir(parents=True, exist_ok=True)
        (box_dir / "tools" / "probe.py").write_text(_PROBE, encoding="utf-8")
        (box_dir / "box.toml").write_text(self._manifest("sandbox-check"), encoding="utf-8")
        pool = BoxPool(read_manifest(box_dir), zygote=self._zygote)
        self._zygote = pool.zygote
        try:
            await pool.start()
            if not pool.specs:
                why = "; ".join(normalise(failure.message) for failure in pool.failures)
                raise ValidationUnavailable(f"{_CANNOT} none starts here: {why}")
        finally:
            await pool.close(keep_zygote=True)
            await asyncio.to_thread(shutil.rmtree, box_dir, True)

    def _manifest(self, name: str) -> str:
        """A candidate box's box.toml: sandboxed, one worker, the candidate's limits."""
        return (
            f'name = "{name}"\ntrust = "sandboxed"\nworkers = 1\n'
            f"timeout = {self.limits.timeout}\nmemory_mb = {self.limits.memory_mb}\n"
        )

    async def validate(self, source: str, checks: list[tuple[Task, Call]]) -> Verdict:
        """Gate `source`, load it, run each call and score it against its task."""
        problems = check_source(source, self.limits.allow_imports)
        if problems:
            return _module_failure("gate", "static check failed:\n" + "\n".join(f"- {p}" for p in problems))
        function = public_functions(ast.parse(source))[0].name
        exposed = exposed_name(self.box, function)
        if len(exposed) > MAX_TOOL_NAME:
            longest = MAX_TOOL_NAME - len(exposed) + len(function)
            return _module_failure(
                "gate",
                f"the tool would be served as '{exposed}' ({len(exposed)} characters, the limit is "
                f"{MAX_TOOL_NAME}): name the function in at most {longest} characters",
                function,
            )
        wrong = sorted({call.function for _, call in checks} - {function})
        if wrong:
            return _module_failure(
                "call", f"the call names {', '.join(wrong)} but the module defines '{function}'", function
            )
        async with self._jobs:
            return await self._run(source, function, checks)

    async def _run(self, source: str, function: str, checks: list[tuple[Task, Call]]) -> Verdict:
        self._count += 1
        box_dir = self.scratch / f"candidate-{self._count}"
        (box_dir / "tools").mkdir(parents=True)
        (box_dir / "tools" / f"{function}.py").write_text(source, encoding="utf-8")
        (box_dir / "box.toml").write_text(self._manifest(self.box), encoding="utf-8")
        pool = BoxPool(read_manifest(box_dir), zygote=self._zygote)
        self._zygote = pool.zygote
        try:
            await pool.start()
            if pool.failures or not any(s.function == function for s in pool.specs):
                why = "; ".join(_load_failure(f.file, f.line, f.message) for f in pool.failures)
                why = why or f"function '{function}' did not load as a tool"
                return _module_failure("load", why, function)
            verdict = Verdict(function, checked=len(checks))
            for task, call in checks:
                try:
                    got = await pool.call(function, call.arguments)
                except BoxRuntimeError as exc:
                    verdict.stage = "call"
                    verdict.reasons[task.id] = _call_failure(exc)
                    continue
                problem = score(task, got)
                if problem:
                    verdict.stage = "answer" if verdict.stage == "ok" else verdict.stage
                    verdict.reasons[task.id] = problem
                else:
                    verdict.results[task.id] = got
            return verdict
        finally:
            await pool.close(keep_zygote=True)
            if pool.zygote is not self._zygote:  # it died and the pool started another
                stale, self._zygote = self._zygote, pool.zygote
                if stale is not None:
                    await stale.close()
            await asyncio.to_thread(shutil.rmtree, box_dir, True)


def _clip(text: str, limit: int = 1500) -> str:
    """A long traceback keeps its head and its last lines (where the error is)."""
    return text if len(text) <= limit else f"{text[: limit // 3]}\n...\n{text[-2 * limit // 3 :]}"


def normalise(text: str) -> str:
    """Temp paths become their file names: the same failure reads the same on every run."""
    return _TEMP_PATH.sub(lambda m: Path(m.group(0)).name, text).strip()


def _load_failure(file: str, line: int | None, message: str) -> str:
    where = Path(file).name + (f" line {line}" if line else "")
    return normalise(f"{where}: {message}")


def _call_failure(exc: BoxRuntimeError) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ToolFailed) and exc.traceback:
        text += "\n" + exc.traceback.rstrip()
    return normalise(text)
