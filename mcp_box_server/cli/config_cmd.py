"""`mcp-box config CLIENT`: the exact JSON entry that adds this install to a client."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

CLIENTS = {
    "claude-desktop": 'claude_desktop_config.json, under "mcpServers"',
    "cursor": '~/.cursor/mcp.json (or .cursor/mcp.json in a project), under "mcpServers"',
    "vscode": '.vscode/mcp.json, under "servers"',
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="print the JSON entry that adds this server to Claude Desktop, Cursor or VS Code",
    )
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--boxes", nargs="+", metavar="DIR", help="box directories to serve")
    parser.add_argument("--box", action="append", metavar="NAME", help="serve only this box (repeatable)")
    parser.add_argument("--name", default="mcp-box", help="the server's name in the client (default mcp-box)")
    parser.set_defaults(run=run)


def server_entry(args: argparse.Namespace) -> dict[str, Any]:
    """Run this very interpreter, so the entry works whatever PATH the client has."""
    from pathlib import Path

    command = [sys.executable, "-m", "mcp_box_server", "serve"]
    missing = [d for d in args.boxes or [] if not Path(d).is_dir()]
    if missing:
        raise SystemExit(f"mcp-box config: no such box directory: {', '.join(missing)}")
    if args.boxes:
        command += ["--boxes", *(str(Path(d).resolve()) for d in args.boxes)]
    for name in args.box or []:
        command += ["--box", name]
    return {"command": command[0], "args": command[1:]}


def config_for(client: str, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    if client == "vscode":
        return {"servers": {name: {"type": "stdio", **entry}}}
    return {"mcpServers": {name: entry}}


def run(args: argparse.Namespace) -> int:
    print(json.dumps(config_for(args.client, args.name, server_entry(args)), indent=2))
    print(f"# add this to {CLIENTS[args.client]}", file=sys.stderr)
    return 0
