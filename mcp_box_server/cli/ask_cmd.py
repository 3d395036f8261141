"""`mcp-box ask`: one question to a small model, with a box's tools (or without, as a baseline)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from mcp_box_server.student.options import add_agent_options, add_model_options, add_server_options

if TYPE_CHECKING:
    from rich.console import Console

    from mcp_box_server.student.steps import ActionStep


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask a model a question, with box tools over MCP",
        description="Ask a model served by any OpenAI-compatible endpoint a question; it may use the "
        "box tools (started with `mcp-box serve` over stdio, or --server-url). The answer goes to "
        "stdout; with --verbose each step goes to stderr.",
    )
    parser.add_argument("question", help="the question")
    add_model_options(parser)
    add_server_options(parser)
    parser.add_argument("--no-box", action="store_true", help="no tools at all (the baseline)")
    add_agent_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every step on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.llm import ModelError
    from mcp_box_server.student.errors import StudentError

    try:
        return asyncio.run(_ask(args))
    except (ModelError, StudentError, ValueError) as exc:
        print(f"mcp-box ask: {exc}", file=sys.stderr)
        return 2


async def _ask(args: argparse.Namespace) -> int:
    import contextlib

    from rich.console import Console

    from mcp_box_server.student.evaluation import make_agent
    from mcp_box_server.student.options import build_agent_config, build_connection, build_model
    from mcp_box_server.student.steps import ActionStep, EndReason, FinalAnswerStep

    err = Console(stderr=True, highlight=False)
    config = build_agent_config(args)
    async with contextlib.AsyncExitStack() as stack:
        model = await stack.enter_async_context(build_model(args))
        needs_box = not args.no_box or config.shots > 0  # the demos come from the boxes, over MCP
        box = await stack.enter_async_context(build_connection(args)) if needs_box else None
        demos = await box.demos() if box is not None and config.shots > 0 else []
        agent = make_agent(args.api, model, None if args.no_box else box, config, demos)
        if args.actions == "code":
            agent = _code_agent(args, model, box, config)
        async for step in agent.run(args.question):
            if isinstance(step, ActionStep) and args.verbose:
                _show_step(err, step)
            elif isinstance(step, FinalAnswerStep):
                if args.verbose:
                    err.rule(f"final ({step.reason.value}, finish_reason {step.finish_reason})")
                    _show_notes(err, step.notes)
                    if step.output:
                        err.print(step.output, markup=False)
                if step.reason is EndReason.MODEL_ERROR or (step.error and not step.answer):
                    print(f"mcp-box ask: no answer ({step.reason.value}): {step.error}", file=sys.stderr)
                    return 1
                if step.reason is EndReason.STEP_LIMIT:
                    note = f"the step limit ({config.max_steps}) was reached; this answer was forced"
                    print(f"mcp-box ask: {note}", file=sys.stderr)
                print(step.answer)
                return 0
    return 1  # pragma: no cover - the loop always ends with a final step


def _show_notes(console: Console, notes: list[str]) -> None:
    for note in notes:
        console.print(f"! {note}", markup=False)


def _show_step(console: Console, step: ActionStep) -> None:
    console.rule(
        f"step {step.index + 1}  ({step.model_latency_s:.2f} s, {step.usage.total_tokens} tokens, "
        f"finish_reason {step.finish_reason})"
    )
    _show_notes(console, step.notes)
    if step.model_output.strip():
        console.print(step.model_output.strip(), markup=False)
    for candidate in step.candidates:
        fate = f"dropped: {candidate.dropped}" if candidate.dropped else f"{candidate.votes} votes"
        console.print(f"  candidate {candidate.index}: {candidate.summary}  [{fate}]", markup=False)
    for call, result in zip(step.tool_calls, step.results, strict=True):
        status = "ok" if result.ok else str(result.error)
        console.print(
            f"→ {call.name}({call.arguments})  [{status}, {result.latency_s * 1000:.0f} ms]", markup=False
        )
        console.print(f"  {result.text[:500]}", markup=False)


def _code_agent(args: argparse.Namespace, model: object, box: object, config: object) -> object:
    """--actions code: Python code actions through the server's execute (a box is needed)."""
    from mcp_box_server.student.code_actions import CodeAgent

    if args.no_box or box is None:
        raise ValueError("--actions code runs code against the box tools: leave out --no-box")
    return CodeAgent(model, box, config, api=getattr(args, "api", "chat"))  # type: ignore[arg-type]
