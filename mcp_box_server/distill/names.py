"""Distinct tool names: two tools a student cannot tell apart are worse than one.

Clashes left after consolidation (two parts of a cluster both merged into
`convert_length`, two tasks' tools both called `quantity`) are first merged when
one tool passes the other's tasks (the pipeline's dedupe); the rest are renamed
by the teacher, who sees their cards and proposes names that say what each does.
A rename is checked again in the sandbox; when the teacher gives no usable names,
emit falls back to numbered suffixes.
"""

from __future__ import annotations

import io
import re
import tokenize

from mcp_box_server.distill.cards import card
from mcp_box_server.distill.extract import Call, fenced_blocks, loads, strip_reasoning
from mcp_box_server.distill.prompts import render
from mcp_box_server.distill.records import Tool
from mcp_box_server.distill.teacher import NotCached, Teacher, TeacherFailed

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def rename(tool: Tool, new: str) -> Tool:
    """`tool` with its function (definition, recursive calls, validated calls) renamed."""
    calls = {task_id: Call(new, call.arguments) for task_id, call in tool.calls.items()}
    return Tool(
        new,
        rename_source(tool.source, tool.function, new),
        calls,
        dict(tool.results),
        tool.origin,
        tool.members,
    )


def rename_source(source: str, old: str, new: str) -> str:
    """Every identifier `old` becomes `new`; strings (a mode called like the tool) stay as they are."""
    lines = source.splitlines(keepends=True)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in reversed([t for t in tokens if t.type == tokenize.NAME and t.string == old]):
        row, col = token.start
        lines[row - 1] = lines[row - 1][:col] + new + lines[row - 1][col + len(old) :]
    return "".join(lines)


def clashes(tools: list[Tool]) -> dict[str, list[Tool]]:
    """Function name -> the tools sharing it, for names used more than once."""
    by_name: dict[str, list[Tool]] = {}
    for tool in tools:
        by_name.setdefault(tool.function, []).append(tool)
    return {name: same for name, same in by_name.items() if len(same) > 1}


async def ask_names(
    teacher: Teacher, system: str, function: str, same: list[Tool], taken: set[str], limit: int
) -> list[str] | str:
    """A distinct new name per tool in `same`, in order; or why the teacher gave none."""
    listing = "\n".join(f"{n}. {card(function, t.source, t.function)}" for n, t in enumerate(same, start=1))
    prompt = render("rename", function=function, tools=listing, limit=limit)
    try:
        answer = await teacher.ask(
            [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        )
    except NotCached:
        return "not in the cache (dry run)"
    except TeacherFailed as exc:
        return f"no reply from the teacher: {exc}"
    return parse_names(answer.text, len(same), taken, limit)


def parse_names(text: str, count: int, taken: set[str], limit: int) -> list[str] | str:
    text = strip_reasoning(text)
    payloads = [body for _, body in fenced_blocks(text) if body.lstrip().startswith("{")]
    try:
        data = loads(payloads[0] if payloads else text[text.find("{") : text.rfind("}") + 1])
    except ValueError:
        return "the renaming reply holds no JSON object"
    if not isinstance(data, dict):
        return "the renaming reply holds no JSON object"
    names = [data.get(str(n)) for n in range(1, count + 1)]
    if not all(isinstance(n, str) and _NAME.fullmatch(n) and len(n) <= limit for n in names):
        return f"the new names must be snake_case of at most {limit} characters: {names}"
    if len(set(names)) < count or taken & set(names):  # type: ignore[arg-type]
        return f"the new names are not distinct from each other and the other tools: {names}"
    return names  # type: ignore[return-value]
