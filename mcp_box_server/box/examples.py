"""`examples.jsonl`: validation cases of a box, and how a result is matched.

A case is `{"tool": ..., "arguments": {...}, "expect": ...}` or, for a call
that must fail, `{"tool": ..., "arguments": {...}, "expect_error": "substring"}`.
`tool` is the function name or the exposed `<box>_<function>` name.

Matching is deliberately forgiving only where exactness is meaningless: dicts
match when every expected key matches (extra result keys are fine), floats
match to 1e-9 relative, and everything else must be equal.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_box_server.box.content import Rich
from mcp_box_server.box.errors import LoadFailure

EXAMPLES = "examples.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    tool: str
    arguments: dict[str, Any]
    expect: Any = None
    expect_error: str | None = None
    line: int = 0


def read_examples(box_dir: Path) -> tuple[list[Example], list[LoadFailure]]:
    """Parse the box's examples; malformed lines become failures, not exceptions."""
    path = box_dir / EXAMPLES
    if not path.exists():
        return [], []
    examples: list[Example] = []
    failures: list[LoadFailure] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            failures.append(LoadFailure(str(path), number, f"invalid JSON: {exc.msg}"))
            continue
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("tool"), str)
            or not isinstance(data.get("arguments", {}), dict)
            or ("expect" in data) == ("expect_error" in data)
        ):
            failures.append(
                LoadFailure(
                    str(path),
                    number,
                    'expected {"tool": str, "arguments": {...}, "expect": ...} or "expect_error"',
                )
            )
            continue
        examples.append(
            Example(
                data["tool"], data.get("arguments", {}), data.get("expect"), data.get("expect_error"), number
            )
        )
    return examples, failures


def mismatch(expect: Any, got: Any, path: str = "result") -> str | None:
    """None when `got` satisfies `expect`, else a sentence saying where they differ.

    A rich result is compared as its content blocks, e.g. `[{"type": "text"}, {"type": "image"}]`.
    """
    if isinstance(got, Rich):
        got = got.blocks
    if isinstance(expect, dict):
        if not isinstance(got, dict):
            return f"{path}: expected an object, got {_show(got)}"
        for key, value in expect.items():
            if key not in got:
                return f"{path}.{key}: missing"
            problem = mismatch(value, got[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expect, list):
        if not isinstance(got, list | tuple) or len(got) != len(expect):
            return f"{path}: expected {_show(expect)}, got {_show(got)}"
        for index, (e, g) in enumerate(zip(expect, got, strict=True)):
            problem = mismatch(e, g, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(expect, float) or (isinstance(got, float) and isinstance(expect, int)):
        number = isinstance(got, int | float) and not isinstance(got, bool)
        if number and math.isclose(float(got), float(expect), rel_tol=1e-9, abs_tol=1e-12):
            return None
        return f"{path}: expected {_show(expect)}, got {_show(got)}"
    if expect != got or (type(expect) is bool and type(got) is not bool):
        return f"{path}: expected {_show(expect)}, got {_show(got)}"
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
