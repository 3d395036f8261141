"""`mcp-box ls`: boxes, their tools, load status and errors."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from mcp_box_server.cli.common import add_box_options, box_roots, setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ls",
        help="list boxes, tools, load status and errors",
        description="Load each box in a real worker (or ask a running server) and list what it offers.",
    )
    add_box_options(parser)
    parser.add_argument(
        "--server",
        metavar="URL",
        help="ask a running server instead (e.g. http://127.0.0.1:8765/mcp): shows what it serves now, "
        "including the last good version kept after a broken edit",
    )
    parser.add_argument("--token", help="bearer token for --server (default: $MCP_BOX_TOKEN)")
    parser.add_argument(
        "--tools",
        action="store_true",
        help="also describe each tool: parameters, types, defaults and description (as `mcp-box show`)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging("ERROR")  # load errors are in the listing itself
    if args.server:
        try:
            boxes = asyncio.run(_from_server(args))
        except Exception as exc:  # connection, HTTP and protocol failures: one line, not a traceback
            print(f"mcp-box ls: cannot ask {args.server}: {_explain(exc, args.server)}", file=sys.stderr)
            return 2
    else:
        boxes = asyncio.run(_from_disk(args))
    broken = any(box["errors"] for box in boxes)
    if args.json:
        print(json.dumps(boxes, indent=2))
    else:
        _print_table(boxes)
        if args.tools:
            _print_tools(boxes)
        if broken and not args.server:
            print(
                "(read from disk: a running server keeps serving the last good version of a box "
                "whose edit broke it; `mcp-box ls --server URL` shows what it serves)",
                file=sys.stderr,
            )
    return 1 if broken else 0


def _explain(exc: Exception, url: str) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "error response" in text or "401" in text:
        return f"{text} (a server started with --token needs --token or $MCP_BOX_TOKEN here)"
    if "Not Found" in text:
        base = urlsplit(url)
        return f"{text} (mcp-box serves streamable HTTP at /mcp: try {base.scheme}://{base.netloc}/mcp)"
    return text


async def _from_disk(args: argparse.Namespace) -> list[dict[str, Any]]:
    from mcp_box_server.server.registry import BoxRegistry

    registry = BoxRegistry(box_roots(args), set(args.box) if args.box else None)
    await registry.start()
    try:
        boxes = registry.status()
        specs = {
            name: _spec(name, spec.description, spec.parameters) for name, spec in registry.tools.items()
        }
    finally:
        await registry.close()
    return _with_specs(boxes, specs) if args.tools else boxes


async def _from_server(args: argparse.Namespace) -> list[dict[str, Any]]:
    import os

    from fastmcp import Client

    from mcp_box_server.server.binding import TOKEN_ENV

    token = args.token or os.environ.get(TOKEN_ENV)
    async with Client(args.server, auth=token) as client:
        result = await client.call_tool("box_status", {})
        listed = await client.list_tools() if args.tools else []
    boxes: list[dict[str, Any]] = result.structured_content["boxes"]
    boxes = [box for box in boxes if not args.box or box["box"] in args.box]
    specs = {tool.name: _spec(tool.name, tool.description or "", tool.input_schema) for tool in listed}
    return _with_specs(boxes, specs) if args.tools else boxes


def _spec(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "description": description, "parameters": parameters}


def _with_specs(boxes: list[dict[str, Any]], specs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each box with a `specs` list: its tools' descriptions and parameter schemas."""
    return [box | {"specs": [specs[name] for name in box["tools"] if name in specs]} for box in boxes]


def _print_table(boxes: list[dict[str, Any]]) -> None:
    """The table, then each error on its own unwrapped line: a file:line must stay whole."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not boxes:
        console.print("no boxes found")
        return
    table = Table(show_lines=True)
    for column in ("box", "version", "trust", "status", "tools"):
        table.add_column(column)
    for box in boxes:
        status = "[green]serving[/]" if box["serving"] else "[red]not serving[/]"
        if box["errors"]:
            status += f"\n[red]{len(box['errors'])} error(s), below[/]"
        table.add_row(
            box["box"], box["version"] or "-", box["trust"] or "-", status, "\n".join(box["tools"]) or "-"
        )
    console.print(table)
    for box in boxes:
        for error in box["errors"]:
            console.print(f"[red]{box['box']}[/]: {error}", soft_wrap=True, highlight=False, markup=True)


def _print_tools(boxes: list[dict[str, Any]]) -> None:
    from mcp_box_server.cli.show_cmd import describe

    blocks = [describe(**spec) for box in boxes for spec in box.get("specs", [])]
    if blocks:
        print("\n" + "\n\n".join(blocks))
