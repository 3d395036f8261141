"""An optional decorator that adds metadata to a box tool.

Box modules stay plain Python: the decorator only sets one attribute on the
function, and a module that does not use it is still a valid box module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

META_ATTRIBUTE = "__mcp_box_tool__"


@overload
def tool(fn: F, /) -> F: ...


@overload
def tool(
    *,
    name: str | None = None,
    timeout: float | None = None,
    annotations: dict[str, Any] | None = None,
    hidden: bool = False,
    task: Literal["optional", "required", "after_questions"] | None = None,
) -> Callable[[F], F]: ...


def tool(
    fn: F | None = None,
    /,
    *,
    name: str | None = None,
    timeout: float | None = None,
    annotations: dict[str, Any] | None = None,
    hidden: bool = False,
    task: Literal["optional", "required", "after_questions"] | None = None,
) -> F | Callable[[F], F]:
    """Mark a function as a tool and attach metadata.

    Args:
        name: exposed function part of the tool name (default: the function name).
        timeout: per-call timeout in seconds, overriding the box default.
        annotations: MCP tool annotations, e.g. `{"readOnlyHint": True}`.
        hidden: keep a public function out of the tool list.
        task: "optional" lets a client that declares the MCP tasks extension get a task to
            poll instead of waiting for the result (for long calls); "required" refuses a
            client that does not declare it; "after_questions" asks the questions of its first
            round in the request, as any tool does, and once the client has answered them
            goes on as a task (a tool that asks nothing finishes in the request). `[tools.NAME]
            task` in box.toml overrides this.

    Example:
        >>> @tool(timeout=5)
        ... def add(a: int, b: int) -> int:
        ...     '''Add two integers.'''
        ...     return a + b

    Raises:
        ValueError: `timeout` is not a positive, finite number (the module then fails to load,
            with this message at the decorator's line), or `task` is not "optional", "required"
            or "after_questions".
    """
    if timeout is not None and not _finite_positive(timeout):
        raise ValueError(f"tool timeout must be a positive, finite number of seconds, got {timeout!r}")
    if task not in (None, "optional", "required", "after_questions"):
        raise ValueError(f'tool task must be "optional", "required" or "after_questions", got {task!r}')

    def mark(f: F) -> F:
        setattr(
            f,
            META_ATTRIBUTE,
            {"name": name, "timeout": timeout, "annotations": annotations, "hidden": hidden, "task": task},
        )
        return f

    return mark(fn) if fn is not None else mark


def _finite_positive(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )
