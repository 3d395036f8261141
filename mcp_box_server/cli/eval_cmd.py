"""`mcp-box eval`: run a benchmark with a model, with and/or without the box, and summarise."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path

from mcp_box_server.student.options import add_agent_options, add_model_options, add_server_options, positive


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="run a benchmark (game24, gsm8k, bio, or a JSONL file) and summarise",
        description="Evaluate a model on a benchmark with the box's tools, without them (--no-box), "
        "or both side by side (--compare-no-box). Progress goes to stderr, the summary table to "
        "stdout, one JSONL trace line per task to --traces.",
    )
    parser.add_argument(
        "benchmark", help="game24, gsm8k, bio, or a path to a JSONL file of {question, answer}"
    )
    parser.add_argument(
        "--rows",
        metavar="START:END",
        help="task rows START:END, 0-based, end excluded, either side may be left out (:20 is the "
        "first 20); game24 default 900:1000, the Tree-of-Thoughts split",
    )
    parser.add_argument(
        "--scorer",
        choices=("game24", "numeric", "exact", "contains", "choice"),
        help="scorer for a JSONL file's rows that name none (default exact)",
    )
    add_model_options(parser)
    add_server_options(parser)
    arms = parser.add_mutually_exclusive_group()
    arms.add_argument("--no-box", action="store_true", help="only the baseline arm, without tools")
    arms.add_argument("--compare-no-box", action="store_true", help="run with the box and without it")
    add_agent_options(parser)
    parser.add_argument("-j", "--concurrency", type=positive, default=4, help="tasks in flight (default 4)")
    parser.add_argument("--traces", type=Path, help="trace folder (default mcp-box-traces/BENCHMARK-MODEL)")
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="also write the summary as JSON to FILE: per arm accuracy, tasks, answered, stuck, "
        "step_limit, errors, mean model tokens (probe tokens apart), mean steps, wall time",
    )
    runs = parser.add_mutually_exclusive_group()
    runs.add_argument("--resume", action="store_true", help="continue an interrupted run from its traces")
    runs.add_argument("--overwrite", action="store_true", help="start over, replacing existing traces")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.llm import ModelError
    from mcp_box_server.student.errors import StudentError

    try:
        return asyncio.run(_eval(args))
    except (ModelError, StudentError, ValueError) as exc:
        print(f"mcp-box eval: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1  # bad input: 2; the model or server failed: 1


def trace_dir(args: argparse.Namespace, benchmark: str) -> Path:
    if args.traces is not None:
        return args.traces
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", args.model).strip("-")
    return Path("mcp-box-traces") / f"{benchmark}-{slug}"


async def _eval(args: argparse.Namespace) -> int:
    import contextlib
    import json

    from rich.console import Console

    from mcp_box_server.student.benchmarks import load_benchmark, parse_rows
    from mcp_box_server.student.evaluation import ArmResult, run_arm
    from mcp_box_server.student.options import build_agent_config, build_connection, build_model
    from mcp_box_server.student.report import ArmProgress, make_progress, summary_table

    benchmark = load_benchmark(args.benchmark, parse_rows(args.rows) if args.rows else None, args.scorer)
    arms = ["no-box"] if args.no_box else (["box", "no-box"] if args.compare_no_box else ["box"])
    folder = trace_dir(args, benchmark.name)
    traces = {arm: folder / f"{arm}.jsonl" for arm in arms}
    existing = [str(p) for p in traces.values() if p.exists() and p.stat().st_size > 0]
    if existing and not (args.resume or args.overwrite):
        print(
            f"mcp-box eval: traces exist ({', '.join(existing)}); pass --resume or --overwrite",
            file=sys.stderr,
        )
        return 2
    config = build_agent_config(args)
    err = Console(stderr=True)
    results: list[ArmResult] = []
    async with contextlib.AsyncExitStack() as stack:
        model = await stack.enter_async_context(build_model(args))
        needs_box = arms != ["no-box"] or config.shots > 0  # the demos come from the boxes, over MCP
        box = await stack.enter_async_context(build_connection(args)) if needs_box else None
        demos = await box.demos() if box is not None and config.shots > 0 else []
        if config.shots > 0 and not demos:
            print("mcp-box eval: --shots: the served boxes have no demos (demos.jsonl)", file=sys.stderr)
        with make_progress(err) as progress:
            for arm in arms:
                result = await run_arm(
                    benchmark,
                    model,
                    box if arm == "box" else None,
                    config,
                    traces[arm],
                    arm=arm,
                    api=args.api,
                    actions=args.actions,
                    demos=demos,
                    concurrency=args.concurrency,
                    resume=args.resume,
                    on_task=ArmProgress(progress, f"{benchmark.name} [{arm}]", len(benchmark.tasks)),
                )
                results.append(result)
    summaries = [r.summary for r in results]
    title = f"{benchmark.name} · {model.label} · {len(benchmark.tasks)} tasks"
    Console(highlight=False).print(summary_table(title, summaries))
    summary = {
        "benchmark": benchmark.name,
        "model": model.label,
        "api": args.api,
        "extra_body": model.completion_body if args.api == "completions" else model.chat_body,
        "shots": config.shots,
        "rows": args.rows,
        "tasks": len(benchmark.tasks),
        "arms": [s.to_dict() for s in summaries],
    }
    text = json.dumps(summary, indent=2) + "\n"
    (folder / "summary.json").write_text(text, encoding="utf-8")
    if args.summary is not None:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text, encoding="utf-8")
        print(f"summary: {args.summary}", file=sys.stderr)
    print(f"traces: {folder}", file=sys.stderr)
    return 0
