"""Pull a tool module and its calls out of a teacher's free-text reply.

Teachers are asked for one ```python block (the module) and one ```json block
(the call), but real models label fences loosely, add prose, or put the JSON
bare on a line; anything recoverable is recovered, anything else is a clear
error that goes back to the teacher.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


class ExtractError(ValueError):
    """The reply holds no usable module or call; the message says what was missing."""


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    source: str
    calls: list[tuple[str | None, Call]]  # (task id or None, call)


def extract(text: str) -> Reply:
    """The module source and every call in a reply; raises `ExtractError`."""
    text = _THINK.sub("", text)
    blocks = [(lang.lower(), body.strip("\n")) for lang, body in _FENCE.findall(text)]
    source = _pick_source(blocks)
    if source is None:
        raise ExtractError("no ```python block with the tool module found in the reply")
    payloads = [body for lang, body in blocks if lang == "json" or (lang == "" and _json(body) is not None)]
    if not payloads:
        payloads = [line for line in text.splitlines() if line.strip().startswith(("{", "["))]
    calls: list[tuple[str | None, Call]] = []
    for payload in payloads:
        data = _json(payload)
        if data is not None:
            calls.extend(_calls(data))
    if not calls:
        raise ExtractError('no call found: add a ```json block like {"function": "name", "arguments": {...}}')
    return Reply(source + "\n", calls)


def _pick_source(blocks: list[tuple[str, str]]) -> str | None:
    """The python block that defines a function; the longest if several do."""
    candidates = [
        body
        for lang, body in blocks
        if lang in {"python", "py", "python3", ""} and re.search(r"^def \w+\(", body, re.MULTILINE)
    ]
    return max(candidates, key=len) if candidates else None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _calls(data: Any) -> list[tuple[str | None, Call]]:
    items = data if isinstance(data, list) else [data]
    calls = []
    for item in items:
        if not isinstance(item, dict):
            continue
        function = item.get("function") or item.get("name") or item.get("tool")
        arguments = item.get("arguments", item.get("parameters", {}))
        if isinstance(arguments, str):
            arguments = _json(arguments)
        if isinstance(function, str) and isinstance(arguments, dict):
            task = item.get("task") or item.get("task_id") or item.get("id")
            calls.append((str(task) if task is not None else None, Call(function, arguments)))
    return calls


def function_name(source: str) -> str | None:
    """The module's one public function, when it parses and has exactly one."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    return names[0] if len(names) == 1 else None
