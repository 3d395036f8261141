"""Sub-step tools: helpers a teacher wrote inside a tool, kept as tools when they prove out.

AgentDistill's MCPs come from every useful step of the teacher's trajectories, not
only from whole-task answers. Here a teacher may mark a `_helper` of a validated
tool as reusable by giving example calls with their expected results; the helper
then becomes the public function of a copy of the module (the task's tool turned
private, so the module still has one tool), and that copy is validated on the
examples in the sandbox like any candidate. Examples stand in for tasks: each is a
`Task` whose answer is the expected result, so scoring, emit and `examples.jsonl`
treat them alike.
"""

from __future__ import annotations

import ast
import json

from mcp_box_server.distill.extract import Call, Example
from mcp_box_server.distill.names import rename_source
from mcp_box_server.distill.tasks import Task

MAX_EXAMPLES = 3  # per helper


def helper_module(source: str, helper: str, main: str) -> str | None:
    """`source` with `helper` public (leading underscores dropped) and `main` private; None if it can't be."""
    public = helper.lstrip("_")
    defined = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    if not helper.startswith("_") or not public.isidentifier() or helper not in defined:
        return None
    if public in defined or f"_{main}" in defined:
        return None
    return rename_source(rename_source(source, main, f"_{main}"), helper, public)


def example_tasks(task: Task, examples: list[Example]) -> dict[str, list[tuple[Task, Call]]]:
    """Per helper, its examples as (task, call) checks, at most `MAX_EXAMPLES` each."""
    checks: dict[str, list[tuple[Task, Call]]] = {}
    for example in examples:
        public = example.helper.lstrip("_")
        mine = checks.setdefault(example.helper, [])
        if len(mine) == MAX_EXAMPLES:
            continue
        question = f"{public}({json.dumps(example.arguments)}), a sub-step of: {task.question}"
        pseudo = Task(f"{task.id}.{public}.{len(mine) + 1}", question, example.expect)
        mine.append((pseudo, Call(public, example.arguments)))
    return checks
