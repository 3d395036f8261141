"""`demos.jsonl`: worked examples of a box, shown to small models as demonstrations.

A demo is one solved task, as the teacher (or the box's author) solved it with the
box's own tools:

    {"question": "...",
     "calls": [{"tool": "math_solve_24", "arguments": {"numbers": [4, 7, 8, 8]},
                "result": {"expression": "(7 - 8 / 8) * 4", "text": "(7 - 8 / 8) * 4 = 24", ...}}],
     "answer": "(7 - 8 / 8) * 4"}

`tool` is the exposed `<box>_<function>` name (the bare function name is read too);
`result` is what the tool returned, so `mcp-box check` can call it again and see the
box still answers the same (`examples.mismatch` rules). `calls` may be empty: a task
the model should answer without a tool. The server serves the file as the resource
`box://<box>/demos`, so clients get it over MCP like any other box content.

What a model reads for a result is its `observation`: the result's `text` field when
it has one (tools write it for exactly this reader), else the result as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_box_server.box.errors import LoadFailure

DEMOS = "demos.jsonl"
DEMOS_DESCRIPTION = "Worked examples: questions solved with this box's tools (JSON Lines)."


def demos_uri(box: str) -> str:
    """The resource URI under which the server serves a box's demos."""
    return f"box://{box}/demos"


@dataclass(frozen=True, slots=True)
class DemoCall:
    """One tool call of a demo and the result it returned."""

    tool: str
    arguments: dict[str, Any]
    result: Any = None


@dataclass(frozen=True, slots=True)
class Demo:
    """One solved task: the question, the calls that solved it, the final answer."""

    question: str
    answer: str
    calls: tuple[DemoCall, ...] = ()
    box: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        calls = [{"tool": c.tool, "arguments": c.arguments, "result": c.result} for c in self.calls]
        return {"question": self.question, "calls": calls, "answer": self.answer}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(slots=True)
class DemoFile:
    """The demos of one file and the lines that could not be read."""

    demos: list[Demo] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)


def observation(result: Any) -> str:
    """The text a model reads for a tool result: its `text` field, else compact JSON."""
    if isinstance(result, dict) and isinstance(result.get("text"), str):
        return result["text"]
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False, separators=(", ", ": "), default=str)


def read_demos(box_dir: Path, box: str) -> DemoFile:
    """The demos of a box directory (none when it has no `demos.jsonl`)."""
    path = box_dir / DEMOS
    if not path.is_file():
        return DemoFile()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return DemoFile(failures=[LoadFailure(str(path), None, f"cannot read: {exc}")])
    return parse_demos(text, box, str(path))


def parse_demos(text: str, box: str, source: str) -> DemoFile:
    """Parse JSON Lines of demos; a malformed line becomes a failure naming what is wrong.

    Bare function names in `tool` are given the `<box>_` prefix, so every demo names
    tools as clients see them.
    """
    found = DemoFile()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            found.demos.append(_demo(json.loads(raw), box, number))
        except json.JSONDecodeError as exc:
            found.failures.append(LoadFailure(source, number, f"invalid JSON: {exc.msg}"))
        except ValueError as exc:
            found.failures.append(LoadFailure(source, number, str(exc)))
    return found


def _demo(data: Any, box: str, line: int) -> Demo:
    if not isinstance(data, dict):
        raise ValueError('a demo must be an object {"question", "calls", "answer"}')
    question, answer, calls = data.get("question"), data.get("answer"), data.get("calls", [])
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError('"answer" must be a non-empty string (or a number)')
    if not isinstance(calls, list):
        raise ValueError('"calls" must be a list of {"tool", "arguments", "result"}')
    parsed = []
    for index, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("tool"), str) or not call["tool"]:
            raise ValueError(f'calls[{index}] needs a "tool" name')
        arguments = call.get("arguments", {})
        if not isinstance(arguments, dict):
            raise ValueError(f'calls[{index}]: "arguments" must be an object')
        if "result" not in call:
            raise ValueError(f'calls[{index}]: "result" is missing (what the tool returned)')
        tool = call["tool"] if call["tool"].startswith(f"{box}_") else f"{box}_{call['tool']}"
        parsed.append(DemoCall(tool, arguments, call["result"]))
    return Demo(question, answer, tuple(parsed), box, line)
