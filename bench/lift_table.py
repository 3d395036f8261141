"""Print the markdown rows of the measured-lift table from `mcp-box eval` traces.

    python bench/lift_table.py LABEL=TRACE.jsonl[,TRACE.jsonl...] ...

Each argument is one row: the traces of one arm (several files are one arm run in
parts, e.g. two row ranges on two servers at once; a task in two files counts once).
The figures come from the trace lines themselves, so an arm still running or stopped
early is reported over the tasks it finished, and the row says how many that is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(label: str, paths: list[Path]) -> str:
    records: dict[str, dict] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by an interrupted write
            records.setdefault(record["task_id"], record)
    done = list(records.values())
    if not done:
        return f"| {label} | 0 tasks | | | | | |"
    count = len(done)
    correct = sum(r["correct"] for r in done)
    tokens = sum(r["usage"]["total_tokens"] for r in done) / count
    probes = sum(r.get("probe_usage", {}).get("total_tokens", 0) for r in done) / count
    wall = sum(r["wall_s"] for r in done) / count
    steps = sum(r["n_steps"] for r in done) / count
    ends: dict[str, int] = {}
    for record in done:
        ends[record["end"]] = ends.get(record["end"], 0) + 1
    ended = ", ".join(f"{k} {v}" for k, v in sorted(ends.items()))
    return (
        f"| {label} | {correct}/{count} ({correct / count:.0%}) | {tokens:,.0f} (probes {probes:,.0f}) "
        f"| {steps:.2f} | {wall:.1f} | {ended} |"
    )


def main() -> int:
    print("| arm | correct / tasks done | model tokens / task | steps / task | wall s / task | ended |")
    print("|---|---:|---:|---:|---:|---|")
    for argument in sys.argv[1:]:
        label, _, files = argument.partition("=")
        print(row(label, [Path(p) for p in files.split(",") if Path(p).is_file()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
