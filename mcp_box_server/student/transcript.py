"""The conversation of one run, and how tool calls and results are written into it.

Two ways to give results back to the model:

- native: the assistant's `tool_calls` and one `role: "tool"` message per result;
- text: calls stay assistant text (`<tool_call>{...}</tool_call>`) and results go
  back in a user turn of `<tool_response>` blocks, which every chat template keeps.

A run starts native (unless told otherwise) and switches to text, for good, when
the server shows it does not carry tools: it refuses them, the model writes calls
as text while tools were sent natively, or the results do not reach the prompt
(llama-cpp-python's default and `chatml-function-calling` formats drop `tool`
messages while answering HTTP 200). The last is checked once per run, the first
time native results go back, with the server's own prompt token counts: the
conversation is counted as is and with the results blanked (`probe_pair`); the
same count means the results were dropped. Token counts cannot be estimated from
text well enough for this (a DNA sequence takes a token per character or two).
On a switch the whole history is rewritten in text form, and `mode_reason` says why.

User turns are merged rather than stacked: templates such as Gemma's require
user and assistant turns to alternate.

Demonstrations (`add_demos`) are earlier turns between the system prompt and the
question: each demo's question, its calls and their results in the run's tool mode
(rewritten with the rest on a switch), and its answer as "Final answer: ...".
Without tools a demo is only its question and answer.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from mcp_box_server.box.demos import Demo
from mcp_box_server.llm import AssistantMessage, Message, Usage
from mcp_box_server.student.connection import ToolSpec
from mcp_box_server.student.parsing import ParsedMessage
from mcp_box_server.student.retrieval import FIND_TOOLS, found_tool_names
from mcp_box_server.student.steps import ActionStep, ErrorKind, ToolResult

ToolMode = Literal["native", "text"]

BOX_PROMPT = (
    "You solve problems carefully and use tools when they help. Call a tool with the tool-calling "
    'interface or, if you cannot, write exactly <tool_call>{"name": "TOOL", "arguments": {...}}'
    "</tool_call>. Read each tool result before continuing. If a call fails, fix it and try again. "
    "When you are done, reply without any tool call and end with a line 'Final answer: ANSWER'."
)
PLAIN_PROMPT = "Solve the problem step by step. End your reply with a line 'Final answer: ANSWER'."
TEXT_TOOLS_PROMPT = (
    "\n\nYou can call these tools (JSON schemas follow). To call one, write "
    '<tool_call>{"name": "TOOL", "arguments": {...}}</tool_call> and stop; the result comes back '
    "in <tool_response> tags.\n<tools>\n{tools}\n</tools>"
)
STEP_LIMIT_PROMPT = (
    "You have used all your steps. Do not call any tool. Reply now with your best answer, "
    "ending with a line 'Final answer: ANSWER'."
)
BRIEF_PROMPT = (
    "Your reply was cut off at the length limit. Be brief: reply with one tool call, or with the "
    "line 'Final answer: ANSWER'."
)
CUT_OFF_KEEP = 300  # characters of a cut-off reply kept in the conversation
ARGUMENTS_KEEP = 2000  # characters of a native call's arguments kept (some servers ignore max_tokens there)


class Transcript:
    """The messages of one run, the tool mode and what the run has learned."""

    def __init__(
        self,
        question: str,
        mode: ToolMode,
        system_prompt: str | None,
        max_result_chars: int,
        transcript: list[Message] | None = None,
    ) -> None:
        self.mode: ToolMode = mode
        self.mode_reason: str | None = "--tool-mode text" if mode == "text" else None
        self.system_prompt = system_prompt
        self.max_result_chars = max_result_chars
        self.discovered: set[str] = set()
        self.messages: list[Message] = transcript if transcript is not None else []
        self.messages[:] = [{"role": "system", "content": ""}, {"role": "user", "content": question}]
        self.tool_choice_refused = False
        self._notes: list[str] = []
        self.results_checked = False  # native results were seen to reach the prompt
        self._last_prompt_tokens = 0
        self._pending = False  # native results went back since the last request

    def note(self, text: str) -> None:
        """Something the harness did and why, for the next step's record."""
        self._notes.append(text)

    def take_notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    def prepare(self, offered: list[ToolSpec]) -> None:
        """Write the system prompt for the tools offered at this step."""
        prompt = self.system_prompt or (BOX_PROMPT if offered else PLAIN_PROMPT)
        if offered and self.mode == "text":
            specs = "\n".join(json.dumps(t.to_openai()["function"], separators=(",", ":")) for t in offered)
            prompt += TEXT_TOOLS_PROMPT.replace("{tools}", specs)
        self.messages[0] = {"role": "system", "content": prompt}

    def switch_to_text(self, reason: str) -> None:
        """From now on, calls and results travel as text; the history is rewritten to match."""
        if self.mode == "text":
            return
        self.mode, self.mode_reason = "text", reason
        self.note(f"tools travel as text from now on: {reason}")
        self.messages[1:] = as_text_history(self.messages[1:])
        self._pending = False

    def add_demos(self, demos: list[Demo], *, with_tools: bool) -> None:
        """Put solved examples in front of the question (see the module docstring)."""
        turns: list[Message] = []
        for number, demo in enumerate(demos):
            turns.append({"role": "user", "content": demo.question})
            if with_tools and demo.calls:
                ids = [f"demo_{number}_{index}" for index in range(len(demo.calls))]
                calls = [
                    {
                        "id": i,
                        "type": "function",
                        "function": {"name": c.tool, "arguments": json.dumps(c.arguments)},
                    }
                    for i, c in zip(ids, demo.calls, strict=True)
                ]
                turns.append({"role": "assistant", "content": "", "tool_calls": calls})
                for call_id, call in zip(ids, demo.calls, strict=True):
                    text = (
                        call.result
                        if isinstance(call.result, str)
                        else json.dumps(call.result, ensure_ascii=False)
                    )
                    turns.append(
                        {"role": "tool", "tool_call_id": call_id, "name": call.tool, "content": text}
                    )
            turns.append({"role": "assistant", "content": f"Final answer: {demo.answer}"})
        if self.mode == "text":
            turns = as_text_history(turns)
        self.messages[1:1] = turns

    def add_user(self, text: str) -> None:
        """A user turn, merged into the last message when that is a user turn already."""
        last = self.messages[-1]
        if last["role"] == "user" and isinstance(last.get("content"), str):
            self.messages[-1] = {"role": "user", "content": f"{last['content']}\n\n{text}"}
        else:
            self.messages.append({"role": "user", "content": text})

    def add_final(self, text: str) -> None:
        """The reply that ended the run, so traces hold the whole conversation."""
        self.messages.append({"role": "assistant", "content": text})

    def add_cut_off(self, text: str) -> None:
        """A reply cut off at max_tokens (clipped) and the request to be brief."""
        clipped = text if len(text) <= CUT_OFF_KEEP else text[:CUT_OFF_KEEP] + " [...]"
        self.messages.append({"role": "assistant", "content": clipped})
        self.add_user(BRIEF_PROMPT)

    def needs_check(self, usage: Usage) -> bool:
        """True when native results just went back and have not been checked yet.

        Only servers whose prompt count moves are checked: one that reports nothing,
        or the same number every time, cannot tell. (It may move down: llama-cpp-python's
        `chatml-function-calling` sums the prompts of each native call it writes.)
        """
        pending, previous = self._pending, self._last_prompt_tokens
        self._pending = False
        if usage.prompt_tokens:
            self._last_prompt_tokens = usage.prompt_tokens
        return (
            pending
            and not self.results_checked
            and self.mode == "native"
            and 0 < previous != usage.prompt_tokens > 0
        )

    def probe_pair(self) -> tuple[list[Message], list[Message]]:
        """The conversation as sent, and the same with the latest tool results blanked."""
        blank = list(self.messages)
        index = len(blank) - 1
        while index > 0 and blank[index]["role"] == "tool":
            blank[index] = {**blank[index], "content": ""}
            index -= 1
        return list(self.messages), blank

    def record(self, step: ActionStep, message: AssistantMessage, parsed: ParsedMessage) -> None:
        """Append the assistant's action and the replies to its calls."""
        for call, result in zip(step.tool_calls, step.results, strict=True):
            if call.name == FIND_TOOLS and result.ok:
                self.discovered.update(found_tool_names(result.structured))
        replies = [
            (call.id, call.name, reply_text(result, self.max_result_chars))
            for call, result in zip(step.tool_calls, step.results, strict=True)
        ]
        if self.mode == "text":
            content = message.content or ""
            if parsed.native:
                content = _with_text_calls(content, message.to_message().get("tool_calls", []))
            self.messages.append({"role": "assistant", "content": content})
            self.add_user(_responses((name, text) for _, name, text in replies))
            return
        assistant = message.to_message()
        for call in assistant.get("tool_calls", []):
            function = call["function"]
            if len(function["arguments"]) > ARGUMENTS_KEEP:  # a runaway: keep the history small
                clipped = function["arguments"][:ARGUMENTS_KEEP]
                function["arguments"] = json.dumps({"clipped_arguments": clipped})
        self.messages.append(assistant)
        for call_id, name, text in replies:
            self.messages.append({"role": "tool", "tool_call_id": call_id, "name": name, "content": text})
        self._pending = True


