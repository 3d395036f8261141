"""Consolidation that scales: prompts of bounded size, calls derived rather than asked for.

The teacher sees the members' code and a small sample of their tasks, never the
whole task list, and answers with one merged tool plus, per member, a *mapping*:
how a call of the member becomes a call of the merged tool. The mapping is a
call template whose string values `"$name"` stand for the member's argument
`name`; every member task's validated call is mapped through it, so the merged
tool is checked on every task without the teacher writing a call per task.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from mcp_box_server.distill.extract import Call, Reply
from mcp_box_server.distill.prompts import render
from mcp_box_server.distill.records import Tool
from mcp_box_server.distill.tasks import Task

MAX_MEMBERS = 6  # tools per consolidation prompt; a larger cluster is merged in parts
SAMPLE_TASKS = 2  # example tasks shown per member
PROMPT_BUDGET = 16_000  # characters; a longer prompt is split before it is sent


def parts(members: list[Tool], size: int = MAX_MEMBERS) -> list[list[Tool]]:
    """A cluster cut into consecutive parts of at most `size`, sizes as even as possible."""
    count = -(-len(members) // size)
    step = -(-len(members) // count) if count else 0
    return [members[i : i + step] for i in range(0, len(members), step)] if members else []


def prompt(members: list[Tool], tasks: dict[str, Task], sample: int = SAMPLE_TASKS) -> str:
    """The consolidation prompt: each member's code and at most `sample` of its tasks."""
    blocks = []
    for index, member in enumerate(members, start=1):
        shown = list(member.calls.items())[:sample]
        lines = [
            f"- {_one_line(tasks[task_id].question)} (solved by arguments {json.dumps(call.arguments)})"
            for task_id, call in shown
        ]
        more = len(member.calls) - len(shown)
        if more:
            lines.append(f"- ... and {more} more task(s) of the same kind")
        blocks.append(
            render(
                "consolidate_member",
                index=index,
                function=member.function,
                source=member.source.rstrip(),
                tasks="\n".join(lines),
            )
        )
    return render("consolidate", members="\n\n".join(blocks))


def mapped_calls(reply: Reply, members: list[Tool]) -> dict[str, Call] | str:
    """Every member task's call, mapped onto the merged tool; or why the mappings do not do it.

    An entry names its member by number (unambiguous when two share a name) or by name.
    """
    templates = {tag: call for tag, call in reply.calls if tag is not None}
    calls: dict[str, Call] = {}
    for number, member in enumerate(members, start=1):
        template = templates.get(str(number)) or templates.get(member.function)
        if template is None:
            return f"no mapping given for tool {number} ({member.function}): give one entry per old tool"
        defaults = _defaults(member)
        for task_id, call in member.calls.items():
            try:
                calls[task_id] = apply(template, {**defaults, **call.arguments})
            except KeyError as exc:
                return (
                    f"the mapping for {member.function} uses ${exc.args[0]}, but {member.function} has "
                    f"no parameter {exc.args[0]}"
                )
    return calls


def apply(template: Call, arguments: dict[str, Any]) -> Call:
    """`template` with each `"$name"` replaced by `arguments[name]` (KeyError names a missing one)."""
    mapped = {}
    for key, value in template.arguments.items():
        if isinstance(value, str) and value.startswith("$") and value[1:].isidentifier():
            if value[1:] not in arguments:
                raise KeyError(value[1:])
            value = arguments[value[1:]]
        mapped[key] = value
    return Call(template.function, mapped)


def _defaults(member: Tool) -> dict[str, Any]:
    """The literal defaults of the member's parameters (calls usually pass every one anyway)."""
    fn = next(
        n
        for n in ast.parse(member.source).body
        if isinstance(n, ast.FunctionDef) and n.name == member.function
    )
    args = fn.args.posonlyargs + fn.args.args
    pairs = list(zip(args[len(args) - len(fn.args.defaults) :], fn.args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None]
    defaults = {}
    for arg, node in pairs:
        try:
            defaults[arg.arg] = ast.literal_eval(node)
        except ValueError:
            continue
    return defaults


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
