"""`distill_report.md`: what each stage kept, and why everything else was rejected."""

from __future__ import annotations

from dataclasses import dataclass

from mcp_box_server.distill.records import STAGES, Outcome
from mcp_box_server.distill.tasks import Task
from mcp_box_server.distill.teacher import TeacherStats

COUNT_LABELS = {
    "tasks": "tasks in the task file",
    "generated": "tasks for which the teacher wrote a tool",
    "valid": "tasks whose tool reproduced the answer in the sandbox",
    "repaired": "of those, fixed after the teacher saw the error",
    "abstracted": "tools rewritten with task constants as parameters",
    "helpers": "helpers kept as sub-step tools, validated on the teacher's examples",
    "clusters": "clusters of tools by function (singletons included)",
    "consolidated": "clusters (or parts of large ones) merged into one tool passing all their tasks",
    "final_tools": "tools in the box",
}


@dataclass(frozen=True, slots=True)
class Provenance:
    teacher: str
    date: str
    tasks_file: str
    tasks_sha256: str
    repairs: int
    first_thought: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "teacher": self.teacher,
            "date": self.date,
            "tasks_file": self.tasks_file,
            "tasks_sha256": self.tasks_sha256,
            "repairs": self.repairs,
            "first_thought": self.first_thought,
            "generator": "mcp-box distill",
        }


def render(
    name: str, outcome: Outcome, tasks: list[Task], provenance: Provenance, stats: TeacherStats
) -> str:
    counts = outcome.counts
    lines = [
        f"# Distillation report: {name}",
        "",
        f"- teacher: `{provenance.teacher}`",
        f"- date: {provenance.date}",
        f"- tasks: `{provenance.tasks_file}` (sha256 `{provenance.tasks_sha256}`)",
        f"- repairs per candidate: {provenance.repairs}; first-thought prefix: "
        f"{'on' if provenance.first_thought else 'off'}",
        f"- teacher requests: {stats.requests} ({stats.cached} from the cache, {stats.failed} without "
        f"a usable reply, {stats.retries} retried, {stats.truncated} cut off at the token limit); "
        f"tokens: {stats.prompt_tokens} prompt, {stats.completion_tokens} completion",
        f"- largest prompt: {stats.largest_prompt} characters; largest reply: {stats.largest_reply}",
        *_failures(outcome, stats),
        "",
        "## Counts",
        "",
        "| stage | count | meaning |",
        "|---|---:|---|",
    ]
    lines += [f"| {key} | {value} | {COUNT_LABELS[key]} |" for key, value in counts.as_rows()]
    lines += ["", "## Tools", "", "| tool | origin | tasks | replaces |", "|---|---|---|---|"]
    for tool in outcome.tools:
        replaces = ", ".join(f"`{m}`" for m in tool.members) or "-"
        lines.append(f"| `{tool.function}` | {tool.origin} | {', '.join(tool.calls)} | {replaces} |")
    lines += ["", "## Clusters", "", f"Grouped by: {outcome.cluster_method or 'tfidf'}.", ""]
    whys = outcome.cluster_why + [""] * (len(outcome.clusters) - len(outcome.cluster_why))
    for number, (members, why) in enumerate(zip(outcome.clusters, whys, strict=True), start=1):
        lines.append(f"{number}. {', '.join(f'`{m}`' for m in members)}" + (f": {why}" if why else ""))
    if outcome.renames:
        lines += ["", "## Names", ""]
        for old, new, how in outcome.renames:
            lines.append(f"- `{old}` -> `{new}`: {how}" if new else f"- `{old}`: {how}")
    unsolved = [t for t in tasks if t.id not in outcome.solved_by]
    lines += ["", "## Tasks without a tool", ""]
    lines += [f"- task {t.id}: {_one_line(t.question)}" for t in unsolved] or ["None."]
    lines += ["", "## Rejected candidates", ""]
    if not outcome.rejections:
        lines.append("None.")
    order = {task.id: n for n, task in enumerate(tasks)}
    rejections = sorted(
        outcome.rejections,
        key=lambda r: (
            STAGES.index(r.stage),
            order.get(r.subject.removeprefix("task "), -1),
            r.subject,
            r.attempt,
        ),
    )
    stage = None
    for rejection in rejections:
        if rejection.stage != stage:
            stage = rejection.stage
            lines += [f"### {stage}", ""]
        function = f" `{rejection.function}`" if rejection.function else ""
        lines.append(f"- {rejection.subject}, attempt {rejection.attempt + 1}{function}:")
        lines += ["", "  ```text", *(f"  {line}" for line in rejection.reason.splitlines()), "  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _failures(outcome: Outcome, stats: TeacherStats) -> list[str]:
    """The run's early stop, and the teacher's failed requests by kind."""
    lines = [f"- **{outcome.stopped}**"] if outcome.stopped else []
    if stats.failures:
        kinds = ", ".join(f"{kind}: {count}" for kind, count in stats.failures.most_common())
        lines.append(f"- failed requests sent to the teacher ({stats.sent} sent), by kind: {kinds}")
    return lines


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
