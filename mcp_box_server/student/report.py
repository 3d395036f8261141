"""Human output of an eval: the rich progress bar (stderr) and the summary table (stdout)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mcp_box_server.student.evaluation import ArmSummary

ROWS: tuple[tuple[str, str, str], ...] = (
    # (label, ArmSummary attribute, format)
    ("tasks", "tasks", "{:d}"),
    ("correct", "correct", "{:d}"),
    ("accuracy", "accuracy", "{:.1%}"),
    ("steps / task", "steps", "{:.2f}"),
    ("tool calls / task", "tool_calls", "{:.2f}"),
    ("tool errors / task", "tool_errors", "{:.2f}"),
    ("model tokens / task", "tokens", "{:,.0f}"),
    ("probe tokens / task (harness)", "probe_tokens", "{:,.0f}"),
    ("model latency / task (s)", "model_latency_s", "{:.2f}"),
    ("task wall time (s)", "task_wall_s", "{:.2f}"),
    ("arm wall time (s)", "wall_s", "{:.1f}"),
    ("model errors", "model_errors", "{:d}"),
    ("ended: answered", "answered", "{:d}"),
    ("ended: stuck (repeated call)", "stuck", "{:d}"),
    ("ended: step limit", "step_limit", "{:d}"),
    ("ended: cut off (length)", "length", "{:d}"),
)


def summary_table(title: str, summaries: Sequence[ArmSummary]) -> Table:
    """Metrics as rows, arms side by side as columns (plus the difference for two arms)."""
    table = Table(title=title)
    table.add_column("metric")
    for summary in summaries:
        table.add_column(summary.arm, justify="right")
    compare = len(summaries) == 2
    if compare:
        table.add_column("difference", justify="right")
    for label, attribute, fmt in ROWS:
        values = [getattr(s, attribute) for s in summaries]
        cells = [fmt.format(v) for v in values]
        if compare:
            delta = values[0] - values[1]
            cells.append(("+" if delta > 0 else "") + fmt.format(delta) if attribute != "tasks" else "")
        table.add_row(label, *cells)
    return table


def make_progress(console: Console) -> Progress:
    """A progress bar for eval arms, drawn on `console` (stderr in the CLI)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("acc {task.fields[accuracy]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class ArmProgress:
    """Advances one progress-bar line per arm and shows the running accuracy."""

    def __init__(self, progress: Progress, arm: str, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task(escape(arm), total=total, accuracy="-")  # "[no-box]" is no markup
        self.done = 0
        self.correct = 0

    def __call__(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.correct += bool(record["correct"])
        self.progress.update(self.task, advance=1, accuracy=f"{self.correct / self.done:.1%}")
