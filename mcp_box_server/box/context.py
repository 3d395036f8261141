"""What a tool may do during its call besides computing: report progress, log, ask the client.

Plain functions any box module can import; no server object is passed around:

    from mcp_box_server import elicit, log, progress

    def align(a: str, b: str) -> dict:
        '''Align two sequences.'''
        for row in range(len(a)):
            progress(row, len(a), "aligning")
        ...

They reach the client through the worker's channel to the server. Outside a
worker (a unit test importing the module) `progress` and `log` do nothing and
the asking functions raise `RuntimeError`.

Asking (`elicit`, `sample`) works in both protocol eras. On a handshake-era
session the question goes to the client while the tool waits. A 2026-07-28
client is asked by ending the call with the question; when it answers, the
server runs the tool again from the start, and this time the same question
returns the answer at once. So code before a question should not have effects
outside the tool that must not happen twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class Question:
    """One question for the client: `kind` is "elicit", "sample" or "roots"."""

    kind: str
    params: dict[str, Any]


class Channel(Protocol):
    """The worker's side of a call: one-way notes, and questions that wait for their answers.

    Questions are keyed (None: the channel numbers it); answers come back by key.
    """

    capabilities: frozenset[str]  # the kinds of question the client can answer

    def notify(self, kind: str, params: dict[str, Any]) -> None: ...

    def ask(self, questions: Mapping[str | None, Question]) -> dict[str, dict[str, Any]]: ...


class InputRequired(BaseException):
    """Ends the call with questions for the client (2026-07-28); the tool runs again with the answers.

    A BaseException, so that a tool's `except Exception` cannot swallow it.
    """

    def __init__(self, questions: dict[str, Question]) -> None:
        kinds = ", ".join(sorted({question.kind for question in questions.values()}))
        super().__init__(f"the client must answer first ({kinds})")
        self.questions = questions


class ClientCannot(BaseException):
    """The client did not declare the capability a question needs: the call fails with -32021."""


_channel: Channel | None = None


@contextmanager
def calling(channel: Channel) -> Iterator[None]:
    """Bind the current call's channel (the worker does this around each call)."""
    global _channel
    previous, _channel = _channel, channel
    try:
        yield
    finally:
        _channel = previous


def progress(done: float, total: float | None = None, message: str | None = None) -> None:
    """Report how far the call is (`notifications/progress`, when the client asked for it)."""
    if _channel is not None:
        _channel.notify("progress", {"progress": float(done), "total": total, "message": message})


def log(message: str, level: str = "info") -> None:
    """Send a log line to the client (`notifications/message`), at an RFC 5424 level."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    if _channel is not None:
        _channel.notify("log", {"level": level, "message": str(message)[:4096]})


def elicit(message: str, fields: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
    """Ask the user for values; returns `{"action": "accept"|"decline"|"cancel", "content": {...}}`.

    Args:
        message: what to ask, shown to the user.
        fields: a JSON Schema object (`{"type": "object", "properties": ...}`), or a plain
            mapping of field name to `str`, `int`, `float`, `bool` or a list of allowed strings.
        key: names the question for the client (default: numbered in order of asking).
    """
    return _ask_one(key, Elicit(message, fields))


def sample(
    prompt: str | Sequence[dict[str, Any]],
    max_tokens: int = 512,
    system: str | None = None,
    key: str | None = None,
) -> str:
    """Ask the client's model for a completion (`sampling/createMessage`); returns its text."""
    return sampled_text(_ask_one(key, Sample(prompt, max_tokens, system)))


def roots(key: str | None = None) -> list[dict[str, Any]]:
    """The client's roots (`roots/list`): folders or files it shares, as `{"uri", "name"}`."""
    return list(_ask_one(key, Roots()).get("roots", []))


def client_can(kind: str) -> bool:
    """Whether the client declared it can answer this kind of question ("elicit", "sample", "roots")."""
    return _channel is not None and kind in _channel.capabilities


def ask(questions: Mapping[str, Question]) -> dict[str, dict[str, Any]]:
    """Several questions at once, answers by key: one round on a 2026-07-28 client.

    Example:
        >>> answers = ask({"name": Elicit("Your name?", {"name": str}), "where": Roots()})
    """
    if _channel is None:
        raise RuntimeError("ask() only works while a tool runs in an mcp-box worker")
    return _channel.ask(dict(questions))


def Elicit(message: str, fields: Mapping[str, Any]) -> Question:
    """A question for the user (see `elicit`)."""
    return Question("elicit", {"message": message, "requestedSchema": requested_schema(fields)})


def Sample(
    prompt: str | Sequence[dict[str, Any]], max_tokens: int = 512, system: str | None = None
) -> Question:
    """A question for the client's model (see `sample`)."""
    text = [{"role": "user", "content": {"type": "text", "text": prompt}}]
    params: dict[str, Any] = {
        "messages": text if isinstance(prompt, str) else list(prompt),
        "maxTokens": max_tokens,
    }
    if system is not None:
        params["systemPrompt"] = system
    return Question("sample", params)


def Roots() -> Question:
    """A request for the client's roots (see `roots`)."""
    return Question("roots", {})


def sampled_text(answer: dict[str, Any]) -> str:
    """The text of a sampling answer (its content block, or blocks)."""
    content = answer.get("content", {})
    blocks = content if isinstance(content, list) else [content]
    return "".join(block.get("text", "") for block in blocks if isinstance(block, dict))


def requested_schema(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An elicitation schema (flat object of primitives) from a schema or a field mapping."""
    if fields.get("type") == "object" and isinstance(fields.get("properties"), dict):
        return dict(fields)
    properties: dict[str, Any] = {}
    for name, kind in fields.items():
        if isinstance(kind, list | tuple):
            properties[name] = {"type": "string", "enum": [str(option) for option in kind]}
        elif kind in _JSON_TYPES:
            properties[name] = {"type": _JSON_TYPES[kind]}
        else:
            raise TypeError(f"field '{name}': use str, int, float, bool or a list of strings")
    return {"type": "object", "properties": properties, "required": list(properties)}


def _ask_one(key: str | None, question: Question) -> dict[str, Any]:
    if _channel is None:
        raise RuntimeError(f"asking ({question.kind}) only works while a tool runs in an mcp-box worker")
    (answer,) = _channel.ask({key: question}).values()
    return answer
