"""`mcp-box ls`: boxes, their tools, load status and errors.

Where this OS runs no worker (Windows), the boxes are read from their source instead
(`box.source`): the same listing, no box code run, each box marked as not served here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mcp_box_server.box import ToolSpec
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
        refusal = None if args.server else source_only()
        if refusal:
            print(f"(read from the source, no box code run: {refusal})", file=sys.stderr)
        elif broken and not args.server:
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


def source_only() -> str | None:
    """Why boxes are read from their source here (no worker can load them), or None."""
    from mcp_box_server.runtime import platform

    return platform.current().SERVE_REFUSAL


def read_from_source(roots: list[Path], only: set[str] | None) -> tuple[list[dict[str, Any]], list[ToolSpec]]:
    """Each box as `BoxRegistry.status()` lists it, and its tools, read from its files alone."""
    from mcp_box_server.box import ManifestError, read_manifest
    from mcp_box_server.box.source import read_tools
    from mcp_box_server.cli.common import boxes_by_name

    boxes: list[dict[str, Any]] = []
    specs: list[ToolSpec] = []
    for name, path in sorted(boxes_by_name(roots).items()):
        if only is not None and name not in only:
            continue
        box: dict[str, Any] = {"box": name, "path": str(path), "version": None, "trust": None}
        box |= {"serving": False, "read_from": "source", "tools": [], "errors": []}
        try:
            manifest = read_manifest(path)
        except ManifestError as exc:
            boxes.append(box | {"errors": [str(exc)]})
            continue
        found, failures = read_tools(manifest)
        box |= {"version": manifest.version, "trust": manifest.trust, "tools": [s.name for s in found]}
        boxes.append(box | {"errors": [str(failure) for failure in failures]})
        specs += found
    return boxes, specs


async def _from_disk(args: argparse.Namespace) -> list[dict[str, Any]]:
    from mcp_box_server.server.registry import BoxRegistry

    if source_only():
        boxes, found = read_from_source(box_roots(args), set(args.box) if args.box else None)
        specs = {spec.name: _spec(spec.name, spec.description, spec.parameters) for spec in found}
        return _with_specs(boxes, specs) if args.tools else boxes
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
        if box.get("read_from") == "source":
            status = "[yellow]not served here[/]\n(read from source)"
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
