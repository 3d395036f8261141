"""Latency of the bio box's tools: through a BoxPool worker vs the same function in-process.

Run: `.venv/bin/python bench/boxes_bio.py [--calls N] [--no-readme]`.

Each tool is called N times with one realistic input (sizes in the table), one call at a
time, first through a real worker (`BoxPool.call`: argument validation, JSON framing over
the pipe, the call, the reply) and then directly in this process. Both sides get a few
warm-up calls first. The ratio of medians shows what process isolation costs per call.
Results go to bench/README.md under "## Boxes: bio tool latency", other sections untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readme_section import README, replace_section

from mcp_box_server.box import read_manifest
from mcp_box_server.box.loader import import_tool_module
from mcp_box_server.runtime import BoxPool

ROOT = Path(__file__).resolve().parents[1]
BOX = ROOT / "boxes" / "bio"
HEADING = "## Boxes: bio tool latency"
WARMUP = 3


@dataclass(frozen=True, slots=True)
class Case:
    module: str
    function: str
    arguments: dict[str, Any]
    size: str


@dataclass(frozen=True, slots=True)
class Row:
    case: Case
    pool_ms: list[float]
    local_ms: list[float]


def cases(seed: int = 7) -> list[Case]:
    """One representative input per tool, built from a fixed random seed."""
    rng = random.Random(seed)

    def dna(n: int) -> str:
        return "".join(rng.choice("ACGT") for _ in range(n))

    gene, plasmid, template = dna(1_000), dna(5_000), dna(3_000)
    protein = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(300))
    fasta = "".join(f">r{i} sample\n{dna(500)}\n" for i in range(10))
    near = "".join(c if rng.random() > 0.1 else rng.choice("ACGT") for c in gene[:300])
    rc = template[::-1].translate(str.maketrans("ACGT", "TGCA"))
    return [
        Case("sequence", "reverse_complement", {"sequence": gene}, "1 kb"),
        Case("sequence", "complement", {"sequence": gene}, "1 kb"),
        Case("sequence", "transcribe", {"sequence": gene}, "1 kb"),
        Case("sequence", "back_transcribe", {"sequence": gene.replace("T", "U")}, "1 kb"),
        Case("sequence", "translate", {"sequence": gene, "frame": -2}, "1 kb"),
        Case("sequence", "gc_content", {"sequence": plasmid, "window": 100}, "5 kb, 100-nt windows"),
        Case("sequence", "gc_skew", {"sequence": plasmid, "window": 100}, "5 kb, 100-nt windows"),
        Case("sequence", "codon_usage", {"sequence": gene[:999]}, "333 codons"),
        Case("search", "find_orfs", {"sequence": plasmid, "min_length": 30}, "5 kb, 6 frames"),
        Case("search", "find_motif", {"sequence": plasmid, "motif": "GANTC"}, "5 kb, both strands"),
        Case(
            "cloning",
            "restriction_digest",
            {"sequence": plasmid, "enzymes": ["EcoRI", "BamHI", "HindIII"], "circular": True},
            "5 kb circular, 3 enzymes",
        ),
        Case(
            "cloning",
            "pcr_product",
            {"template": template, "forward_primer": template[200:222], "reverse_primer": rc[300:322]},
            "3 kb template",
        ),
        Case("properties", "melting_temp", {"sequence": gene[:24]}, "24-nt primer, NN"),
        Case("properties", "molecular_weight", {"sequence": gene, "double_stranded": True}, "1 kb dsDNA"),
        Case("properties", "protein_params", {"sequence": protein}, "300 aa"),
        Case("align", "align", {"seq_a": gene[:300], "seq_b": near}, "300 x 300 nt, global"),
        Case("records", "read_records", {"text": fasta}, "10 FASTA records"),
    ]


def load(module: str) -> Any:
    """Import a tool module by path, as the worker does."""
    return import_tool_module(BOX, module)


def time_local(fn: Callable[..., Any], arguments: dict[str, Any], calls: int) -> list[float]:
    for _ in range(WARMUP):
        fn(**arguments)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(**arguments)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def time_pool(pool: BoxPool, case: Case, calls: int) -> list[float]:
    for _ in range(WARMUP):
        await pool.call(case.function, case.arguments)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        await pool.call(case.function, case.arguments)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def run(calls: int) -> tuple[list[Row], float]:
    started = time.perf_counter()
    pool = BoxPool(read_manifest(BOX))
    try:
        await pool.start()
        startup = time.perf_counter() - started
        if pool.failures:
            raise RuntimeError(f"bio box failed to load: {pool.failures}")
        modules = {name: load(name) for name in {c.module for c in cases()}}
        rows = []
        for case in cases():
            pool_ms = await time_pool(pool, case, calls)
            local_ms = time_local(getattr(modules[case.module], case.function), case.arguments, calls)
            rows.append(Row(case, pool_ms, local_ms))
    finally:
        await pool.close()
    return rows, startup


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(rows: list[Row], startup: float, calls: int) -> str:
    lines = [
        "| tool | input | worker p50 ms | worker p95 ms | in-proc p50 ms | in-proc p95 ms | ratio p50 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        pool50, local50 = statistics.median(row.pool_ms), statistics.median(row.local_ms)
        pool95, local95 = percentile(row.pool_ms, 0.95), percentile(row.local_ms, 0.95)
        lines.append(
            f"| bio_{row.case.function} | {row.case.size} | {pool50:.3f} | {pool95:.3f}"
            f" | {local50:.3f} | {local95:.3f} | {pool50 / local50:.1f}x |"
        )
    overhead = statistics.median(statistics.median(r.pool_ms) - statistics.median(r.local_ms) for r in rows)
    lines += [
        "",
        f"{calls} calls per tool after {WARMUP} warm-up calls, one at a time, one worker. "
        f"Pool start (snapshot, worker start, box import and tool specs): {startup * 1000:.0f} ms. "
        f"Median per-call cost of the worker round trip over in-process: {overhead:.3f} ms.",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end of the run "
        "(a shared machine: p95 figures mostly measure other processes).",
    ]
    return "\n".join(lines)


def write_readme(table: str) -> None:
    """Replace (or add) this section of bench/README.md, leaving other sections alone."""
    section = (
        f"{HEADING}\n\n"
        "`bench/boxes_bio.py`: each bio tool called through a `BoxPool` worker and in-process "
        "with the same arguments.\n\n"
        f"{table}\n"
    )
    replace_section(HEADING, section)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="timed calls per tool and side")
    parser.add_argument("--no-readme", action="store_true", help="print only, leave bench/README.md")
    args = parser.parse_args(argv)
    rows, startup = asyncio.run(run(args.calls))
    table = report(rows, startup, args.calls)
    print(HEADING.removeprefix("## "))
    print(table)
    if not args.no_readme:
        write_readme(table)
        print(f"\nwritten to {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
