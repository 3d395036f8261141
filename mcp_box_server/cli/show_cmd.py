"""`mcp-box show TOOL|BOX`: what a tool takes, as its client will see it.

`ls` names tools; this prints each one's description and parameters (type, default,
whether required, what it means), read from the JSON schema the server publishes.
Where this OS runs no worker (Windows), from the box's source instead, as `ls` does.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import json
import sys
import textwrap
from typing import Any

from mcp_box_server.cli.common import add_box_options, box_names, box_roots, setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="show a tool's parameters, types, defaults and description (or every tool of a box)",
        description="Load the box in a real worker and describe NAME: a tool (math_solve_24) "
        "or a box (math).",
    )
    parser.add_argument("name", metavar="NAME", nargs="+", help="a tool or a box name")
    add_box_options(parser)
    parser.add_argument("--json", action="store_true", help="print each tool's name, description and schema")
    parser.set_defaults(run=run)


def type_name(schema: dict[str, Any]) -> str:
    """A JSON schema as a short type: list[integer], integer | string, 'a' | 'b'."""
    if "anyOf" in schema:
        return " | ".join(type_name(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(kind)
    if kind == "array":
        items = schema.get("items")
        return f"list[{type_name(items)}]" if isinstance(items, dict) and items else "list"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"dict[string, {type_name(schema['additionalProperties'])}]"
    return str(kind)


def describe(name: str, description: str, parameters: dict[str, Any]) -> str:
    """One tool as text: signature line, description, then one block per parameter."""
    properties: dict[str, Any] = parameters.get("properties", {})
    required = set(parameters.get("required", []))
    lines = [name, textwrap.indent(description.strip() or "(no description)", "  "), "  parameters:"]
    if not properties:
        lines[-1] += " none"
    for parameter, schema in properties.items():
        head = f"    {parameter}: {type_name(schema)}"
        if parameter in required:
            head += "  (required)"
        elif "default" in schema:
            head += f" = {json.dumps(schema['default'])}"
        lines.append(head)
        if schema.get("description"):
            lines.append(textwrap.indent(textwrap.fill(schema["description"], 96), "        "))
    return "\n".join(lines)


async def load(args: argparse.Namespace, names: list[str]) -> list[dict[str, Any]]:
    """The tools NAMES stand for (a tool, or every tool of a box), from real workers."""
    from mcp_box_server.cli.call_cmd import suggestion, unknown_hint
    from mcp_box_server.cli.ls_cmd import read_from_source, source_only
    from mcp_box_server.server.registry import BoxRegistry

    boxes = set(args.box) if args.box else {name.split("_", 1)[0] for name in names}
    status: list[dict[str, Any]] = []  # the boxes read from source, for the hint
    if source_only():
        status, specs = read_from_source(box_roots(args), boxes)
    else:
        registry = BoxRegistry(box_roots(args), boxes)
        await registry.start()
        try:
            specs = list(registry.tools.values())
        finally:
            await registry.close()
    found: list[dict[str, Any]] = []
    for name in names:
        picked = [spec for spec in specs if name in (spec.name, spec.box)]
        if not picked:
            if source_only():
                listed = [spec.name for spec in specs]
                hint = suggestion(listed, difflib.get_close_matches(name, listed), status, name)
            else:
                hint = await unknown_hint(args, name)
            if name.split("_", 1)[0] not in box_names(box_roots(args)):
                hint += "; a box of your own: add its folder with --boxes DIR"
            raise SystemExit(f"mcp-box show: no tool or box named '{name}'{hint}")
        found += [{"name": s.name, "description": s.description, "parameters": s.parameters} for s in picked]
    return found


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.cli.ls_cmd import source_only

    setup_logging("ERROR")  # a box's load error is part of the answer, not a log line
    tools = asyncio.run(load(args, args.name))
    if refusal := source_only():
        print(f"(read from the source, no box code run: {refusal})", file=sys.stderr)
    if args.json:
        print(json.dumps(tools, indent=2, ensure_ascii=False))
        return 0
    print("\n\n".join(describe(**tool) for tool in tools), file=sys.stdout)
    return 0
