"""`mcp-box call TOOL 'ARGS'`: one call through a real worker, result printed as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from mcp_box_server.cli.common import add_box_options, box_roots, setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "call",
        help="call one tool and print its result",
        description="Call TOOL (e.g. math_solve_24) with ARGS, a JSON object, in a real worker.",
    )
    parser.add_argument("tool", metavar="TOOL")
    parser.add_argument("arguments", metavar="ARGS", nargs="?", default="{}")
    add_box_options(parser)
    parser.set_defaults(run=run)


async def call(args: argparse.Namespace, arguments: dict[str, Any]) -> Any:
    from mcp_box_server.server.registry import BoxRegistry

    box = args.tool.split("_", 1)[0]
    registry = BoxRegistry(box_roots(args), set(args.box) if args.box else {box})
    await registry.start()
    try:
        if args.tool in registry.tools:
            return await registry.call(args.tool, arguments)
    finally:
        await registry.close()
    raise SystemExit(f"mcp-box call: unknown tool '{args.tool}'{await unknown_hint(args, args.tool)}")


async def unknown_hint(args: argparse.Namespace, wanted: str) -> str:
    """Load every box to name the closest tools: this is the error path, it may take a second."""
    from mcp_box_server.server.registry import BoxRegistry

    registry = BoxRegistry(box_roots(args), set(args.box) if args.box else None)
    await registry.start()
    try:
        return suggestion(list(registry.tools), registry.closest(wanted), registry.status(), wanted)
    finally:
        await registry.close()


def suggestion(names: list[str], close: list[str], status: list[dict[str, Any]], wanted: str) -> str:
    """What to say after "unknown tool": the load error of its box first, then close names."""
    box = wanted.split("_", 1)[0]
    for state in status:
        if state["box"] == box and state["errors"] and wanted not in state["tools"]:
            more = f" (and {len(state['errors']) - 1} more: mcp-box ls)" if len(state["errors"]) > 1 else ""
            return f"; box '{box}' did not load: {state['errors'][0]}{more}"
    if close:
        return f"; did you mean {', '.join(close)}?"
    return f"; tools are named <box>_<function>, e.g. {names[0]}" if names else "; no box serves any tool"


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.runtime import BoxRuntimeError

    setup_logging("ERROR")  # a box's load error is part of the answer below, not a log line
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        print(f"mcp-box call: ARGS is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("mcp-box call: ARGS must be a JSON object, e.g. '{\"numbers\": [4, 7, 8, 8]}'", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(call(args, arguments))
    except BoxRuntimeError as error:
        print(f"mcp-box call: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
