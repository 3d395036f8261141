"""Turning model output into tool calls and final answers; pure functions, no I/O.

Small models often write tool calls as text instead of native `tool_calls`.
`parse_text` recognises, in this order of precedence:

1. Hermes/Qwen tags: `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`,
   the closing tag optional, several tags in one message.
2. Llama 3.x `<|python_tag|>` (and Mistral `[TOOL_CALLS]`): one or more JSON
   objects (separated by `;` or new lines, or in a list), or a Python-style call
   `name(key=value, ...)`.
3. Markdown fences (```json, ```tool_call or bare ```) holding call objects.
4. A bare JSON object (or list of objects) anywhere in the text that looks like
   a call: it has a `name` and an `arguments`/`parameters` key, or its name is a
   known tool.

A call object may say `parameters` (or `args`, `input`) instead of `arguments`,
use the OpenAI shape `{"function": {"name", "arguments"}}`, and carry arguments
double-encoded as a JSON string. Slightly broken JSON is repaired where that is
unambiguous (Python literals, trailing commas, missing closing braces); anything
else that was clearly meant as a call becomes a `CallParseError` for the model.

`extract_final_answer` documents how an answer is read from the last message.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from mcp_box_server.llm import ToolCallRequest

NAME_KEYS = ("name", "tool", "tool_name")
ARGUMENT_KEYS = ("arguments", "parameters", "args", "input", "tool_input")

_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|(?=<tool_call>)|$)", re.DOTALL)
_MARKER = re.compile(
    r"(?:<\|python_tag\|>|\[TOOL_CALLS\])(.*?)(?=<\|python_tag\|>|\[TOOL_CALLS\]|$)", re.DOTALL
)
_END_TOKENS = re.compile(r"<\|(?:eom_id|eot_id|end_of_text|im_end)\|>|</s>")
_FENCE = re.compile(r"```[ \t]*(json|tool_call|tool_code|JSON)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)
_PY_CALL = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*\((.*)\)\s*$", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_FINAL = re.compile(r"final\s+answer\s*(?:is)?\s*[:：]?\s*", re.IGNORECASE)
_ANSWER_LINE = re.compile(r"^\s*\**answer\**\s*[:：]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """A tool call ready to execute; `id` is the native call id when there was one."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True, slots=True)
class CallParseError:
    """A fragment that was meant as a tool call but could not be read."""

    fragment: str
    reason: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What one assistant message asks for: calls, unreadable calls, remaining prose."""

    calls: tuple[ParsedCall, ...] = ()
    errors: tuple[CallParseError, ...] = ()
    text: str = ""
    native: bool = False

    @property
    def is_action(self) -> bool:
        """True when the model tried to call a tool (successfully or not)."""
        return bool(self.calls or self.errors)


def strip_thinking(text: str) -> str:
    """Drop `<think>...</think>` blocks (and a dangling prefix ending in `</think>`)."""
    if "</think>" in text and "<think>" not in text.split("</think>", 1)[0]:
        text = text.split("</think>", 1)[1]
    return _THINK.sub("", text).strip()


def decode_arguments(raw: Any) -> dict[str, Any]:
    """Arguments as a dict: accepts dicts, JSON strings, and strings encoded twice or more.

    Raises `ValueError` with a reason the model can act on.
    """
    value = raw
    for _ in range(4):
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}
        if not isinstance(value, str):
            break
        value = _loads_lenient(value)
    if not isinstance(value, dict):
        raise ValueError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def to_call(obj: Any, call_id: str | None = None) -> ParsedCall:
    """Normalise one call object (any of the accepted shapes) into a `ParsedCall`."""
    if not isinstance(obj, dict):
        raise ValueError(f"a tool call must be a JSON object, got {type(obj).__name__}")
    if isinstance(obj.get("function"), dict):
        obj = {**obj["function"], **{k: v for k, v in obj.items() if k != "function"}}
    name = next((obj[k] for k in NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None and isinstance(obj.get("function"), str):
        name = obj["function"]
    if not name or not name.strip():
        raise ValueError('a tool call needs a "name"')
    raw = next((obj[k] for k in ARGUMENT_KEYS if k in obj), None)
    return ParsedCall(name=name.strip(), arguments=decode_arguments(raw), id=call_id)


def parse_native(calls: Sequence[ToolCallRequest]) -> ParsedMessage:
    """Decode native `tool_calls` (arguments are JSON text, sometimes double-encoded)."""
    parsed: list[ParsedCall] = []
    errors: list[CallParseError] = []
    for call in calls:
        try:
            parsed.append(ParsedCall(call.name, decode_arguments(call.arguments), call.id))
        except ValueError as exc:
            errors.append(CallParseError(f"{call.name}({call.arguments})", str(exc), call.id))
    return ParsedMessage(tuple(parsed), tuple(errors), native=True)


def parse_text(text: str, known_tools: Collection[str] = ()) -> ParsedMessage:
    """Find tool calls written as text; see the module docstring for the formats.

    Text HTML-escaped by the chat template (llama-cpp-python's `chatml-function-calling`
    escapes the prompt, and models echo `&lt;tool_call&gt;`) is unescaped first.
    """
    if "&lt;tool_call&gt;" in text:
        text = html.unescape(text)
    body = strip_thinking(text)
    # Calls are looked for outside thinking first. A message that does not open with
    # a thinking block may hold the markers as data (an argument "</think>"): if no
    # call is found outside them, the whole text is searched too.
    candidates = (body,) if text.lstrip().startswith("<think>") else (body, text)
    for candidate in dict.fromkeys(candidates):
        for finder in (_tagged, _marked, _fenced, _bare):
            found = finder(candidate, known_tools)
            if found is not None:
                calls, errors, rest = found
                return ParsedMessage(tuple(calls), tuple(errors), strip_thinking(rest))
    return ParsedMessage(text=body)


def parse_message(
    content: str | None, tool_calls: Sequence[ToolCallRequest], known_tools: Collection[str] = ()
) -> ParsedMessage:
    """Native calls first; otherwise calls written in the text."""
    if tool_calls:
        native = parse_native(tool_calls)
        return ParsedMessage(native.calls, native.errors, strip_thinking(content or ""), native=True)
    return parse_text(content or "", known_tools)


Found = tuple[list[ParsedCall], list[CallParseError], str]


def _collect(
    fragments: list[str], known_tools: Collection[str], strict: bool
) -> tuple[list[ParsedCall], list[CallParseError]]:
    """Decode each fragment into calls; `strict` reports fragments that are not calls."""
    calls: list[ParsedCall] = []
    errors: list[CallParseError] = []
    for fragment in fragments:
        try:
            objects = _decode_objects(fragment, known_tools)
        except ValueError as exc:
            if strict or _mentions_name(fragment):
                errors.append(CallParseError(_clip(fragment), str(exc)))
            continue
        for obj in objects:
            if not strict and not _looks_like_call(obj, known_tools):
                continue
            try:
                calls.append(to_call(obj))
            except ValueError as exc:
                errors.append(CallParseError(_clip(json.dumps(obj, default=str)), str(exc)))
    return calls, errors


def _tagged(body: str, known_tools: Collection[str]) -> Found | None:
    if "<tool_call>" not in body:
        return None
    fragments = [m.group(1) for m in _TAGGED.finditer(body)]
    calls, errors = _collect(fragments, known_tools, strict=True)
    return calls, errors, _TAGGED.sub("", body)


def _marked(body: str, known_tools: Collection[str]) -> Found | None:
    matches = list(_MARKER.finditer(body))
    if not matches:
        return None
    fragments = [_END_TOKENS.sub("", m.group(1)).strip() for m in matches]
    calls, errors = _collect([f for f in fragments if f], known_tools, strict=True)
    return calls, errors, body[: matches[0].start()]


def _fenced(body: str, known_tools: Collection[str]) -> Found | None:
    matches = list(_FENCE.finditer(body))
    if not matches:
        return None
    calls, errors = _collect([m.group(2) for m in matches], known_tools, strict=False)
    if not calls and not errors:
        return None
    return calls, errors, _FENCE.sub("", body)


def _bare(body: str, known_tools: Collection[str]) -> Found | None:
    if "{" not in body:
        return None
    calls: list[ParsedCall] = []
    errors: list[CallParseError] = []
    spans: list[tuple[int, int]] = []
    decoder = json.JSONDecoder()
    index = 0
    while (start := _next_open(body, index)) != -1:
        try:
            value, end = decoder.raw_decode(body, start)
        except json.JSONDecodeError:
            index = start + 1
            continue
        objects = value if isinstance(value, list) else [value]
        if objects and all(_looks_like_call(o, known_tools) for o in objects):
            for obj in objects:
                try:
                    calls.append(to_call(obj))
                except ValueError as exc:
                    errors.append(CallParseError(_clip(body[start:end]), str(exc)))
            spans.append((start, end))
        index = end if end > start else start + 1
    if not calls and not errors:
        stripped = body.strip()
        if stripped.startswith(("{", "[")) and _mentions_name(stripped):
            repaired, repair_errors = _collect([stripped], known_tools, strict=False)
            if repaired or repair_errors:
                return repaired, repair_errors, ""
        return None
    rest = body
    for start, end in reversed(spans):
        rest = rest[:start] + rest[end:]
    return calls, errors, rest


def _next_open(body: str, index: int) -> int:
    brace, bracket = body.find("{", index), body.find("[", index)
    candidates = [p for p in (brace, bracket) if p != -1]
    return min(candidates) if candidates else -1


def _looks_like_call(obj: Any, known_tools: Collection[str]) -> bool:
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("function"), dict):
        return _looks_like_call(obj["function"], known_tools)
    name = next((obj[k] for k in NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None:
        return False
    return any(k in obj for k in ARGUMENT_KEYS) or name in known_tools


def _mentions_name(fragment: str) -> bool:
    return bool(re.search(r"""["']?(?:name|tool)["']?\s*[:=]""", fragment))


def _decode_objects(fragment: str, known_tools: Collection[str]) -> list[Any]:
    """All JSON values in a fragment: one value, a list, or several separated by `;`/newlines."""
    text = fragment.strip().rstrip(";").strip()
    if not text:
        raise ValueError("empty tool call")
    py_call = _PY_CALL.match(text)
    if py_call and not text.startswith(("{", "[")):
        return [_python_call(py_call.group(1), py_call.group(2))]
    try:
        value = _loads_lenient(text)
    except ValueError:
        values = _several(text)
        if values is None:
            raise
        return values
    return value if isinstance(value, list) else [value]


def _several(text: str) -> list[Any] | None:
    """Several JSON objects one after another, or None when that is not what this is."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index = 0
    while index < len(text):
        while index < len(text) and text[index] in " \t\r\n;,":
            index += 1
        if index >= len(text):
            break
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return None
        values.append(value)
    return values if len(values) > 1 else None


def _loads_lenient(text: str) -> Any:
    """`json.loads`, then a few unambiguous repairs; raises ValueError naming the JSON error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        error = exc
    repaired = _TRAILING_COMMA.sub(r"\1", text)
    missing = _unclosed(repaired)
    candidates = [repaired, repaired + missing] if missing else [repaired]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    for candidate in candidates:
        try:
            value = ast.literal_eval(_pythonish(candidate))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict | list):
            return value
    raise ValueError(f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}")


