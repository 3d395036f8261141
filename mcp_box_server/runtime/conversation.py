"""A call's conversation with its client, as the runtime sees it.

While a tool runs, its worker may send notes (progress, log lines) and questions
(elicitation, sampling) over its channel (see `box.context`). Whoever starts the
call passes a `Conversation` that delivers them; the runtime knows nothing of MCP.
"""

from __future__ import annotations

from typing import Any, Protocol

ASK_TIMEOUT = 600.0  # a person may take a while to answer; past this the question fails


class ClientCannot(Exception):
    """The client cannot answer this kind of question (it did not declare the capability)."""


class Conversation(Protocol):
    """How notes and questions of one call reach the client."""

    answers: dict[str, Any]  # answers from earlier rounds of this call (2026-07-28), by key
    interactive: bool  # False: a new question ends the call with `InputNeeded`
    capabilities: frozenset[str]  # the kinds of question the client declared it can answer

    async def note(self, kind: str, params: dict[str, Any]) -> None: ...

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]: ...
