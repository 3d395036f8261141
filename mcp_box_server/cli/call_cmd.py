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
    raise SystemExit(f"mcp-box call: unknown tool '{args.tool}'{await _suggestion(args)}")


async def _suggestion(args: argparse.Namespace) -> str:
    """Load every box to name the closest tools: this is the error path, it may take a second."""
    from mcp_box_server.server.registry import BoxRegistry

    registry = BoxRegistry(box_roots(args))
    await registry.start()
    try:
        names, close = list(registry.tools), registry.closest(args.tool)
    finally:
        await registry.close()
    if close:
        return f"; did you mean {', '.join(close)}?"
    return f"; tools are named <box>_<function>, e.g. {names[0]}" if names else "; no box serves any tool"


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.runtime import BoxRuntimeError

    setup_logging("WARNING")
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
