"""Distillation: a teacher model writes, validates and consolidates a new box from tasks.

    from mcp_box_server.distill import distill
    result = await distill(Path("tasks.jsonl"), Path("boxes/units"), chat_model, cache_dir=...)
    result.box, result.outcome.counts

Stages live one per module: `pipeline` (generate, validate, abstract, and the
ask/check/repair loop they share), `teacher` (cache, retries, failures that stay
local), `extract` (module and calls out of free text), `gate` (static checks),
`validate` (sandboxed runs), `substeps` (helpers as tools), `grouping` (by the
teacher) and `cluster` (TF-IDF), `consolidate` (bounded prompts, mapped calls),
`names` (clashes), `cards`, `emit` and `report`. Teacher prompts are templates
in `prompts/`.
"""

from mcp_box_server.distill.emit import EmitError
from mcp_box_server.distill.gate import DEFAULT_ALLOW_IMPORTS, check_source
from mcp_box_server.distill.pipeline import Settings
from mcp_box_server.distill.progress import Stages
from mcp_box_server.distill.records import Counts, Outcome, Rejection, Tool
from mcp_box_server.distill.run import Distilled, TeacherAbort, distill
from mcp_box_server.distill.tasks import Task, TaskFileError, read_tasks
from mcp_box_server.distill.teacher import (
    ReplyCache,
    Teacher,
    TeacherFailed,
    TeacherOptions,
    TeacherUnusable,
    default_cache_dir,
)
from mcp_box_server.distill.validate import Limits

__all__ = [
    "DEFAULT_ALLOW_IMPORTS",
    "Counts",
    "Distilled",
    "EmitError",
    "Limits",
    "Outcome",
    "Rejection",
    "ReplyCache",
    "Settings",
    "Stages",
    "Task",
    "TaskFileError",
    "Teacher",
    "TeacherAbort",
    "TeacherFailed",
    "TeacherOptions",
    "TeacherUnusable",
    "Tool",
    "check_source",
    "default_cache_dir",
    "distill",
    "read_tasks",
]
