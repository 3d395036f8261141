"""Hypothesis strategies from the JSON Schema subset pydantic emits for box tools.

hypothesis-jsonschema no longer works with current hypothesis, and tool schemas
use only: type, enum, anyOf, items, default, additionalProperties, required.
An unknown keyword fails loudly rather than being ignored.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_KNOWN = {
    "$schema",  # which JSON Schema dialect: says nothing about the values
    "type",
    "enum",
    "anyOf",
    "items",
    "default",
    "description",
    "additionalProperties",
    "properties",
    "required",
    "minimum",
    "maximum",
}
_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    unknown = set(schema) - _KNOWN
    if unknown:
        raise ValueError(f"schema keyword(s) this strategy does not know: {sorted(unknown)}")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        return _object(schema)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=8)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum")) | st.integers(-(10**12), 10**12)
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        return st.text(max_size=40) | st.sampled_from(["", "ATGC", "x^2+1", "2*x - 4", "GAATTC", "12"])
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind is None:
        return _JSON_SCALARS
    raise ValueError(f"unsupported schema type {kind!r}")


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = {name: from_schema(prop) for name, prop in properties.items() if name in required}
    optional = {name: from_schema(prop) for name, prop in properties.items() if name not in required}
    return st.fixed_dictionaries(fixed, optional=optional)
