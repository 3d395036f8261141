"""`mcp-box config CLIENT`: the exact JSON entry that adds this install to a client.

This module is the one place that builds client entries: `install`, `uninstall` and
`pack` use it too, so what is printed is what is written.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path, PureWindowsPath
from typing import Any

from mcp_box_server.cli.clients import SCOPES, host_platform
from mcp_box_server.cli.common import box_roots

CLIENTS = ("claude-code", "claude-desktop", "cursor", "vscode")
DOCKER_IMAGE = "mcp-box"  # `docker build -t mcp-box .`, as the README and the Dockerfile say
WORKSPACE_CLIENTS = ("cursor", "vscode")  # they expand ${workspaceFolder} in args
TOKEN_ENV = "MCP_BOX_TOKEN"  # what `mcp-box serve` reads; clients that expand variables read it too


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="print the JSON entry that adds this server to a client (writes nothing)",
        description="Print the JSON that `mcp-box install CLIENT` would merge into the client's "
        "config file; the same as `mcp-box install CLIENT --print`.",
    )
    parser.add_argument("client", choices=CLIENTS)
    add_scope_option(parser)
    add_entry_options(parser)
    parser.set_defaults(run=run)


def add_entry_options(parser: argparse.ArgumentParser) -> None:
    """What the entry starts: this install over stdio (natively, in Docker or in WSL), or a running
    server at --url."""
    parser.add_argument(
        "--boxes",
        action="append",
        type=Path,
        metavar="DIR",
        help="a box directory, or a folder of boxes, to serve beside the bundled boxes; one per flag, "
        "repeatable",
    )
    parser.add_argument("--no-bundled", action="store_true", help="serve only the --boxes folders")
    parser.add_argument("--box", action="append", metavar="NAME", help="serve only this box (repeatable)")
    parser.add_argument("--name", default="mcp-box", help="the server's name in the client (default mcp-box)")
    runner = parser.add_mutually_exclusive_group()
    runner.add_argument(
        "--url",
        help="connect to a running server (e.g. https://host/mcp) instead of starting this install",
    )
    runner.add_argument(
        "--docker",
        nargs="?",
        const=DOCKER_IMAGE,
        metavar="IMAGE",
        help=f"start the server in a container of IMAGE (default {DOCKER_IMAGE}, built from this "
        "repository's Dockerfile) over stdio; --boxes folders are mounted read-only",
    )
    runner.add_argument(
        "--wsl",
        action="store_true",
        help="start `mcp-box serve` inside WSL2 (for Windows: install mcp-box there first)",
    )
    parser.add_argument(
        "--bearer",
        action="store_true",
        help=f"the server at --url wants a bearer token: VS Code asks for it (an input), Cursor and "
        f"Claude Code read ${TOKEN_ENV}; the token itself is never written",
    )


def add_scope_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        choices=SCOPES,
        default="user",
        help="user: the client's own config file (default); project: the one in the current folder "
        "(.mcp.json, .cursor/mcp.json, .vscode/mcp.json), meant to be committed and shared",
    )


def server_entry(client: str, args: argparse.Namespace, scope: str = "user") -> dict[str, Any]:
    """The command that starts the server over stdio.

    User scope runs this very interpreter, so the entry works whatever PATH the client has.
    A project's file is committed and shared, so it names no path of this machine: it runs
    `mcp-box` from PATH, with box folders relative to the project (clients start project
    servers in the project folder; Cursor and VS Code are told so with ${workspaceFolder}).
    """
    box_roots(args)  # every --boxes exists and every --box names a box there
    folders = [_box_folder(folder, client, scope, wsl=args.wsl) for folder in args.boxes or []]
    chosen = [arg for name in args.box or [] for arg in ("--box", name)]
    if args.no_bundled:
        chosen.append("--no-bundled")
    if args.docker:
        mounts = [arg for i, folder in enumerate(folders) for arg in ("-v", f"{folder}:/boxes/{i}:ro")]
        inside = [arg for i in range(len(folders)) for arg in ("--boxes", f"/boxes/{i}")]
        docker = ["run", "-i", "--rm", "--entrypoint", "mcp-box", *mounts, args.docker, "serve"]
        return {"command": "docker", "args": [*docker, *inside, *chosen]}
    serve = ["serve", *[arg for folder in folders for arg in ("--boxes", folder)], *chosen]
    if args.wsl:
        return {"command": "wsl.exe", "args": ["-e", "mcp-box", *serve]}
    if scope == "project":
        return {"command": "mcp-box", "args": serve}
    return {"command": sys.executable, "args": ["-m", "mcp_box_server", *serve]}


def _box_folder(folder: Path, client: str, scope: str, *, wsl: bool) -> str:
    """How the entry names a --boxes folder: relative to a project, as WSL sees it, or absolute."""
    absolute = folder.resolve()
    if scope == "project" and absolute.is_relative_to(Path.cwd().resolve()):
        relative = absolute.relative_to(Path.cwd().resolve()).as_posix()
        return f"${{workspaceFolder}}/{relative}" if client in WORKSPACE_CLIENTS else f"./{relative}"
    if scope == "project":
        print(
            f"mcp-box: note: {absolute} is outside the project folder; the entry names it by its "
            "absolute path, which other machines may not have",
            file=sys.stderr,
        )
    return wsl_path(str(absolute)) if wsl else str(absolute)


def wsl_path(path: str) -> str:
    """A Windows drive path as WSL mounts it (C:\\Users\\me -> /mnt/c/Users/me); others as they are."""
    drive = PureWindowsPath(path).drive
    if len(drive) != 2 or drive[1] != ":":
        return path
    rest = "/".join(PureWindowsPath(path).parts[1:])
    return f"/mnt/{drive[0].lower()}/{rest}".rstrip("/")


def install_line(client: str, args: argparse.Namespace) -> str:
    """The `mcp-box install` command that writes what `config` printed, options included."""
    words = ["mcp-box", "install", client]
    if args.scope != "user":
        words += ["--scope", args.scope]
    words += [arg for folder in args.boxes or [] for arg in ("--boxes", str(folder))]
    words += [arg for name in args.box or [] for arg in ("--box", name)]
    if args.no_bundled:
        words.append("--no-bundled")
    if args.name != "mcp-box":
        words += ["--name", args.name]
    if args.url:
        words += ["--url", args.url, *(["--bearer"] if args.bearer else [])]
    if args.docker:
        words.append("--docker" if args.docker == DOCKER_IMAGE else f"--docker={args.docker}")
    if args.wsl:
        words.append("--wsl")
    return subprocess.list2cmdline(words) if host_platform() == "win32" else shlex.join(words)


def client_entry(
    client: str, args: argparse.Namespace, scope: str = "user"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The entry in `client`'s own dialect, and the VS Code inputs it refers to."""
    if args.bearer and not args.url:
        raise SystemExit("mcp-box: --bearer goes with --url (a local server over stdio needs no token)")
    if not args.url:
        entry = server_entry(client, args, scope)
        return ({"type": "stdio", **entry} if client in ("vscode", "claude-code") else entry), []
    if args.boxes or args.box or args.no_bundled:
        raise SystemExit(
            "mcp-box: --boxes, --no-bundled and --box choose what this install serves; not with --url"
        )
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
    """An entry `install` may replace or remove: one that starts mcp_box_server or `mcp-box`
    (natively, in Docker, in WSL), or an HTTP one (nothing in a URL entry says whose server it
    is; it goes by the name we are given)."""
    if not isinstance(entry, dict):
        return False
    args = entry.get("args")
    command = PureWindowsPath(str(entry.get("command", ""))).stem  # also takes / paths apart
    starts = isinstance(args, list) and any(arg in ("mcp_box_server", "mcp-box") for arg in args)
    ours = command == "mcp-box" or starts
    return "url" in entry or ours


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.cli.install_cmd import print_config

    return print_config(args.client, args)
