"""Benchmarks of the bundled boxes. Run: `.venv/bin/python bench/boxes.py [--sample N] [--no-readme]`.

Section "Game of 24 solver": the math box's `solve_24` over all 1,362 puzzles of
../shared/datasets/game24.csv, every answer re-verified independently (sympy's
exact arithmetic), against a plain pick-two brute force over sympy numbers on a
random sample (extrapolated, and said so). Results go to bench/README.md under
"## Boxes: Game of 24 solver".
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from types import ModuleType

import sympy as sp

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "boxes" / "math" / "tools"
DATASET = ROOT / ".." / "shared" / "datasets" / "game24.csv"
README = ROOT / "bench" / "README.md"
HEADING = "## Boxes: Game of 24 solver"


def load_tool_module(name: str) -> ModuleType:
    """Import a math box module by path, as the worker does (tools dir on sys.path)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(f"bench_math_{name}", TOOLS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {TOOLS / name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    README.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sample", type=int, default=100, help="puzzles for the sympy baseline")
    parser.add_argument("--unsolvable", type=int, default=20, help="unsolvable puzzles to compare")
    parser.add_argument("--no-readme", action="store_true", help="print only, leave bench/README.md")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
