"""Benchmarks of the bundled boxes. Run: `.venv/bin/python bench/boxes.py [--section 24|latency|all]`.

Options: `--sample N`, `--unsolvable N` (Game of 24), `--calls N` (latency), `--no-readme`.

Section "Game of 24 solver": the math box's `solve_24` over all 1,362 puzzles of
../shared/datasets/game24.csv, every answer re-verified independently (sympy's
exact arithmetic), against a plain pick-two brute force over sympy numbers on a
random sample (extrapolated, and said so). Results go to bench/README.md under
"## Boxes: Game of 24 solver".

Section "tool latency through the server": a real `python -m mcp_box_server serve
--no-reload` over stdio (bundled boxes math and bio) and a `fastmcp.Client`; every
tool of both boxes is called with the arguments of its first `expect` case in
`boxes/<box>/examples.jsonl`, N times one at a time after warm-up calls, and the same
function is called as often in this process. Results go to bench/README.md under
"## Boxes: tool latency through the server".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import inspect
import json
import os
import platform
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from types import ModuleType
from typing import Any

import sympy as sp
from readme_section import README, replace_section

from mcp_box_server.box.loader import import_tool_module

ROOT = Path(__file__).resolve().parents[1]
BOXES = ROOT / "boxes"
DATASET = ROOT / ".." / "shared" / "datasets" / "game24.csv"
HEADING = "## Boxes: Game of 24 solver"


def load_tool_module(name: str, box: str = "math") -> ModuleType:
    """Import a box's tool module by path, as the worker does."""
    return import_tool_module(BOXES / box, name)


def read_puzzles(path: Path = DATASET) -> list[list[int]]:
    with path.open(newline="") as handle:
        return [[int(x) for x in row["Puzzles"].split()] for row in csv.DictReader(handle)]


def verify(expression: str, numbers: list[int], target: int = 24) -> bool:
    """Independent check: sympy evaluates the text exactly; the literals are the numbers."""
    literals = [int(x) for x in re.findall(r"\d+", expression)]
    if Counter(literals) != Counter(numbers) or re.search(r"[^\d\s+\-*/()]", expression):
        return False
    return sp.sympify(expression, rational=True) == target


# --- section: the box's solver ---------------------------------------------------------------


@dataclass
class SolverRun:
    puzzles: int
    solved: int
    verified: int
    total_s: float
    per_puzzle_ms: list[float]
    cold_ms: list[float]


def bench_solver(puzzles: list[list[int]]) -> SolverRun:
    game24 = load_tool_module("game24")
    game24.engine.clear_cache()
    times: list[float] = []
    solved = verified = 0
    start = time.perf_counter()
    for numbers in puzzles:
        t0 = time.process_time()
        result = game24.solve_24(numbers=numbers)
        times.append((time.process_time() - t0) * 1000)
        if result["solvable"]:
            solved += 1
            verified += verify(result["expression"], numbers)
    wall = time.perf_counter() - start  # includes the sympy verification
    cold: list[float] = []
    for numbers in puzzles:  # worst case: nothing shared with earlier puzzles
        game24.engine.clear_cache()
        t0 = time.process_time()
        game24.solve_24(numbers=numbers)
        cold.append((time.process_time() - t0) * 1000)
    return SolverRun(len(puzzles), solved, verified, wall, times, cold)


# --- section: baseline, brute force over sympy expressions --------------------------------------


def sympy_brute_force(items: list[tuple[sp.Expr, str]], target: sp.Integer) -> str | None:
    """Pick two, combine with + - * / as sympy numbers, recurse; first expression found."""
    if len(items) == 1:
        return items[0][1] if items[0][0] == target else None
    for i, j in combinations(range(len(items)), 2):
        (a, ta), (b, tb) = items[i], items[j]
        rest = [items[k] for k in range(len(items)) if k not in (i, j)]
        options = [
            (a + b, f"({ta}+{tb})"),
            (a - b, f"({ta}-{tb})"),
            (b - a, f"({tb}-{ta})"),
            (a * b, f"({ta}*{tb})"),
        ]
        if b != 0:
            options.append((a / b, f"({ta}/{tb})"))
        if a != 0:
            options.append((b / a, f"({tb}/{ta})"))
        for value, text in options:
            found = sympy_brute_force([*rest, (value, text)], target)
            if found:
                return found
    return None


