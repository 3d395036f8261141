"""`mcp-box config CLIENT`: the exact JSON entry that adds this install to a client.

This module is the one place that builds client entries: `install`, `uninstall` and
`pack` use it too, so what is printed is what is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mcp_box_server.cli.common import box_roots

CLIENTS = ("claude-code", "claude-desktop", "cursor", "vscode")
TOKEN_ENV = "MCP_BOX_TOKEN"  # what `mcp-box serve` reads; clients that expand variables read it too


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="print the JSON entry that adds this server to a client (writes nothing)",
        description="Print the JSON that `mcp-box install CLIENT` would merge into the client's "
        "config file; the same as `mcp-box install CLIENT --print`.",
    )
    parser.add_argument("client", choices=CLIENTS)
    add_entry_options(parser)
    parser.set_defaults(run=run)


def add_entry_options(parser: argparse.ArgumentParser) -> None:
    """What the entry starts: this install over stdio, or a running server at --url."""
    parser.add_argument(
        "--boxes",
        action="append",
        type=Path,
        metavar="DIR",
        help="a box directory, or a folder of boxes, to serve; one per flag, repeatable "
        "(default: the bundled boxes)",
    )
    parser.add_argument("--box", action="append", metavar="NAME", help="serve only this box (repeatable)")
    parser.add_argument("--name", default="mcp-box", help="the server's name in the client (default mcp-box)")
    parser.add_argument(
        "--url",
        help="connect to a running server (e.g. https://host/mcp) instead of starting this install",
    )
    parser.add_argument(
        "--bearer",
        action="store_true",
        help=f"the server at --url wants a bearer token: VS Code asks for it (an input), Cursor and "
        f"Claude Code read ${TOKEN_ENV}; the token itself is never written",
    )


def server_entry(args: argparse.Namespace) -> dict[str, Any]:
    """Run this very interpreter, so the entry works whatever PATH the client has."""
    command = [sys.executable, "-m", "mcp_box_server", "serve"]
    box_roots(args)  # every --boxes exists and every --box names a box there
    for folder in args.boxes or []:
        command += ["--boxes", str(folder.resolve())]
    for name in args.box or []:
        command += ["--box", name]
    return {"command": command[0], "args": command[1:]}


def client_entry(client: str, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The entry in `client`'s own dialect, and the VS Code inputs it refers to."""
    if args.bearer and not args.url:
        raise SystemExit("mcp-box: --bearer goes with --url (a local server over stdio needs no token)")
    if not args.url:
        entry = server_entry(args)
        return ({"type": "stdio", **entry} if client in ("vscode", "claude-code") else entry), []
    if args.boxes or args.box:
        raise SystemExit("mcp-box: --boxes and --box choose what this install serves; not with --url")
    if client == "claude-desktop":
        raise SystemExit(
            "mcp-box: Claude Desktop's config file starts local servers only; add a remote server "
            "under Settings > Connectors, or install this one locally (without --url)"
        )
    entry: dict[str, Any] = {"url": args.url} if client == "cursor" else {"type": "http", "url": args.url}
    inputs: list[dict[str, Any]] = []
    if args.bearer:
        secret = {"vscode": f"${{input:{token_input(args.name)}}}", "cursor": f"${{env:{TOKEN_ENV}}}"}
        entry["headers"] = {"Authorization": f"Bearer {secret.get(client, f'${{{TOKEN_ENV}}}')}"}
    if args.bearer and client == "vscode":
        inputs.append(
            {
                "type": "promptString",
                "id": token_input(args.name),
                "description": f"Bearer token of the MCP server {args.name} ({args.url})",
                "password": True,
            }
        )
    return entry, inputs


def token_input(name: str) -> str:
    return f"{name}-token"


def servers_key(client: str) -> str:
    return "servers" if client == "vscode" else "mcpServers"


def config_for(client: str, name: str, entry: dict[str, Any], inputs: list[dict[str, Any]]) -> dict[str, Any]:
    config: dict[str, Any] = {servers_key(client): {name: entry}}
    if inputs:
        config["inputs"] = inputs
    return config


def is_ours(entry: Any) -> bool:
    """An entry `install` may replace or remove: one that starts mcp_box_server, or an HTTP one
    (nothing in a URL entry says whose server it is; it goes by the name we are given)."""
    if not isinstance(entry, dict):
        return False
    args = entry.get("args")
    return "url" in entry or (isinstance(args, list) and "mcp_box_server" in args)


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.cli.install_cmd import print_config

    return print_config(args.client, args)
