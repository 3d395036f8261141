"""Tool signatures written back from JSON schemas, and refused where a name is not Python's."""

from __future__ import annotations

import pytest

from mcp_box_server.box.pysignature import python_signature, python_type


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer"}, "int"),
        ({"type": "array", "items": {"type": "number"}}, "list[float]"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "str | None"),
        ({"enum": ["real", "complex"]}, "Literal['real', 'complex']"),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "dict[str, int]"),
        ({"$ref": "#/$defs/P"}, "dict"),
        ({"anyOf": [{"type": "string"}, {}]}, "Any"),
        ("not a schema", "Any"),
    ],
)
def test_python_types(schema, expected):
    assert python_type(schema, {"P": {"type": "object", "properties": {"x": {}}}}) == expected


def test_a_signature_with_defaults_and_a_wrapped_return():
    parameters = {
        "type": "object",
        "properties": {
            "numbers": {"type": "array", "items": {"type": "integer"}},
            "target": {"type": "integer", "default": 24},
            "mode": {"enum": ["a", "b"], "default": "a"},
            "scale": {"type": "number", "default": float("nan")},  # json.loads reads NaN
        },
        "required": ["numbers"],
    }
    output = {"type": "object", "properties": {"result": {"type": "string"}}, "required": ["result"]}
    assert python_signature("solve", parameters, output) == (
        "def solve(numbers: list[int], target: int = 24, mode: Literal['a', 'b'] = 'a', "
        "scale: float = None) -> str"
    )


@pytest.mark.parametrize(
    ("function", "parameter"),
    [("class", "x"), ("ok", "x=__import__('os').system('id')"), ("ok", "lambda"), ("a-b", "x")],
)
def test_names_python_cannot_spell_give_no_signature(function, parameter):
    parameters = {"type": "object", "properties": {parameter: {"type": "string"}}}
    assert python_signature(function, parameters) is None


def test_defaults_are_literals_whatever_the_strings_hold():
    parameters = {"type": "object", "properties": {"s": {"type": "string", "default": "')\nimport os#"}}}
    signature = python_signature("f", parameters)
    namespace: dict = {}
    exec(f"from typing import Any\n{signature}:\n    return s\n", namespace)
    assert namespace["f"]() == "')\nimport os#"