@dataclass
class BaselineRun:
    sample: int
    solved: int
    verified: int
    total_s: float


def bench_sympy_baseline(puzzles: list[list[int]], sample: int, seed: int = 24) -> BaselineRun:
    chosen = random.Random(seed).sample(puzzles, min(sample, len(puzzles)))
    solved = verified = 0
    cpu = 0.0
    for numbers in chosen:
        t0 = time.process_time()
        found = sympy_brute_force([(sp.Integer(n), str(n)) for n in numbers], sp.Integer(24))
        cpu += time.process_time() - t0
        if found:
            solved += 1
            verified += verify(found, numbers)
    return BaselineRun(len(chosen), solved, verified, cpu)


@dataclass
class UnsolvableRun:
    puzzles: int
    agreed: int
    solver_cpu_s: float
    baseline_cpu_s: float


def bench_unsolvable(count: int, seed: int = 13) -> UnsolvableRun:
    """Proving "no solution" needs the whole search: random 1..13 puzzles the solver rejects."""
    game24 = load_tool_module("game24")
    rng = random.Random(seed)
    puzzles: list[list[int]] = []
    solver_cpu = baseline_cpu = 0.0
    agreed = 0
    while len(puzzles) < count:
        numbers = sorted(rng.randint(1, 13) for _ in range(4))
        game24.engine.clear_cache()
        t0 = time.process_time()
        result = game24.solve_24(numbers=numbers)
        elapsed = time.process_time() - t0
        if result["solvable"] or numbers in puzzles:
            continue
        puzzles.append(numbers)
        solver_cpu += elapsed
        t0 = time.process_time()
        found = sympy_brute_force([(sp.Integer(n), str(n)) for n in numbers], sp.Integer(24))
        baseline_cpu += time.process_time() - t0
        agreed += found is None
    return UnsolvableRun(len(puzzles), agreed, solver_cpu, baseline_cpu)


# --- report -------------------------------------------------------------------------------------


