"""The evaluation runner: tasks × arms (with box, without), traces, resume, summary.

Each arm writes one JSONL trace, one line per finished task, holding the whole
run: every message, tool call, result, token count and latency, the extracted
answer and whether it was right. A line is written (and flushed) as soon as its
task ends, so an interrupted eval loses at most the tasks in flight; resuming
reads the trace, keeps every finished task and runs only the rest. Tasks that
ended on a model error are run again on resume.

Errors that would fail every task (nothing answers at the model's address, the
model does not exist, the key is refused) abort the arm with `EvaluationAborted`
instead of filling the trace with failures; a request past `--model-timeout`
fails its task only.

Token figures are the model's own work: the harness's one-token probes (the check
that tool results reach the prompt) are counted apart (`probe_tokens`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcp_box_server.box.demos import Demo
from mcp_box_server.llm import (
    ChatClient,
    ModelAuthError,
    ModelNotFound,
    ModelSpecError,
    ModelTimeout,
    ModelUnreachable,
)
from mcp_box_server.student.agent import Agent, AgentConfig
from mcp_box_server.student.benchmarks import Benchmark, Task
from mcp_box_server.student.completion_agent import CompletionAgent, CompletionClient
from mcp_box_server.student.connection import ToolBackend
from mcp_box_server.student.errors import StudentError
from mcp_box_server.student.steps import EndReason

FATAL = (ModelUnreachable, ModelNotFound, ModelAuthError, ModelSpecError)
ProgressCallback = Callable[[dict[str, Any]], None]
Api = Literal["chat", "completions"]


class EvaluationAborted(StudentError):
    """An error that no task can get past (the model endpoint is down, unknown or refuses us)."""


@dataclass(slots=True)
class ArmSummary:
    """Aggregates of one arm; means are per task."""

    arm: str
    tasks: int = 0
    correct: int = 0
    steps: float = 0.0
    tool_calls: float = 0.0
    tool_errors: float = 0.0
    tokens: float = 0.0
    probe_tokens: float = 0.0
    model_latency_s: float = 0.0
    task_wall_s: float = 0.0
    wall_s: float = 0.0
    model_errors: int = 0
    ends: dict[str, int] = field(default_factory=dict)

    def ended(self, reason: EndReason) -> int:
        """Tasks that ended this way (answered, stuck, step_limit, length, ...)."""
        return self.ends.get(reason.value, 0)

    @property
    def answered(self) -> int:
        return self.ended(EndReason.ANSWER)

    @property
    def stuck(self) -> int:
        return self.ended(EndReason.STUCK)

    @property
    def step_limit(self) -> int:
        return self.ended(EndReason.STEP_LIMIT)

    @property
    def length(self) -> int:
        return self.ended(EndReason.LENGTH)

    @property
    def errors(self) -> int:
        """Tasks that ended without an answer for a fault: the model failed, or too many invalid calls."""
        return self.ended(EndReason.MODEL_ERROR) + self.ended(EndReason.RETRY_LIMIT)

    @property
    def accuracy(self) -> float:
        return self.correct / self.tasks if self.tasks else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "tasks": self.tasks,
            "correct": self.correct,
            "accuracy": round(self.accuracy, 4),
            "mean_steps": round(self.steps, 3),
            "mean_tool_calls": round(self.tool_calls, 3),
            "mean_tool_errors": round(self.tool_errors, 3),
            "mean_tokens": round(self.tokens, 1),
            "mean_probe_tokens": round(self.probe_tokens, 1),
            "mean_model_latency_s": round(self.model_latency_s, 3),
            "mean_task_wall_s": round(self.task_wall_s, 3),
            "wall_s": round(self.wall_s, 3),
            "model_errors": self.model_errors,
            "errors": self.errors,
            "answered": self.answered,
            "stuck": self.stuck,
            "step_limit": self.step_limit,
            "length": self.length,
            "ends": self.ends,
        }


def summarise(arm: str, records: Sequence[dict[str, Any]], wall_s: float = 0.0) -> ArmSummary:
    """The summary of an arm's trace records."""
    summary = ArmSummary(arm, tasks=len(records), wall_s=wall_s)
    if not records:
        return summary
    count = len(records)
    summary.correct = sum(1 for r in records if r["correct"])
    summary.steps = sum(r["n_steps"] for r in records) / count
    summary.tool_calls = sum(r["tool_calls"] for r in records) / count
    summary.tool_errors = sum(r["tool_errors"] for r in records) / count
    summary.tokens = sum(r["usage"]["total_tokens"] for r in records) / count
    summary.probe_tokens = sum(r.get("probe_usage", {}).get("total_tokens", 0) for r in records) / count
    summary.model_latency_s = sum(r["model_latency_s"] for r in records) / count
    summary.task_wall_s = sum(r["wall_s"] for r in records) / count
    summary.model_errors = sum(1 for r in records if r["end"] == EndReason.MODEL_ERROR.value)
    for record in records:
        summary.ends[record["end"]] = summary.ends.get(record["end"], 0) + 1
    return summary


