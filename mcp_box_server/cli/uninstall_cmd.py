"""`mcp-box uninstall CLIENT`: remove what `mcp-box install` added, and only that."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mcp_box_server.cli import skill_install
from mcp_box_server.cli.clients import ConfigFileError, config_file, read_config, remove_config, write_config
from mcp_box_server.cli.config_cmd import CLIENTS, add_scope_option, is_ours, servers_key, token_input


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "uninstall",
        help="remove this server's entry from a client's config file (or a skill `install skill` wrote)",
        description="Remove the entry `mcp-box install` wrote (and its VS Code token input); other "
        "servers are left alone and the previous file is kept as *.mcp-box.bak (user scope). A "
        "project file left with nothing else in it is deleted, with its folder if that is empty. "
        "`uninstall skill BOX --client C` removes the skill `install skill` wrote, if unchanged.",
    )
    parser.add_argument("client", choices=(*CLIENTS, "skill"), help="a client, or `skill`")
    add_scope_option(parser)
    parser.add_argument("--name", default="mcp-box", help="the server's name in the client (default mcp-box)")
    skill_install.add_arguments(parser, "uninstall")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.client == "skill":
        from mcp_box_server.cli import skill_uninstall

        return skill_uninstall.run(args)
    if args.skill_boxes or args.skill_client:
        print(f"mcp-box uninstall {args.client}: BOX and --client go with `uninstall skill`", file=sys.stderr)
        return 2
    try:
        config = config_file(args.client, args.scope)
        path = config.path
        data, previous = read_config(config)
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
        if args.scope == "project" and _is_empty(data):
            removed = remove_config(config)
            gone = " and ".join(str(item) for item in removed)
            print(f"mcp-box: removed '{args.name}'; nothing else was in {path}, so deleted {gone}")
            return 0
        backup = write_config(config, data, previous)
    except (ConfigFileError, OSError) as error:
        print(f"mcp-box uninstall: {error}", file=sys.stderr)
        return 1
    kept = f" (previous file kept as {backup})" if backup else ""
    print(f"mcp-box: removed '{args.name}' from {path}{kept}")
    return 0


def _is_empty(data: dict[str, Any]) -> bool:
    """Nothing left but the empty tables `install` itself adds."""
    return all(value in ({}, []) for value in data.values())
