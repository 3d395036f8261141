"""`mcp-box call --task`: the call made as an MCP task through a server it starts on stdio.

Run as a user would (a subprocess): the status goes to stderr while the task is polled,
a question is asked on the terminal and answered with `tasks/update` (or, for a tool
that asks before its task, in the request), and a tool that does not run as a task is
refused with a clear message.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.boxes import make_box

JOBS = '''
    import time

    from mcp_box_server import elicit, tool


    @tool(task="optional")
    def crunch(seconds: float) -> str:
        """Work for a while.

        Args:
            seconds: how long.
        """
        time.sleep(seconds)
        return f"crunched for {seconds:g} s"


    @tool(task="required")
    def delete(item: str) -> str:
        """Delete an item once the user confirms.

        Args:
            item: what to delete.
        """
        answer = elicit(f"Delete {item}?", {"confirm": bool}, key="confirm")
        return f"deleted {item}" if answer["content"]["confirm"] else f"kept {item}"


    def quick() -> str:
        """Answers at once; never a task."""
        return "quick"


    @tool(task="after_questions")
    def rename(item: str) -> str:
        """Ask the new name of an item first, then rename it (a while, as a task).

        Args:
            item: what to rename.
        """
        answer = elicit(f"New name for {item}?", {"name": str}, key="name")
        time.sleep(0.5)
        return f"renamed {item} to {answer['content']['name']}"
'''


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("call-task")
    make_box(root, "jobs", {"jobs": JOBS})
    return root


def call(root: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "mcp_box_server",
        "call",
        *args,
        "--task",
        "--boxes",
        str(root),
        "--no-bundled",
    ]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)


def test_a_task_is_polled_to_its_result(root):
    done = call(root, "jobs_crunch", '{"seconds": 1.5}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '"crunched for 1.5 s"'
    assert "mcp-box call: working" in done.stderr and "mcp-box call: completed" in done.stderr


def test_a_question_of_the_task_is_asked_on_the_terminal(root):
    done = call(root, "jobs_delete", '{"item": "notes.txt"}', stdin="yes\n")
    assert done.returncode == 0, done.stderr
    assert "Delete notes.txt?" in done.stderr and "input_required" in done.stderr
    assert done.stdout.strip() == '"deleted notes.txt"'


def test_a_tool_that_asks_before_its_task_is_answered_on_the_terminal(root):
    done = call(root, "jobs_rename", '{"item": "notes.txt"}', stdin="plans.txt\n")
    assert done.returncode == 0, done.stderr
    assert "New name for notes.txt?" in done.stderr and "mcp-box call: task " in done.stderr
    assert done.stdout.strip() == '"renamed notes.txt to plans.txt"'


def test_a_tool_that_is_no_task_is_refused(root):
    done = call(root, "jobs_quick", "{}")
    assert done.returncode == 1
    assert "answered without a task" in done.stderr and "drop --task" in done.stderr