def read_trace(path: Path) -> list[dict[str, Any]]:
    """Finished task records of a trace; a torn last line (an interrupted write) is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "task_id" in record and "correct" in record:
            records.append(record)
    return records


class TraceWriter:
    """Appends one JSON line per task and flushes it, so a crash loses nothing written."""

    def __init__(self, path: Path, keep: Sequence[dict[str, Any]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Rewrite the kept records: drops torn lines and records that will be rerun.
        with path.open("w", encoding="utf-8") as handle:
            for record in keep:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle = path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@dataclass(slots=True)
class ArmResult:
    arm: str
    records: list[dict[str, Any]]
    summary: ArmSummary
    resumed: int = 0


def make_agent(
    api: Api,
    model: ChatClient | CompletionClient,
    tools: ToolBackend | None,
    config: AgentConfig,
    demos: Sequence[Demo] = (),
    actions: str = "json",
) -> Agent | CompletionAgent:
    """The agent loop for the model's API: chat turns, or the text protocol over completions;
    `actions` "code": code actions through the server's `execute` (the no-box arm keeps its loop)."""
    if actions == "code" and tools is not None:
        from mcp_box_server.student.code_actions import CodeAgent

        return CodeAgent(model, tools, config, api=api)  # type: ignore[return-value]
    if api == "completions":
        return CompletionAgent(model, tools, config, demos)  # type: ignore[arg-type]
    return Agent(model, tools, config, demos)  # type: ignore[arg-type]


async def run_arm(
    benchmark: Benchmark,
    model: ChatClient,
    tools: ToolBackend | None,
    config: AgentConfig,
    trace: Path,
    *,
    arm: str,
    api: Api = "chat",
    demos: Sequence[Demo] = (),
    concurrency: int = 4,
    resume: bool = False,
    on_task: ProgressCallback | None = None,
    actions: str = "json",
) -> ArmResult:
    """Run every task of `benchmark` not already in `trace` (when resuming); write traces.

    `api` picks the loop (chat, or completions for base models); `demos` are the pool
    from which `config.shots` demos are shown per task.

    `on_task` is called with each finished record (and once per resumed record
    at the start), e.g. to advance a progress bar.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    wanted = {task.id for task in benchmark.tasks}
    previous = read_trace(trace) if resume else []
    done = [r for r in previous if r["task_id"] in wanted and r["end"] != EndReason.MODEL_ERROR.value]
    done_ids = {r["task_id"] for r in done}
    pending = [task for task in benchmark.tasks if task.id not in done_ids]
    for record in done:
        if on_task:
            on_task(record)
    agent = make_agent(api, model, tools, config, demos, actions)
    writer = TraceWriter(trace, done)
    records = list(done)
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(task: Task) -> None:
        async with gate:
            record = await run_task(agent, task, arm=arm, model=model.label)
        writer.write(record)
        records.append(record)
        if on_task:
            on_task(record)

    try:
        async with asyncio.TaskGroup() as group:
            for task in pending:
                group.create_task(one(task))
    except* EvaluationAborted as aborted:
        raise aborted.exceptions[0] from None
    finally:
        writer.close()
    order = {task.id: index for index, task in enumerate(benchmark.tasks)}
    records.sort(key=lambda r: order.get(r["task_id"], len(order)))
    return ArmResult(arm, records, summarise(arm, records, time.perf_counter() - started), resumed=len(done))


async def run_task(agent: Agent | CompletionAgent, task: Task, *, arm: str, model: str) -> dict[str, Any]:
    """Solve one task and return its trace record; fatal model errors raise `EvaluationAborted`."""
    run = await agent.solve(task.question)
    failure = run.final.exception
    # A timeout is one slow request (a reply that never ends), not a dead endpoint.
    if isinstance(failure, FATAL) and not isinstance(failure, ModelTimeout):
        raise EvaluationAborted(str(run.final.exception))
    data = run.to_dict()
    tool_errors = sum(1 for step in run.steps for result in step.results if not result.ok)
    return {
        "task_id": task.id,
        "arm": arm,
        "model": model,
        "question": task.question,
        "expected": task.answer,
        "scorer": task.scorer,
        "answer": run.answer,
        "correct": bool(run.answer) and task.score(run.answer),
        "end": data["end"],
        "error": data["error"],
        "n_steps": len(run.steps),
        "tool_calls": run.tool_calls,
        "tool_errors": tool_errors,
        "usage": data["usage"],
        "probe_usage": data["probe_usage"],
        "model_latency_s": data["model_latency_s"],
        "wall_s": data["wall_s"],
        "tool_mode": data["tool_mode"],
        "tool_mode_reason": data["tool_mode_reason"],
        "steps": data["steps"],
        "messages": data["messages"],
    }
