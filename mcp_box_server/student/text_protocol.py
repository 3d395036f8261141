"""The plain text protocol for base models over `/v1/completions`.

A base model continues text; it follows a format it has seen. The prompt is a short
header (the tools, one line each), the demos, then the question:

    Question: Use the numbers 1 1 5 8 ... to obtain 24. ...
    Action: math_solve_24 {"numbers": [1, 1, 5, 8]}
    Observation: (5 - 1 - 1) * 8 = 24
    Answer: (5 - 1 - 1) * 8

    Question: <the task>

The model writes `Action: TOOL {JSON}` and generation stops at `Observation:` (a
stop sequence); the harness runs the call and writes the observation: the result's
`text` field when it has one, else its text content (`box.demos.observation`), as
the demos show it. The model ends with `Answer: ...`. Without a box the question is
followed by `Answer:` at once, and demos are question and answer only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from mcp_box_server.box.demos import Demo, observation
from mcp_box_server.student.connection import ToolSpec
from mcp_box_server.student.parsing import (
    CallParseError,
    ParsedCall,
    ParsedMessage,
    decode_arguments,
    extract_final_answer,
)
from mcp_box_server.student.steps import ToolResult
from mcp_box_server.student.transcript import reply_text

STOP = ["\nObservation:", "\nQuestion:", "\n\n"]  # an action line ends a generation, so does a blank line
ANSWER_STOP = ["\n"]  # after "Answer:" the rest of the line is the answer
BOX_HEADER = (
    "Answer each question. To use a tool, write one line 'Action: TOOL {JSON arguments}'; its "
    "result comes back as 'Observation: ...'. Finish with one line 'Answer: ANSWER'.\n"
    "Tools:\n{tools}\n"
)
PLAIN_HEADER = "Answer each question with one line 'Answer: ANSWER'.\n"
_ACTION = re.compile(r"^\s*Action\s*:\s*(.*)$", re.IGNORECASE)
_ANSWER = re.compile(r"^\s*Answer\s*:\s*(.*)$", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def tool_line(tool: ToolSpec) -> str:
    """`- name(param: type, ...): first sentence of the description`."""
    params = []
    for name, schema in (tool.input_schema.get("properties") or {}).items():
        params.append(f"{name}: {_type(schema)}")
    summary = tool.description.strip().split("\n", 1)[0]
    return f"- {tool.name}({', '.join(params)}): {summary}"


def _type(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "type" in schema:
        kind = schema["type"]
        if kind == "array" and isinstance(schema.get("items"), dict):
            return f"list of {_type(schema['items'])}"
        return "|".join(kind) if isinstance(kind, list) else str(kind)
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list):
        return "|".join(dict.fromkeys(_type(o) for o in options))
    return "any"


def action_line(tool: str, arguments: dict[str, Any]) -> str:
    return f"Action: {tool} {json.dumps(arguments, ensure_ascii=False)}"


def render_demo(demo: Demo, *, with_tools: bool) -> str:
    """One solved example in the protocol (calls shown only when the run has tools)."""
    lines = [f"Question: {demo.question}"]
    if with_tools:
        for call in demo.calls:
            lines += [action_line(call.tool, call.arguments), f"Observation: {observation(call.result)}"]
    lines.append(f"Answer: {demo.answer}")
    return "\n".join(lines) + "\n\n"


def result_observation(result: ToolResult, limit: int) -> str:
    """What the model reads for a live call: the result's `text` field, its text, or the error."""
    if result.ok and isinstance(result.structured, dict) and isinstance(result.structured.get("text"), str):
        text = result.structured["text"]
        return text if len(text) <= limit else text[:limit] + f"... [{len(text)} chars]"
    return reply_text(result, limit).replace("\n", " ")


class TextPrompt:
    """The growing prompt of one run: header, demos, question, then actions and observations."""

    def __init__(self, question: str, demos: Sequence[Demo], *, with_tools: bool) -> None:
        self.question = question
        self.with_tools = with_tools
        self.demos = "".join(render_demo(d, with_tools=with_tools) for d in demos)
        self.header = PLAIN_HEADER
        self.trace = ""  # the model's actions and the observations, after the question
        self.last = ""  # the prompt last sent, for the trace

    def offer(self, tools: Sequence[ToolSpec]) -> None:
        """The tools listed in the header for the next generation."""
        listed = "\n".join(tool_line(t) for t in tools)
        self.header = BOX_HEADER.replace("{tools}", listed) if tools else PLAIN_HEADER

    def text(self, *, answer_now: bool = False) -> str:
        """The prompt to continue (kept as `last`); `answer_now` ends it with `Answer:`."""
        body = f"{self.header}\n{self.demos}Question: {self.question}\n{self.trace}"
        self.last = body + "Answer:" if answer_now or not self.with_tools else body
        return self.last

    def add_action(self, written: str, observations: Sequence[str]) -> None:
        """The model's text up to its action line, then one observation line per result."""
        self.trace += written.rstrip("\n") + "\n"
        self.trace += "".join(f"Observation: {text}\n" for text in observations)


def parse_continuation(text: str | None, known: set[str] | None = None) -> ParsedMessage:
    """An `Action:` line before any `Answer:` line is a call; anything else is an answer."""
    for line in (text or "").splitlines():
        if _ANSWER.match(line):
            break
        match = _ACTION.match(line)
        if match:
            return _action(match.group(1).strip(), text or "")
    return ParsedMessage(text=text or "")


def _action(body: str, text: str) -> ParsedMessage:
    name = _NAME.match(body)
    if name is None:
        return ParsedMessage(errors=(CallParseError(body[:200], "no tool name after 'Action:'"),), text=text)
    rest = body[name.end() :].strip()
    if rest.startswith("(") and rest.endswith(")"):  # tool({...}) is read too
        rest = rest[1:-1].strip()
    try:
        arguments = decode_arguments(_first_object(rest))
    except ValueError as exc:
        reason = f"the arguments after the tool name must be one JSON object ({exc})"
        return ParsedMessage(errors=(CallParseError(body[:200], reason),), text=text)
    return ParsedMessage(calls=(ParsedCall(name.group(0), arguments),), text=text)


def _first_object(text: str) -> Any:
    """The JSON object that starts `text` (text after it is ignored), else `text` for a lenient read."""
    try:
        return json.JSONDecoder().raw_decode(text)[0]
    except ValueError:
        return text


def written_action(text: str) -> str:
    """The model's text up to and including its first action line (what stays in the prompt)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if _ACTION.match(line):
            return "\n".join(lines[: index + 1])
    return text


def answer_of(text: str | None) -> str:
    """The answer in a continuation: after its first `Answer:`, else read like a chat answer."""
    for line in (text or "").splitlines():
        match = _ANSWER.match(line)
        if match:
            return extract_final_answer(match.group(1))
    return extract_final_answer(text)
