"""A tool's Python signature, written back from its JSON schema.

Code mode shows tools as functions (`def solve_24(numbers: list[int]) -> dict`):
what a model writes code against, and what `help()` prints inside a program. The
server holds only the specs a worker reported, never the box's code, so the
signature is rebuilt from the input schema. A spec comes from a box worker and is
untrusted: only identifiers become names, and defaults are JSON values written as
Python literals, so the text is safe to `exec` as a function header.
"""

from __future__ import annotations

import keyword
import math
from typing import Any

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def is_name(text: object) -> bool:
    """A Python identifier that is not a keyword: safe as a function or parameter name."""
    return isinstance(text, str) and text.isidentifier() and not keyword.iskeyword(text)


def python_type(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> str:
    """A JSON schema as a Python annotation: `list[int]`, `str | None`, `Literal['a', 'b']`."""
    if not isinstance(schema, dict) or depth > 8:
        return "Any"
    defs = defs if defs is not None else schema.get("$defs", {})
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return python_type(defs.get(ref.rsplit("/", 1)[1]), defs, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return "Literal[" + ", ".join(_literal(value) for value in schema["enum"]) + "]"
    if "const" in schema:
        return f"Literal[{_literal(schema['const'])}]"
    for union in ("anyOf", "oneOf"):
        if isinstance(schema.get(union), list) and schema[union]:
            return _union([python_type(option, defs, depth + 1) for option in schema[union]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([python_type({**schema, "type": one}, defs, depth + 1) for one in kind])
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, dict) and items:
            return f"list[{python_type(items, defs, depth + 1)}]"
        return "list"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and not schema.get("properties"):
            return f"dict[str, {python_type(extra, defs, depth + 1)}]"
        return "dict"
    return _SCALARS.get(kind, "Any") if isinstance(kind, str) else "Any"


def return_type(output: Any) -> str:
    """The return annotation from an `outputSchema` (a wrapped `{"result": ...}` unwrapped)."""
    if not isinstance(output, dict):
        return "Any"
    properties = output.get("properties")
    wrapped = isinstance(properties, dict) and set(properties) == {"result"}
    if wrapped and output.get("required") == ["result"]:
        return python_type(properties["result"], output.get("$defs", {}))  # type: ignore[index]
    return python_type(output)


def python_signature(function: str, parameters: dict[str, Any], output: Any = None) -> str | None:
    """`def NAME(a: int, b: str = 'x') -> T` for a tool, or None where its names are not Python's."""
    if not is_name(function):
        return None
    properties = parameters.get("properties", {}) if isinstance(parameters, dict) else {}
    if not isinstance(properties, dict):
        return None
    required = set(parameters.get("required", []) or [])
    defs = parameters.get("$defs", {})
    needed, optional = [], []
    for name, schema in properties.items():
        if not is_name(name):
            return None
        annotation = python_type(schema, defs)
        if name in required:
            needed.append(f"{name}: {annotation}")
        else:
            default = schema.get("default") if isinstance(schema, dict) else None
            optional.append(f"{name}: {annotation} = {_literal(default)}")
    return f"def {function}({', '.join(needed + optional)}) -> {return_type(output)}"


def _literal(value: Any) -> str:
    """A JSON value as a Python literal (what `json.loads` gives has a faithful `repr`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "None"  # json.loads reads NaN and Infinity; Python has no literal for them
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    return "None"


def _union(options: list[str]) -> str:
    seen = list(dict.fromkeys(options))
    if "Any" in seen:
        return "Any"
    return " | ".join(seen)
