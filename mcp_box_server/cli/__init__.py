"""The `mcp-box` command line: a thin dispatcher over one module per subcommand.

Each subcommand module exposes `register(subparsers)`, which adds its parser and
sets `run=callable(args) -> int`. Modules import their heavy dependencies inside
`run`, so `mcp-box --help` and `mcp-box serve` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from mcp_box_server import __version__

ORDER = (
    "serve",
    "ls",
    "show",
    "check",
    "new",
    "call",
    "install",
    "uninstall",
    "config",
    "pack",
    "doctor",
    "ask",
    "eval",
    "distill",
)


def subcommands() -> list[str]:
    """Every `<name>_cmd` module in this package, in help order."""
    names = [m.name[:-4] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_cmd")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-box",
        description="Serve MCP boxes, use them from small local models, distill new ones.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-box {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in subcommands():
        module = importlib.import_module(f"mcp_box_server.cli.{name}_cmd")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return _run(build_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def serve_main() -> int:
    """Entry point of `mcp-box-server`, an alias of `mcp-box serve` that names itself in `--help`."""
    from mcp_box_server.cli import serve_cmd

    subparsers = argparse.ArgumentParser(prog="mcp-box").add_subparsers()
    serve_cmd.register(subparsers)
    parser: argparse.ArgumentParser = subparsers.choices["serve"]
    parser.prog = "mcp-box-server"
    return _run(parser.parse_args(sys.argv[1:]))