def _pythonish(text: str) -> str:
    return re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", text)))


def _unclosed(text: str) -> str:
    """The closing brackets a truncated JSON text lacks ('' when balanced or broken otherwise)."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and (not stack or stack.pop() != char):
            return ""
    if in_string or len(stack) > 3:
        return ""
    return "".join(reversed(stack))


def _python_call(name: str, args_text: str) -> dict[str, Any]:
    """`name(a=1, b="x")` as written after `<|python_tag|>`, read with `ast` (no eval)."""
    try:
        call = ast.parse(f"f({args_text})", mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"invalid call syntax: {exc.msg}") from None
    if not isinstance(call, ast.Call) or call.args:
        raise ValueError("use keyword arguments: name(key=value)")
    arguments: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ValueError("**kwargs are not allowed in a tool call")
        try:
            arguments[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise ValueError(f"argument {keyword.arg!r} must be a literal value") from None
    return {"name": name.removesuffix(".call"), "arguments": arguments}


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def extract_final_answer(text: str | None) -> str:
    """The answer in a final message, read in this documented order.

    1. After thinking blocks are dropped, the text after the last "Final answer:"
       marker (case-insensitive, `is` and the colon optional).
    2. Else the content of the last `\\boxed{...}`.
    3. Else the last line starting with "Answer:".
    4. Else the whole remaining text.

    Surrounding whitespace, markdown bold/backticks and a trailing period are removed.
    """
    body = strip_thinking(text or "")
    markers = list(_FINAL.finditer(body))
    if markers:
        answer = body[markers[-1].end() :]
    elif (boxed := _last_boxed(body)) is not None:
        answer = boxed
    elif lines := _ANSWER_LINE.findall(body):
        answer = lines[-1]
    else:
        answer = body
    return _tidy(answer)


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start == -1:
        return None
    depth, index = 0, start + len("\\boxed")
    for position in range(index, len(text)):
        if text[position] == "{":
            depth += 1
        elif text[position] == "}":
            depth -= 1
            if depth == 0:
                return text[index + 1 : position]
    return None


def _tidy(answer: str) -> str:
    """Peel whitespace, a trailing period, markdown emphasis, `$...$` and `\\boxed{}` until stable."""
    previous = None
    while previous != answer:
        previous = answer
        answer = answer.strip().removesuffix(".").strip().strip("*`").strip()
        if len(answer) > 1 and answer.startswith("$") and answer.endswith("$"):
            answer = answer[1:-1]
        if answer.startswith("\\boxed{") and answer.endswith("}"):
            answer = _last_boxed(answer) or answer
    return answer
