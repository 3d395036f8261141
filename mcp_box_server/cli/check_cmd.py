"""`mcp-box check BOX`: run a box's examples through a real worker."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_box_server.cli.common import (
    add_boxes_option,
    box_names,
    box_roots,
    boxes_by_name,
    bundled_dir,
    setup_logging,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run a box's examples.jsonl through a real worker and report pass/fail",
        description="BOX is a box directory, or the name of a box in the --boxes folders or bundled.",
    )
    parser.add_argument("target", metavar="BOX")
    add_boxes_option(parser)
    parser.add_argument("--verbose", "-v", action="store_true", help="print every case, not only failures")
    parser.set_defaults(run=run)


@dataclass(slots=True)
class Outcome:
    tool: str
    line: int
    passed: bool
    detail: str
    file: str = "examples.jsonl"


def resolve_box(name_or_path: str, args: argparse.Namespace) -> Path:
    """A box directory as given, else the box of that name (the --boxes folders first)."""
    from mcp_box_server.box import MANIFEST

    path = Path(name_or_path)
    if (path / MANIFEST).is_file():
        return path.resolve()
    found = boxes_by_name(box_roots(args))
    if name_or_path in found:
        return found[name_or_path]
    where = [] if args.no_bundled else [f"bundled: {', '.join(sorted(box_names([bundled_dir()])))}"]
    if args.boxes:
        where.append(f"--boxes: {', '.join(sorted(box_names(args.boxes))) or 'none'}")
    raise SystemExit(
        f"mcp-box check: '{name_or_path}' is neither a box directory nor a box name ({'; '.join(where)}); "
        "a box of your own: add its folder with --boxes DIR"
    )


def box_label(box_dir: Path) -> str:
    """The box's name from its box.toml (the folder may be named otherwise)."""
    from mcp_box_server.box import ManifestError, read_manifest

    try:
        return read_manifest(box_dir).name
    except ManifestError:
        return box_dir.name


async def check_box(box_dir: Path) -> tuple[list[str], list[Outcome]]:
    """Load problems and one outcome per example; the box is run in a real worker."""
    from mcp_box_server.box import ManifestError, mismatch, read_examples, read_manifest
    from mcp_box_server.box.demos import read_demos
    from mcp_box_server.runtime import BoxPool, BoxRuntimeError

    try:
        manifest = read_manifest(box_dir)
    except ManifestError as exc:
        return [str(exc)], []
    examples, bad_lines = read_examples(box_dir)
    problems = [str(failure) for failure in bad_lines]
    pool = BoxPool(manifest)
    await pool.start()
    problems += [str(failure) for failure in pool.failures]
    if pool.refusal:  # this OS runs no worker (Windows): nothing is run, the refusal is the box's error
        await pool.close()
        return problems, []
    outcomes: list[Outcome] = []
    prefix = f"{manifest.name}_"
    try:
        for example in examples:
            function = example.tool.removeprefix(prefix)
            try:
                result: Any = await pool.call(function, example.arguments)
            except BoxRuntimeError as error:
                if example.expect_error is not None and example.expect_error.lower() in str(error).lower():
                    outcomes.append(Outcome(example.tool, example.line, True, f"error as expected: {error}"))
                elif example.expect_error is not None:
                    detail = f"expected an error containing {example.expect_error!r}, got: {error}"
                    outcomes.append(Outcome(example.tool, example.line, False, detail))
                else:
                    outcomes.append(
                        Outcome(example.tool, example.line, False, f"{type(error).__name__}: {error}")
                    )
                continue
            if example.expect_error is not None:
                detail = (
                    f"expected an error containing {example.expect_error!r}, got {json.dumps(result)[:120]}"
                )
                outcomes.append(Outcome(example.tool, example.line, False, detail))
                continue
            problem = mismatch(example.expect, result)
            outcomes.append(Outcome(example.tool, example.line, problem is None, problem or "ok"))
        demos = read_demos(box_dir, manifest.name)
        problems += [str(failure) for failure in demos.failures]
        for demo in demos.demos:  # each demo's calls must still return what the demo shows
            outcomes += [await _check_demo_call(pool, call, demo.line, prefix) for call in demo.calls]
    finally:
        await pool.close()
    return problems, outcomes


async def _check_demo_call(pool: Any, call: Any, line: int, prefix: str) -> Outcome:
    """One call of a demo (`demos.jsonl`), run again: it passes when the result is the one shown."""
    from mcp_box_server.box import mismatch
    from mcp_box_server.runtime import BoxRuntimeError

    try:
        result = await pool.call(call.tool.removeprefix(prefix), call.arguments)
    except BoxRuntimeError as error:
        return Outcome(call.tool, line, False, f"{type(error).__name__}: {error}", "demos.jsonl")
    problem = mismatch(call.result, result)
    return Outcome(call.tool, line, problem is None, problem or "ok", "demos.jsonl")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    setup_logging("ERROR")  # load errors are printed below, once
    box_dir = resolve_box(args.target, args)
    problems, outcomes = asyncio.run(check_box(box_dir))
    console = Console(soft_wrap=True)  # a file:line is never cut at the terminal's width
    for problem in problems:
        console.print(f"[red]LOAD ERROR[/] {problem}", highlight=False)
    for outcome in outcomes:
        if args.verbose or not outcome.passed:
            mark = "[green]PASS[/]" if outcome.passed else "[red]FAIL[/]"
            console.print(
                f"{mark} {outcome.tool} ({outcome.file}:{outcome.line}) {outcome.detail}", highlight=False
            )
    passed = sum(outcome.passed for outcome in outcomes)
    failed = len(outcomes) - passed
    if not outcomes and not problems:
        console.print("[yellow]no examples to run[/] (add examples.jsonl or demos.jsonl)")
    print(f"{box_label(box_dir)}: {passed} passed, {failed} failed", file=sys.stdout)
    return 0 if not problems and not failed and outcomes else 1