def report(solver: SolverRun, baseline: BaselineRun, unsolvable: UnsolvableRun) -> str:
    per = solver.per_puzzle_ms
    solver_mean = statistics.mean(per)
    baseline_mean = baseline.total_s / baseline.sample * 1000
    extrapolated = baseline_mean * solver.puzzles / 1000
    p95 = statistics.quantiles(per, n=20)[-1]
    cold_p95 = statistics.quantiles(solver.cold_ms, n=20)[-1]
    rows = [
        ("puzzles", f"{solver.puzzles}", f"{baseline.sample} (random sample, seed 24)"),
        ("solved", f"{solver.solved}", f"{baseline.solved}"),
        (
            "answers re-verified (sympy, exact)",
            f"{solver.verified}/{solver.solved}",
            f"{baseline.verified}/{baseline.solved}",
        ),
        ("mean per puzzle", f"{solver_mean:.3f} ms", f"{baseline_mean:.1f} ms"),
        ("p95 / max per puzzle", f"{p95:.3f} / {max(per):.2f} ms", "-"),
        (
            "cold cache: mean / p95 / max",
            f"{statistics.mean(solver.cold_ms):.2f} / {cold_p95:.2f} / {max(solver.cold_ms):.2f} ms",
            "-",
        ),
        ("total for 1,362 puzzles", f"{sum(per) / 1000:.2f} s", f"{extrapolated:.1f} s (extrapolated)"),
        ("wall clock, solve + verify all", f"{solver.total_s:.2f} s", "-"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        f"| {'':<{width}} | solve_24 (Fraction, memoised) | brute force over sympy numbers |",
        f"|{'-' * (width + 2)}|---|---|",
    ]
    lines += [f"| {name:<{width}} | {a} | {b} |" for name, a, b in rows]
    hard_solver = unsolvable.solver_cpu_s / unsolvable.puzzles * 1000
    hard_baseline = unsolvable.baseline_cpu_s / unsolvable.puzzles * 1000
    lines.append(
        f"| {'unsolvable (random 1..13), cold':<{width}} "
        f"| {hard_solver:.2f} ms mean over {unsolvable.puzzles} "
        f"| {hard_baseline:.0f} ms mean; agrees on {unsolvable.agreed}/{unsolvable.puzzles} |"
    )
    ratio = baseline_mean / solver_mean
    cold_ratio = baseline_mean / statistics.mean(solver.cold_ms)
    lines.append("")
    lines.append(
        f"Speed-up: {ratio:,.0f}x per puzzle over the sympy brute force "
        f"({cold_ratio:,.0f}x with the solver's cache cleared before every puzzle); "
        f"{hard_baseline / hard_solver:,.0f}x when proving that a puzzle has no solution, where the "
        "brute force must search everything (on solvable puzzles it stops at its first hit). "
        "Times are CPU time of the process (time.process_time), so a busy machine skews them less."
    )
    return "\n".join(lines)


def write_readme(table: str) -> None:
    """Replace (or add) this section of bench/README.md, leaving other sections alone."""
    section = (
        f"{HEADING}\n\n"
        "`.venv/bin/python bench/boxes.py` on "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}. The solver runs every puzzle of `game24.csv` in file order "
        "(sub-results shared between puzzles through its multiset cache) and again with the cache "
        "cleared before each puzzle; every expression it returns is re-checked by sympy with exact "
        "rationals and its literals compared with the puzzle. The baseline is the textbook pick-two "
        "recursive search over sympy numbers, stopping at the first solution, run on a random "
        "sample and extrapolated to the whole set. The last row compares both on random puzzles "
        "(numbers 1..13) that have no solution, where the baseline's verdict is also checked.\n\n"
        f"{table}\n"
    )
    replace_section(HEADING, section)


# --- section: tool latency through the server ---------------------------------------------------

LATENCY_HEADING = "## Boxes: tool latency through the server"
LATENCY_BOXES = ("math", "bio")
WARMUP = 3
SERVE = [sys.executable, "-m", "mcp_box_server", "serve", "--no-reload"]


@dataclass(frozen=True)
class ToolCase:
    box: str
    function: str
    arguments: dict[str, Any]
    expect: Any

    @property
    def name(self) -> str:
        return f"{self.box}_{self.function}"


@dataclass
class LatencyRow:
    case: ToolCase
    server_ms: list[float]
    local_ms: list[float]
    problem: str | None = None  # why the tool could not be timed, or a wrong answer


def first_cases(box: str) -> list[ToolCase]:
    """Per tool, the first case in examples.jsonl with `expect` (not `expect_error`), file order."""
    found: dict[str, ToolCase] = {}
    for raw in (BOXES / box / "examples.jsonl").read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        data = json.loads(raw)
        function = data["tool"].removeprefix(f"{box}_")
        if "expect" in data and function not in found:
            found[function] = ToolCase(box, function, data.get("arguments", {}), data["expect"])
    return list(found.values())


