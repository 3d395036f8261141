"""`mcp-box serve`: run the MCP server over stdio, streamable HTTP or SSE."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys

from mcp_box_server.cli.common import add_box_options, box_roots, setup_logging
from mcp_box_server.server.binding import origin


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve boxes over MCP (stdio, streamable HTTP at /mcp, SSE at /sse)",
        description="Serve MCP boxes to any MCP client. Logs go to stderr.",
    )
    add_box_options(parser)
    parser.add_argument("--transport", choices=("stdio", "http", "sse"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="bind address for http/sse (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8765, help="port for http/sse (default 8765)")
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token required from HTTP clients (default: $MCP_BOX_TOKEN); "
        "required when binding a non-loopback host",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="extra Host header value accepted over HTTP (repeatable; e.g. a public name)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        type=_origin,
        default=[],
        metavar="ORIGIN",
        help="browser Origin accepted over HTTP besides the server's own host and port "
        "(repeatable; e.g. https://app.example.com)",
    )
    parser.add_argument(
        "--max-timeout",
        type=seconds,
        default=300.0,
        metavar="SECONDS",
        help="no tool call runs longer, whatever its box asks (default 300)",
    )
    parser.add_argument(
        "--max-sessions",
        type=count,
        default=256,
        metavar="N",
        help="streamable-HTTP sessions open at once; more get 503 (default 256)",
    )
    parser.add_argument(
        "--session-idle-timeout",
        type=seconds,
        default=600.0,
        metavar="SECONDS",
        help="close a streamable-HTTP session idle this long (default 600)",
    )
    parser.add_argument(
        "--body-timeout",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="over HTTP, a request body must arrive whole this long after its head, or its "
        "connection is closed (408); raise it for big uploads over slow links (default 60)",
    )
    parser.add_argument(
        "--max-workers",
        type=count,
        default=None,
        metavar="N",
        help="worker processes of all boxes together, shared fairly; each box also stays "
        "within its own 'workers' (default: 2 per core this process may use, container CPU quota included)",
    )
    parser.add_argument(
        "--worker-idle",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="an idle worker retires after this long; 'keep_warm = true' in box.toml keeps one (default 30)",
    )
    parser.add_argument(
        "--max-result-mb",
        type=result_mb,
        default=64,
        metavar="N",
        help="no tool result is larger, whatever its box's max_result_mb; and results larger than 1 MB "
        "being passed on hold at most this much at once, the others wait (default and most 64)",
    )
    parser.add_argument(
        "--replica-id",
        type=replica_id,
        default=os.environ.get("MCP_BOX_REPLICA_ID") or None,
        metavar="NAME",
        help="behind a load balancer: start every session id this replica hands out with 'NAME.', "
        "so the balancer can route a session to its replica (default: $MCP_BOX_REPLICA_ID; "
        "see docs/replicas.md)",
    )
    code = parser.add_mutually_exclusive_group()
    code.add_argument(
        "--code-mode",
        action="store_const",
        const="on",
        dest="code_mode",
        default="off",
        help="also offer execute (a Python program against the boxes, in the sandbox) and get_schema "
        "(see docs/code_mode.md)",
    )
    code.add_argument(
        "--code-mode-only",
        action="store_const",
        const="only",
        dest="code_mode",
        help="offer only find_tools, get_schema and execute (for clients with many tools)",
    )
    parser.add_argument(
        "--code-timeout",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="code mode: wall time of one program, its tool calls included (default 30)",
    )
    parser.add_argument(
        "--code-memory-mb",
        type=count,
        default=512,
        metavar="MB",
        help="code mode: memory cap of a program's worker (default 512)",
    )
    parser.add_argument("--no-reload", action="store_true", help="do not watch boxes for changes")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.set_defaults(run=run)


def port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {text!r}")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number of seconds, got {text!r}")
    return value


def replica_id(text: str) -> str:
    if not re.match(r"^[a-zA-Z0-9-]{1,32}$", text):
        raise argparse.ArgumentTypeError(f"must be 1 to 32 letters, digits or '-', got {text!r}")
    return text


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def result_mb(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number of MB from 1 to 64, got {text!r}")
    return int(text)


def cannot_listen(host: str, port: int) -> str | None:
    """Why HOST:PORT cannot be bound, found before the server starts (and logs its banner), if so."""
    import errno
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server's own bind does
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return "the port is in use (another server, or an earlier mcp-box serve?); choose another --port"
        return error.strerror or str(error)
    return None


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.runtime.platform import current

    if refusal := current().SERVE_REFUSAL:  # before the server's imports: nothing else starts
        print(f"mcp-box serve: {refusal}", file=sys.stderr)
        return 2
    from mcp_box_server.server.app import ServerConfig
    from mcp_box_server.server.app import run as run_server
    from mcp_box_server.server.binding import TOKEN_ENV, is_loopback

    setup_logging(args.log_level)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if args.transport != "stdio" and not is_loopback(args.host) and not token:
        print(
            f"mcp-box serve: refusing to bind {args.host} without a token: anyone who can reach it "
            f"could run the box tools. Pass --token or set ${TOKEN_ENV}, or bind 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if args.transport != "stdio" and (problem := cannot_listen(args.host, args.port)):
        print(f"mcp-box serve: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return 2
    allowed_hosts = list(args.allow_host)
    allowed_hosts += [h for h in os.environ.get("MCP_BOX_ALLOWED_HOSTS", "").split(",") if h]
    config = ServerConfig(
        roots=box_roots(args),
        only=set(args.box) if args.box else None,
        transport=args.transport,
        host=args.host,
        port=args.port,
        token=token,
        reload=not args.no_reload,
        allowed_hosts=allowed_hosts,
        allowed_origins=list(args.allow_origin),
        max_timeout=args.max_timeout,
        max_sessions=args.max_sessions,
        session_idle_timeout=args.session_idle_timeout,
        body_timeout=args.body_timeout,
        max_workers=args.max_workers,
        worker_idle=args.worker_idle,
        max_result_mb=args.max_result_mb,
        replica_id=args.replica_id,
        code_mode=args.code_mode,
        code_timeout=args.code_timeout,
        code_memory_mb=args.code_memory_mb,
    )
    run_server(config)
    return 0


def _origin(text: str) -> str:
    """An `--allow-origin` value, checked at once: a typo is an error, not an origin never matched."""
    try:
        origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