def as_text_history(messages: list[Message]) -> list[Message]:
    """Native tool calls and tool messages rewritten as assistant text and user turns."""
    out: list[Message] = []
    responses: list[tuple[str, str]] = []

    def flush() -> None:
        if responses:
            out.append({"role": "user", "content": _responses(responses)})
            responses.clear()

    for message in messages:
        if message["role"] == "tool":
            responses.append((str(message.get("name", "")), str(message.get("content", ""))))
            continue
        flush()
        if message["role"] == "assistant" and message.get("tool_calls"):
            content = _with_text_calls(message.get("content") or "", message["tool_calls"])
            out.append({"role": "assistant", "content": content})
        elif message["role"] == "user" and out and out[-1]["role"] == "user":
            out[-1] = {"role": "user", "content": f"{out[-1]['content']}\n\n{message['content']}"}
        else:
            out.append(message)
    flush()
    return out


def _with_text_calls(content: str, calls: list[dict[str, Any]]) -> str:
    blocks = []
    for call in calls:
        function = call.get("function", {})
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            arguments = function.get("arguments")
        body = json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False)
        blocks.append(f"<tool_call>{body}</tool_call>")
    return "\n".join(part for part in (content.strip(), *blocks) if part)


def _responses(replies: Any) -> str:
    blocks = (json.dumps({"name": name, "content": text}, ensure_ascii=False) for name, text in replies)
    return "\n".join(f"<tool_response>\n{block}\n</tool_response>" for block in blocks)


def reply_text(result: ToolResult, limit: int) -> str:
    """What the model reads for one call: the result (clipped), or the error with advice."""
    text = (
        result.text if len(result.text) <= limit else result.text[:limit] + f"... [{len(result.text)} chars]"
    )
    if result.ok or result.error is ErrorKind.REPEATED:
        return text
    advice = {
        ErrorKind.PARSE: "Fix the JSON of the call and try again.",
        ErrorKind.UNKNOWN_TOOL: "Use one of the available tool names.",
        ErrorKind.BAD_ARGUMENTS: "Fix the arguments to match the tool's schema and call it again.",
        ErrorKind.TOOL_FAILED: "The tool ran and failed; change the input or solve this part another way.",
        ErrorKind.CONNECTION: "The tool server failed; solve this part without the tool.",
    }[result.error or ErrorKind.TOOL_FAILED]
    return f"Error ({result.error}): {text}\n{advice}"
