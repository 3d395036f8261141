"""`mcp-box install CLIENT`: add this install to a client's config file, in place.

Merges one entry into the file the client reads (other servers and keys untouched),
keeps a backup of the previous file (user scope), and writes nothing when the entry is
already there. `--print` only prints the JSON, as `mcp-box config` does.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import sys
from typing import Any
from urllib.parse import quote

from mcp_box_server.cli import skill_install
from mcp_box_server.cli.clients import (
    ConfigFileError,
    config_file,
    read_config,
    servers,
    write_config,
)
from mcp_box_server.cli.config_cmd import (
    CLIENTS,
    add_entry_options,
    add_scope_option,
    client_entry,
    config_for,
    install_line,
    is_ours,
    servers_key,
)

NEXT_STEP = {
    "claude-desktop": "quit and reopen Claude Desktop to start it",
    "claude-code": "start `claude` (a project server is approved once, when Claude Code asks)",
    "cursor": "Cursor picks it up under Settings > MCP",
    "vscode": "VS Code lists it under 'MCP: List Servers'; start it from there",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "install",
        help="add this server to Claude Desktop, Claude Code, Cursor or VS Code (edits its config file)",
        description="Merge an entry that starts this very install into the client's config file. "
        "Other servers are left alone, the previous file is kept as *.mcp-box.bak (user scope), and "
        "running it again changes nothing. No file is written through a link. `mcp-box uninstall "
        "CLIENT` removes the entry.",
    )
    parser.add_argument("client", choices=(*CLIENTS, "skill"), help="a client, or `skill` (see below)")
    add_scope_option(parser)
    add_entry_options(parser)
    parser.add_argument("--print", action="store_true", help="print the JSON instead of writing the file")
    skill_install.add_arguments(parser)  # `install skill BOX --client C`: an Agent Skill, not a server
    parser.set_defaults(run=run)


def cursor_deeplink(name: str, entry: dict[str, Any]) -> str:
    """The link that asks Cursor to install `entry` under `name`."""
    config = base64.b64encode(json.dumps(entry).encode()).decode()
    return f"cursor://anysphere.cursor-deeplink/mcp/install?name={quote(name)}&config={quote(config)}"


def print_config(client: str, args: argparse.Namespace) -> int:
    entry, inputs = client_entry(client, args, args.scope)
    print(json.dumps(config_for(client, args.name, entry, inputs), indent=2))
    try:
        where = str(config_file(client, args.scope).path)
    except ConfigFileError as error:
        where = str(error)
    print(
        f'# merge this into {where} (under "{servers_key(client)}"), or run: {install_line(client, args)}',
        file=sys.stderr,
    )
    if client == "cursor":
        print(f"# or open: {cursor_deeplink(args.name, entry)}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.client == "skill":
        return skill_install.run(args)
    if args.skill_boxes or args.skill_client:
        raise SystemExit(f"mcp-box install {args.client}: BOX and --client go with `install skill`")
    if args.print:
        return print_config(args.client, args)
    entry, inputs = client_entry(args.client, args, args.scope)
    try:
        config = config_file(args.client, args.scope)
        path = config.path
        data, previous = read_config(config)
        table = servers(data, servers_key(args.client), path)
        if args.name in table and table[args.name] == entry and _has_inputs(data, inputs):
            print(f"mcp-box: '{args.name}' is already in {path}; nothing changed")
            return 0
        if args.name in table and not is_ours(table[args.name]):
            print(
                f"mcp-box install: {path} already has a server named '{args.name}' that is not mcp-box; "
                "left alone (choose another --name)",
                file=sys.stderr,
            )
            return 1
        table[args.name] = entry
        _merge_inputs(data, inputs)
        backup = write_config(config, data, previous)
    except (ConfigFileError, OSError) as error:
        print(f"mcp-box install: {error}; add this yourself:", file=sys.stderr)
        print(json.dumps(config_for(args.client, args.name, entry, inputs), indent=2))
        return 1
    kept = f" (previous file kept as {backup})" if backup else ""
    print(f"mcp-box: added '{args.name}' to {path}{kept}")
    _warn_where_it_cannot_start(entry, args)
    print(f"next: {NEXT_STEP[args.client]}")
    if args.client == "cursor":
        print(f"or install it with one click: {cursor_deeplink(args.name, entry)}")
    return 0


def _warn_where_it_cannot_start(entry: dict[str, Any], args: argparse.Namespace) -> None:
    """Say so when the entry names a command that will not serve when the client starts it."""
    if entry.get("command") == "mcp-box" and shutil.which("mcp-box") is None:
        print(
            "mcp-box: note: the project entry runs `mcp-box` from PATH, and it is not on PATH here; "
            "install it where clients find it (`pipx install .` or `uv tool install .` in a checkout)",
            file=sys.stderr,
        )
    if args.url or args.docker or args.wsl:
        return
    from mcp_box_server.runtime.platform import current  # what `serve` itself asks before it starts

    if current().SERVE_REFUSAL:
        print(
            "mcp-box: note: this entry runs `mcp-box serve` on this system, where it refuses to serve "
            f"boxes; `mcp-box install {args.client} --wsl` (mcp-box installed in WSL2) or `--docker` "
            "(the image of this repository's Dockerfile) writes one that runs it there",
            file=sys.stderr,
        )


def _has_inputs(data: dict[str, Any], inputs: list[dict[str, Any]]) -> bool:
    present = data.get("inputs")
    return all(isinstance(present, list) and wanted in present for wanted in inputs)


def _merge_inputs(data: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
    """VS Code inputs by id: ours replaced, the user's own kept."""
    if not inputs:
        return
    present = data.get("inputs")
    if not isinstance(present, list):
        present = data["inputs"] = []
    ids = {wanted["id"] for wanted in inputs}
    present[:] = [item for item in present if not (isinstance(item, dict) and item.get("id") in ids)]
    present.extend(inputs)