def box_functions(box: str) -> dict[str, Any]:
    """A box's tool functions by name: every `tools/*.py` not starting with '_', imported by path."""
    functions: dict[str, Any] = {}
    for path in sorted((BOXES / box / "tools").glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = load_tool_module(path.stem, box)
        exported = getattr(module, "__all__", None)
        for attr, fn in vars(module).items():
            if not inspect.isfunction(fn):
                continue
            if exported is not None and attr not in exported:
                continue
            if exported is None and (attr.startswith("_") or fn.__module__ != module.__name__):
                continue
            functions.setdefault(attr, fn)
    return functions


def worker_arguments(fn: Any, case: ToolCase) -> dict[str, Any]:
    """The arguments as the worker hands them to the function (validated and coerced by its model)."""
    from mcp_box_server.box.schema import build_arguments_model, validate_arguments

    model, _ = build_arguments_model(fn, case.name)
    return validate_arguments(model, case.arguments)


def answer_problem(case: ToolCase, structured: Any) -> str | None:
    """Check one server answer against the example's `expect`, as `mcp-box check` would."""
    from mcp_box_server.box.examples import mismatch

    got = structured
    if isinstance(structured, dict) and set(structured) == {"result"} and not isinstance(case.expect, dict):
        got = structured["result"]
    problem = mismatch(case.expect, got)
    return f"wrong answer: {problem}" if problem else None


def _processes() -> dict[int, tuple[int, str]]:
    """Every visible process: pid -> (parent pid, command line), from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry.name)] = (ppid, command)
    return table


def _children() -> dict[int, str]:
    """This process's child processes: pid -> command line."""
    return {pid: cmd for pid, (ppid, cmd) in _processes().items() if ppid == os.getpid()}


def _descendants(roots: set[int]) -> set[int]:
    """`roots` and every process below them (the server, its zygote and workers)."""
    table = _processes()
    found = {pid for pid in roots if pid in table}
    for _ in range(8):  # bounded: the tree is a few levels deep
        more = {pid for pid, (ppid, _cmd) in table.items() if ppid in found} - found
        if not more:
            break
        found |= more
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _stop(pids: set[int]) -> None:
    """Wait up to 5 s for these processes to end, then SIGTERM, 5 s more, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL, None):
        for _ in range(50):
            pids = {pid for pid in pids if _alive(pid)}
            if not pids:
                return
            time.sleep(0.1)
        if sig is None:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


async def _time_server(client: Any, case: ToolCase, calls: int) -> tuple[list[float], str | None]:
    times: list[float] = []
    for i in range(WARMUP + calls):
        t0 = time.perf_counter()
        result = await client.call_tool(case.name, case.arguments, raise_on_error=False)
        elapsed = (time.perf_counter() - t0) * 1000
        if result.is_error:
            text = result.content[0].text if result.content else "?"
            return times, f"server error: {text[:120]}"
        if i == 0:
            problem = answer_problem(case, result.structured_content)
            if problem:
                return times, problem
        if i >= WARMUP:
            times.append(elapsed)
    return times, None


def _time_local(fn: Any, arguments: dict[str, Any], calls: int) -> list[float]:
    times: list[float] = []
    for i in range(WARMUP + calls):
        fresh = dict(arguments)  # the worker builds a new dict per call too
        t0 = time.perf_counter()
        fn(**fresh)
        elapsed = (time.perf_counter() - t0) * 1000
        if i >= WARMUP:
            times.append(elapsed)
    return times


@dataclass
class LatencyRun:
    rows: list[LatencyRow]
    startup_s: float  # server start to the first tools/list answer
    bare_ms: list[float]  # tools/call of an unknown name: answered by the server, no worker


async def bench_latency(calls: int) -> LatencyRun:
    """Time every tool of both boxes through a real stdio server and in-process."""
    cases = [case for box in LATENCY_BOXES for case in first_cases(box)]
    functions = {box: box_functions(box) for box in LATENCY_BOXES}
    with tempfile.TemporaryFile(mode="w+") as log:  # the server's stderr, shown if it fails
        try:
            return await _serve_and_time(cases, functions, calls, log)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:])
            raise


async def _serve_and_time(
    cases: list[ToolCase], functions: dict[str, dict[str, Any]], calls: int, log: Any
) -> LatencyRun:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    rows: list[LatencyRow] = []
    bare_ms: list[float] = []
    transport = StdioTransport(command=SERVE[0], args=SERVE[1:], keep_alive=False, log_file=log)
    before = set(_children())
    tree: set[int] = set()  # the server and the processes it started
    try:
        t0 = time.perf_counter()
        async with Client(transport, timeout=120) as client:
            served = {tool.name for tool in await client.list_tools()}
            startup = time.perf_counter() - t0
            server = {p for p, cmd in _children().items() if p not in before and "mcp_box_server" in cmd}
            try:
                for case in cases:
                    fn = functions[case.box].get(case.function)
                    if case.name not in served or fn is None:
                        where = "not served" if case.name not in served else "function not found in tools/"
                        rows.append(LatencyRow(case, [], [], where))
                        continue
                    server_ms, problem = await _time_server(client, case, calls)
                    local_ms = [] if problem else _time_local(fn, worker_arguments(fn, case), calls)
                    rows.append(LatencyRow(case, server_ms, local_ms, problem))
                    print(f"  {case.name:<32} {_p50(server_ms):8.3f} ms via server", file=sys.stderr)
                # measured last, once the workers' start-up no longer competes for the 2 CPUs
                for i in range(WARMUP + calls):
                    t1 = time.perf_counter()
                    missing = await client.call_tool("bench_no_such_tool", {}, raise_on_error=False)
                    if i >= WARMUP:
                        bare_ms.append((time.perf_counter() - t1) * 1000)
                    if not missing.is_error:
                        raise RuntimeError("the server answered a call to a missing tool without an error")
            finally:
                tree = _descendants(server)  # while it runs: leaving the block stops the server
    finally:
        await transport.close()  # (again) closes the server's stdin; the server stops its workers
        _stop(tree)  # and if it did not, the server and what it started are stopped here
    return LatencyRun(rows, startup, bare_ms)


def _p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")


@dataclass
class LatencySummary:
    timed: int
    overhead_p50_ms: float  # median over tools of (server p50 - in-process p50)
    ratio_p50: float  # median over tools of the p50 ratio
    slowest: list[LatencyRow]


def summarise_latency(rows: list[LatencyRow]) -> LatencySummary:
    timed = [r for r in rows if r.server_ms and r.local_ms]
    overheads = [_p50(r.server_ms) - _p50(r.local_ms) for r in timed]
    ratios = [_p50(r.server_ms) / _p50(r.local_ms) for r in timed if _p50(r.local_ms) > 0]
    slowest = sorted(timed, key=lambda r: _p50(r.server_ms), reverse=True)[:3]
    return LatencySummary(
        len(timed),
        statistics.median(overheads) if overheads else float("nan"),
        statistics.median(ratios) if ratios else float("nan"),
        slowest,
    )


def _ratio(server: float, local: float) -> str:
    if local <= 0:
        return "-"
    ratio = server / local
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:,.0f}x"


LATENCY_COLUMNS = ("tool", "server p50 ms", "server p95 ms", "in-proc p50 ms", "in-proc p95 ms", "ratio p50")


def latency_cells(row: LatencyRow) -> list[str]:
    if row.problem:
        return [row.case.name, row.problem, "", "", "", ""]
    server, local = _p50(row.server_ms), _p50(row.local_ms)
    return [
        row.case.name,
        f"{server:.3f}",
        f"{_p95(row.server_ms):.3f}",
        f"{local:.4f}",
        f"{_p95(row.local_ms):.4f}",
        _ratio(server, local),
    ]


def latency_table(rows: list[LatencyRow]) -> str:
    lines = ["| " + " | ".join(LATENCY_COLUMNS) + " |", "|---|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(latency_cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def print_latency(rows: list[LatencyRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=LATENCY_HEADING.removeprefix("## "))
    for column in LATENCY_COLUMNS:
        table.add_column(column, justify="left" if column == "tool" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*latency_cells(row))
    Console(width=120).print(table)


def latency_summary_line(run: LatencyRun) -> str:
    summary = summarise_latency(run.rows)
    slowest = ", ".join(f"{r.case.name} {_p50(r.server_ms):.1f} ms" for r in summary.slowest)
    skipped = len(run.rows) - summary.timed
    return (
        f"{summary.timed} tools timed{f', {skipped} not' if skipped else ''}. Median per-call overhead of "
        "going through the server (server p50 minus in-process p50, median over tools): "
        f"**{summary.overhead_p50_ms:.2f} ms**; a `tools/call` that the server answers itself, with no "
        f"worker (an unknown tool name), takes {_p50(run.bare_ms):.2f} ms (p50 of {len(run.bare_ms)}). "
        f"Median p50 ratio server / in-process: {_ratio(summary.ratio_p50, 1.0)}. "
        f"Slowest through the server: {slowest}. Server start to the first `tools/list` answer: "
        f"{run.startup_s * 1000:.0f} ms."
    )


def latency_section(run: LatencyRun, calls: int, load: float) -> str:
    bare = _p50(run.bare_ms)
    share = "that most of it is" if bare >= summarise_latency(run.rows).overhead_p50_ms / 2 else "how much is"
    return (
        f"{LATENCY_HEADING}\n\n"
        "`.venv/bin/python bench/boxes.py --section latency` on "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs, {time.strftime('%Y-%m-%d')}; load average "
        f"{load:.1f} at the end of the run. A real `python -m mcp_box_server serve --no-reload` over "
        "stdio (bundled boxes math and bio) and a `fastmcp.Client`; every tool is called with the "
        "arguments of its first `expect` case in `boxes/<box>/examples.jsonl` (the first answer is "
        f"checked against `expect`), {calls} calls one at a time after {WARMUP} warm-up calls, timed "
        "wall-clock around `call_tool`. In-process: the same function imported by path from the box's "
        "`tools/`, called as often with the arguments already validated the way the worker validates "
        "them, timed around the bare call.\n\n"
        f"{latency_table(run.rows)}\n\n"
        f"{latency_summary_line(run)}\n\n"
        "The overhead is a roughly fixed cost per call, whatever the tool does: the client encodes a "
        "JSON-RPC request and parses and validates the result, the request crosses two process boundaries "
        "(client to server over stdio pipes, server to a worker over its socket, and back), the server "
        "dispatches and converts the result to MCP text plus structured content, and the worker validates "
        "the arguments with pydantic and JSON-encodes the result. The worker-free `tools/call` "
        f"({bare:.1f} ms, which also ranks close tool names for its hint) shows {share} "
        "the MCP client and server alone, without the worker. On this loaded 2-core machine the "
        "scheduling of three processes per call is part of every figure, p95s mostly measure other jobs, "
        "and ratios near or below 1x (sympy calls of tens of ms) are within that noise.\n"
    )


def run_latency(calls: int, write: bool) -> None:
    run = asyncio.run(bench_latency(calls))
    load = os.getloadavg()[0]
    print_latency(run.rows)
    print(latency_summary_line(run).replace("**", ""), f"Load average {load:.1f}.")
    if write:
        replace_section(LATENCY_HEADING, latency_section(run, calls, load))
        print(f"written to {README.relative_to(ROOT)}")
    if any(r.problem for r in run.rows):
        names = ", ".join(r.case.name for r in run.rows if r.problem)
        raise SystemExit(f"some tools could not be timed: {names}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--section", choices=("24", "latency", "all"), default="all", help="what to run")
    parser.add_argument("--sample", type=int, default=100, help="puzzles for the sympy baseline")
    parser.add_argument("--unsolvable", type=int, default=20, help="unsolvable puzzles to compare")
    parser.add_argument("--calls", type=int, default=50, help="timed calls per tool (latency section)")
    parser.add_argument("--no-readme", action="store_true", help="print only, leave bench/README.md")
    args = parser.parse_args(argv)
    if args.calls < 2:
        parser.error("--calls must be at least 2 (p95 needs two samples)")
    if args.section in ("24", "all"):
        puzzles = read_puzzles()
        solver = bench_solver(puzzles)
        baseline = bench_sympy_baseline(puzzles, args.sample)
        unsolvable = bench_unsolvable(args.unsolvable)
        table = report(solver, baseline, unsolvable)
        print(HEADING.removeprefix("## "))
        print(table)
        if solver.verified != solver.solved or unsolvable.agreed != unsolvable.puzzles:
            raise SystemExit("the solver disagrees with the independent checks")
        if not args.no_readme:
            write_readme(table)
            print(f"\nwritten to {README.relative_to(ROOT)}")
    if args.section in ("latency", "all"):
        if args.section == "all":
            print()
        run_latency(args.calls, write=not args.no_readme)


if __name__ == "__main__":
    main()
