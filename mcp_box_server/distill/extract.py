"""Pull a tool module and its calls out of a teacher's free-text reply.

Teachers are asked for one ```python block (the module) and one ```json block
(the call), but real models wrap them in prose, think first (`<think>` blocks),
add a pytest block after the tool, fence with `~~~`, write the call with Python
literals or `//` comments, or put the JSON bare on a line. Anything recoverable
is recovered; anything else is a clear error that goes back to the teacher.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(
    r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[A-Za-z0-9_+.-]*)[^\n]*\n(?P<body>.*?)(?P=fence)", re.DOTALL
)
_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_CLOSE = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)
_OPEN = re.compile(r"^\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_DEF = re.compile(r"^(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(", re.MULTILINE)
PYTHON_LANGS = frozenset({"python", "py", "python3", ""})
JSON_LANGS = frozenset({"json", "jsonc", "json5", ""})
_LITERALS = {"true": "True", "false": "False", "null": "None"}


class ExtractError(ValueError):
    """The reply holds no usable module or call; the message says what was missing."""


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Example:
    """A helper's example call and the result the teacher expects from it."""

    helper: str  # as defined in the module, leading underscore included
    arguments: dict[str, Any]
    expect: Any


@dataclass(frozen=True, slots=True)
class Reply:
    source: str
    calls: list[tuple[str | None, Call]]  # (task id, member tool or None; call)
    examples: tuple[Example, ...] = ()  # helpers the teacher offers as sub-step tools


def strip_reasoning(text: str) -> str:
    """The reply without its reasoning: closed think blocks, text before a lone closing tag
    (the opening one was in the chat template), or all of it when a think block never closes."""
    text = _REASONING.sub("", text)
    closing = list(_CLOSE.finditer(text))
    if closing:
        return text[closing[-1].end() :]
    return "" if _OPEN.match(text) else text


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every ``` or ~~~ fenced block, in order."""
    return [(m["lang"].lower(), m["body"].strip("\n")) for m in _FENCE.finditer(text)]


def extract(text: str) -> Reply:
    """The module source and every call in a reply; raises `ExtractError`."""
    text = strip_reasoning(text)
    blocks = fenced_blocks(text)
    calls, examples, bad_json = _all_calls(text, blocks)
    source = _pick_source(blocks, [call.function for _, call in calls])
    if source is None:
        raise ExtractError("no ```python block with the tool module found in the reply")
    if not calls:
        if bad_json:
            raise ExtractError(f"the ```json block with the call is not valid JSON: {bad_json}")
        raise ExtractError('no call found: add a ```json block like {"function": "name", "arguments": {...}}')
    return Reply(_synchronous(source) + "\n", calls, tuple(examples))


def _all_calls(
    text: str, blocks: list[tuple[str, str]]
) -> tuple[list[tuple[str | None, Call]], list[Example], str]:
    """Calls and helper examples from JSON blocks (or bare JSON lines), and the first parse error."""
    payloads = [body for lang, body in blocks if lang in JSON_LANGS and body.lstrip()[:1] in ("{", "[")]
    if not payloads:
        payloads = [line for line in text.splitlines() if line.strip().startswith(("{", "["))]
    calls: list[tuple[str | None, Call]] = []
    examples: list[Example] = []
    bad = ""
    for payload in payloads:
        try:
            data = loads(payload)
        except ValueError as exc:
            bad = bad or str(exc)
            continue
        calls.extend(_calls(data))
        examples.extend(_examples(data))
    return calls, examples, bad


def _pick_source(blocks: list[tuple[str, str]], wanted: list[str]) -> str | None:
    """The last python block defining a function a call names; else the longest non-test block.

    A reply often ends with a pytest block that calls the tool: it must not become the tool.
    """
    code = [body for lang, body in blocks if lang in PYTHON_LANGS and _DEF.search(body)]
    defining = [body for body in code if set(_DEF.findall(body)) & set(wanted)]
    if defining:
        return defining[-1]
    tools = [body for body in code if not _is_test(body)] or code
    return max(tools, key=len) if tools else None


def _is_test(body: str) -> bool:
    names = [n for n in _DEF.findall(body) if not n.startswith("_")]
    return bool(re.search(r"^\s*(import|from)\s+(pytest|unittest)\b", body, re.MULTILINE)) or (
        bool(names) and all(n.startswith("test") for n in names)
    )


def _synchronous(source: str) -> str:
    """`async def` without any await becomes `def`: tools run synchronously in the worker."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.splitlines()
    for node in tree.body:
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        if any(isinstance(n, ast.Await | ast.AsyncFor | ast.AsyncWith) for n in ast.walk(node)):
            raise ExtractError(f"'{node.name}' awaits: tools are plain synchronous functions (no async)")
        index = next(i for i in range(node.lineno - 1, len(lines)) if "async" in lines[i])
        lines[index] = re.sub(r"async\s+def", "def", lines[index], count=1)
    return "\n".join(lines)


def loads(text: str) -> Any:
    """JSON as models write it: also Python literals, comments and trailing commas.

    Raises ValueError with the JSON parser's message when nothing reads it.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        error = exc
    try:
        return ast.literal_eval(_pythonic(text))
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise ValueError(f"{error.msg} (line {error.lineno}, column {error.colno})") from None


def _pythonic(text: str) -> str:
    """Comments and trailing commas dropped, JSON literals spelled as Python, strings untouched."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            end = i + 1
            while end < n and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i) or char == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif char == ",":
            rest = text[i + 1 :].lstrip()
            if not rest.startswith(("}", "]")):
                out.append(char)
            i += 1
        elif char.isalpha():
            match = re.match(r"[A-Za-z_]\w*", text[i:])
            word = match.group(0) if match else char
            out.append(_LITERALS.get(word, word))
            i += len(word)
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _examples(data: Any) -> list[Example]:
    items = data if isinstance(data, list) else [data]
    return [
        Example(item["helper"], item["arguments"], item["expect"])
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("helper"), str)
        and isinstance(item.get("arguments"), dict)
        and "expect" in item
    ]


def _calls(data: Any) -> list[tuple[str | None, Call]]:
    items = data if isinstance(data, list) else [data]
    calls = []
    for item in items:
        if not isinstance(item, dict):
            continue
        function = item.get("function") or item.get("name") or item.get("tool")
        arguments = item.get("arguments", item.get("parameters", item.get("args", {})))
        if isinstance(arguments, str):
            try:
                arguments = loads(arguments)
            except ValueError:
                continue
        if isinstance(function, str) and isinstance(arguments, dict):
            task = item.get("task") or item.get("task_id") or item.get("id") or item.get("member")
            calls.append((str(task) if task is not None else None, Call(function, arguments)))
    return calls
