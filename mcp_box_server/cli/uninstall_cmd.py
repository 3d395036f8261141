"""`mcp-box uninstall CLIENT`: remove what `mcp-box install` added, and only that."""

from __future__ import annotations

import argparse
import sys

from mcp_box_server.cli.clients import ConfigFileError, config_path, read_config, write_config
from mcp_box_server.cli.config_cmd import CLIENTS, is_ours, servers_key, token_input
from mcp_box_server.cli.install_cmd import add_scope_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "uninstall",
        help="remove this server's entry from a client's config file",
        description="Remove the entry `mcp-box install` wrote (and its VS Code token input); other "
        "servers are left alone and the previous file is kept as *.mcp-box.bak.",
    )
    parser.add_argument("client", choices=CLIENTS)
    add_scope_option(parser)
    parser.add_argument("--name", default="mcp-box", help="the server's name in the client (default mcp-box)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        path = config_path(args.client, args.scope)
        data, previous = read_config(path)
        table = data.get(servers_key(args.client))
        if not isinstance(table, dict) or args.name not in table:
            print(f"mcp-box: no server named '{args.name}' in {path}; nothing changed")
            return 0
        if not is_ours(table[args.name]):
            print(
                f"mcp-box uninstall: '{args.name}' in {path} was not written by mcp-box; left alone",
                file=sys.stderr,
            )
            return 1
        del table[args.name]
        inputs = data.get("inputs")
        if args.client == "vscode" and isinstance(inputs, list):
            token = token_input(args.name)
            inputs[:] = [item for item in inputs if not (isinstance(item, dict) and item.get("id") == token)]
        backup = write_config(path, data, previous)
    except (ConfigFileError, OSError) as error:
        print(f"mcp-box uninstall: {error}", file=sys.stderr)
        return 1
    print(f"mcp-box: removed '{args.name}' from {path} (previous file kept as {backup})")
    return 0
