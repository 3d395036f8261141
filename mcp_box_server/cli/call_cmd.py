"""`mcp-box call TOOL 'ARGS'`: one call through a real worker, result printed as JSON.

With `--task` the call goes through an MCP server as an MCP task (the tool must allow it:
`task = "optional" | "required"`): a server this command starts on stdio with the same
boxes, or the one at `--url`. The task's status goes to stderr while it is polled; a
question the tool asks is put to the user on the terminal and answered with `tasks/update`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from mcp_box_server.cli.common import add_box_options, box_roots, setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "call",
        help="call one tool and print its result",
        description="Call TOOL (e.g. math_solve_24) with ARGS, a JSON object, in a real worker.",
    )
    parser.add_argument("tool", metavar="TOOL")
    parser.add_argument("arguments", metavar="ARGS", nargs="?", default="{}")
    parser.add_argument(
        "--task",
        action="store_true",
        help="make the call an MCP task through a server (for long calls): its status is printed "
        "to stderr as it is polled, and its questions are asked here",
    )
    parser.add_argument(
        "--url",
        metavar="URL",
        help="with --task: the streamable-HTTP endpoint of a running server (e.g. "
        "http://127.0.0.1:8765/mcp) instead of one started here",
    )
    add_box_options(parser)
    parser.set_defaults(run=run)


async def call(args: argparse.Namespace, arguments: dict[str, Any]) -> Any:
    from mcp_box_server.server.registry import BoxRegistry

    box = args.tool.split("_", 1)[0]
    registry = BoxRegistry(box_roots(args), set(args.box) if args.box else {box})
    await registry.start()
    try:
        if args.tool in registry.tools:
            return await registry.call(args.tool, arguments)
    finally:
        await registry.close()
    raise SystemExit(f"mcp-box call: unknown tool '{args.tool}'{await unknown_hint(args, args.tool)}")


async def unknown_hint(args: argparse.Namespace, wanted: str) -> str:
    """Load every box to name the closest tools: this is the error path, it may take a second."""
    from mcp_box_server.server.registry import BoxRegistry

    registry = BoxRegistry(box_roots(args), set(args.box) if args.box else None)
    await registry.start()
    try:
        return suggestion(list(registry.tools), registry.closest(wanted), registry.status(), wanted)
    finally:
        await registry.close()


def suggestion(names: list[str], close: list[str], status: list[dict[str, Any]], wanted: str) -> str:
    """What to say after "unknown tool": the load error of its box first, then close names."""
    box = wanted.split("_", 1)[0]
    for state in status:
        if state["box"] == box and state["errors"] and wanted not in state["tools"]:
            more = f" (and {len(state['errors']) - 1} more: mcp-box ls)" if len(state["errors"]) > 1 else ""
            return f"; box '{box}' did not load: {state['errors'][0]}{more}"
    if close:
        return f"; did you mean {', '.join(close)}?"
    return f"; tools are named <box>_<function>, e.g. {names[0]}" if names else "; no box serves any tool"


async def call_as_task(args: argparse.Namespace, arguments: dict[str, Any]) -> Any:
    """The call as an MCP task, polled to its end; its questions asked on the terminal."""
    from mcp import StdioServerParameters
    from mcp.client.client import Client
    from mcp.shared.exceptions import MCPError

    from mcp_box_server.student.task_client import (
        TaskPolling,
        final_result,
    )

    target: Any = args.url
    if target is None:
        serve = ["-m", "mcp_box_server", "serve", "--log-level", "ERROR", "--no-bundled"]
        serve += [arg for root in box_roots(args) for arg in ("--boxes", str(root))]
        target = StdioServerParameters(command=sys.executable, args=serve)
    async with Client(target, extensions=[TaskPolling()], elicitation_callback=_terminal_only) as client:
        try:
            shown = await _run_task(client.session, args.tool, arguments)
        except MCPError as error:
            shown = {"status": "failed", "error": {"code": error.code, "message": error.message}}
    if shown is None:
        raise SystemExit(
            f"mcp-box call: '{args.tool}' answered without a task (its box does not set "
            'task = "optional" or "required" for it); drop --task'
        )
    try:
        result = final_result(shown)
    except MCPError as error:
        raise SystemExit(f"mcp-box call: {error}") from None
    if result.is_error:
        raise SystemExit("mcp-box call: " + " ".join(getattr(b, "text", "") for b in result.content))
    if result.structured_content is not None:
        return result.structured_content.get("result", result.structured_content)
    return "\n".join(getattr(block, "text", "") for block in result.content)


async def _run_task(session: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """Start the task and poll it to its end, answering its questions; None: no task was made."""
    import mcp_types

    from mcp_box_server.student.task_client import CreatedTask, task_request, wait_for

    created = await session.call_tool(tool, arguments, allow_claimed=True, allow_input_required=True)
    while isinstance(created, mcp_types.InputRequiredResult):  # a tool that asks before its task
        asked = {key: q.model_dump(by_alias=True, mode="json") for key, q in created.input_requests.items()}
        created = await session.call_tool(
            tool,
            arguments,
            input_responses=answer_on_terminal(asked),
            request_state=created.request_state,
            allow_claimed=True,
            allow_input_required=True,
        )
    if not isinstance(created, CreatedTask):
        return None
    print(f"mcp-box call: task {created.task_id}", file=sys.stderr)
    shown: dict[str, Any] = {}
    on_status = _status_line()
    while shown.get("status") not in ("completed", "failed", "cancelled"):
        shown = await wait_for(session, created, on_status=on_status)
        if shown["status"] == "input_required":
            answers = answer_on_terminal(shown.get("inputRequests") or {})
            await task_request(
                session, "tasks/update", {"taskId": created.task_id, "inputResponses": answers}
            )
    return shown


async def _terminal_only(*_: Any) -> Any:
    """Declares elicitation: a task's questions come as input_required and are asked on the terminal."""
    raise RuntimeError("questions of a task are answered through tasks/update")


def answer_on_terminal(requests: dict[str, Any]) -> dict[str, Any]:
    """Ask the user each form question of a task on the terminal (stderr, stdin)."""
    answers: dict[str, Any] = {}
    for key, request in requests.items():
        params = request.get("params") or {}
        if request.get("method") != "elicitation/create":
            raise SystemExit(
                f"mcp-box call: the task asks for {request.get('method')}, which a terminal cannot give"
            )
        print(f"mcp-box call: {params.get('message', key)}", file=sys.stderr)
        content: dict[str, Any] = {}
        for name, field in ((params.get("requestedSchema") or {}).get("properties") or {}).items():
            kind = field.get("type", "string")
            print(f"  {name} ({kind}): ", end="", file=sys.stderr, flush=True)
            text = sys.stdin.readline().strip()
            content[name] = _typed(text, kind)
        answers[key] = {"action": "accept", "content": content}
    return answers


def _typed(text: str, kind: str) -> Any:
    if kind == "boolean":
        return text.lower() in ("y", "yes", "true", "1")
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            raise SystemExit(f"mcp-box call: '{text}' is not a {kind}") from None
    return text


def _status_line() -> Any:
    """A stderr line each time the task's status changes."""
    last: list[str] = []

    def show(shown: dict[str, Any]) -> None:
        if shown.get("status") != (last[-1] if last else None):
            last.append(str(shown.get("status")))
            print(f"mcp-box call: {last[-1]}", file=sys.stderr)

    return show


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.runtime import BoxRuntimeError

    setup_logging("ERROR")  # a box's load error is part of the answer below, not a log line
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        print(f"mcp-box call: ARGS is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print("mcp-box call: ARGS must be a JSON object, e.g. '{\"numbers\": [4, 7, 8, 8]}'", file=sys.stderr)
        return 2
    if args.url and not args.task:
        print("mcp-box call: --url goes with --task", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(call_as_task(args, arguments) if args.task else call(args, arguments))
    except BoxRuntimeError as error:
        print(f"mcp-box call: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
