"""tool_with_task: the tasks-mrtr-composition scenario (SEP-2322 rounds, then an SEP-2663 task).

It asks the user's name first, as any tool asks: on a 2026-07-28 client the request ends
with the question (input_required). `task = "after_questions"` in box.toml makes the call
that brings the answer go on as a task, whose result greets the user by that name.
"""

from __future__ import annotations

import time

from mcp_box_server import elicit


def tool_with_task() -> str:
    """Ask the user's name under the key user_name, then greet them after a while (a task)."""
    answer = elicit("What is your name?", {"name": str}, key="user_name")
    name = (answer.get("content") or {}).get("name", "stranger")
    time.sleep(1)  # the long part, which the client polls
    return f"Hello, {name}!"
