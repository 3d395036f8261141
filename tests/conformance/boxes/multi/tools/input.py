"""multi_input: a task that asks two questions in one round, answered one at a time."""

from __future__ import annotations

from mcp_box_server import Elicit, ask


def input() -> str:
    """Ask a name and a confirmation at once, then report both."""
    answers = ask(
        {
            "name": Elicit("Your name?", {"name": str}),
            "confirm": Elicit("Go ahead?", {"confirm": bool}),
        }
    )
    name = (answers["name"].get("content") or {}).get("name")
    confirmed = (answers["confirm"].get("content") or {}).get("confirm")
    return f"name={name}; confirmed={confirmed}"
