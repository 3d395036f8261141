"""What the pipeline produces at each stage, as plain data shared by emit and report."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from mcp_box_server.distill.extract import Call

STAGES = ("generate", "abstract", "cluster", "consolidate", "verify")


@dataclass(slots=True)
class Tool:
    """A validated tool module and, per task it is known to solve, the call and its result."""

    function: str
    source: str
    calls: dict[str, Call]
    results: dict[str, Any]
    origin: str  # "generated" | "repaired" | "abstracted" | "helper" | "consolidated"
    members: tuple[str, ...] = ()  # for a consolidated tool: the functions it replaced


@dataclass(frozen=True, slots=True)
class Rejection:
    """One candidate that did not survive a stage, and why."""

    stage: str
    subject: str  # "task <id>" or "cluster <n> (f, g)"
    attempt: int  # 0 for the first try, then one per repair
    reason: str
    function: str | None = None


@dataclass(slots=True)
class Counts:
    tasks: int = 0
    generated: int = 0  # tasks for which the teacher wrote a tool module at all
    valid: int = 0  # tasks with a tool that reproduced the answer (after repairs)
    repaired: int = 0  # of those, how many needed at least one repair
    abstracted: int = 0  # valid tools rewritten with parameters that still solve their task
    helpers: int = 0  # helpers kept as sub-step tools, validated on the teacher's examples
    clusters: int = 0  # groups found by clustering, singletons included
    consolidated: int = 0  # clusters (or parts) of 2+ tools merged into one tool passing all their tasks
    final_tools: int = 0  # tools in the emitted box

    def as_rows(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


@dataclass(slots=True)
class Outcome:
    """Everything one run produced; `report.render` turns it into `distill_report.md`."""

    counts: Counts = field(default_factory=Counts)
    tools: list[Tool] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    clusters: list[list[str]] = field(default_factory=list)  # function names per cluster
    cluster_why: list[str] = field(default_factory=list)  # per cluster: why its members belong together
    cluster_method: str = ""  # "teacher", "tfidf", or "tfidf (fallback: why)"
    renames: list[tuple[str, str, str]] = field(default_factory=list)  # (old, new, how) for name clashes
    solved_by: dict[str, str] = field(default_factory=dict)  # task id -> final function
    stopped: str = ""  # why the run stopped early (the teacher unusable), if it did
