"""Text tool-call parsing and final-answer extraction: pure and fast."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_box_server.llm import ToolCallRequest
from mcp_box_server.student.parsing import (
    ParsedCall,
    decode_arguments,
    extract_final_answer,
    parse_message,
    parse_native,
    parse_text,
    strip_thinking,
)

CALL = ParsedCall("math_solve_24", {"numbers": [4, 9, 10, 13]})
ARGS = '{"numbers": [4, 9, 10, 13]}'


@pytest.mark.parametrize(
    "text",
    [
        f'<tool_call>{{"name": "math_solve_24", "arguments": {ARGS}}}</tool_call>',
        f'Let me compute.\n<tool_call>\n{{"name": "math_solve_24", "arguments": {ARGS}}}\n',
        f'```json\n{{"name": "math_solve_24", "arguments": {ARGS}}}\n```',
        f'```\n{{"name": "math_solve_24", "arguments": {ARGS}}}\n```',
        f'{{"name": "math_solve_24", "arguments": {ARGS}}}',
        f'I will call the tool: {{"name": "math_solve_24", "arguments": {ARGS}}} now.',
        f'<|python_tag|>{{"name": "math_solve_24", "parameters": {ARGS}}}<|eom_id|>',
        "<|python_tag|>math_solve_24(numbers=[4, 9, 10, 13])",
        f'[TOOL_CALLS] [{{"name": "math_solve_24", "arguments": {ARGS}}}]',
        f'{{"name": "math_solve_24", "parameters": {ARGS}}}',
        f'{{"name": "math_solve_24", "arguments": {json.dumps(ARGS)}}}',
        f'{{"name": "math_solve_24", "arguments": {json.dumps(json.dumps(ARGS))}}}',
        f'{{"type": "function", "function": {{"name": "math_solve_24", "arguments": {json.dumps(ARGS)}}}}}',
        "<tool_call>{'name': 'math_solve_24', 'arguments': {'numbers': [4, 9, 10, 13]}}</tool_call>",
        f'<tool_call>{{"name": "math_solve_24", "arguments": {ARGS},}}</tool_call>',
        '<tool_call>{"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13]}',
        '<think>Maybe {"name": "other", "arguments": {}}?</think>'
        f'<tool_call>{{"name": "math_solve_24", "arguments": {ARGS}}}</tool_call>',
    ],
    ids=[
        "tagged",
        "tag-unclosed",
        "json-fence",
        "bare-fence",
        "bare",
        "bare-in-prose",
        "python-tag",
        "python-tag-pycall",
        "mistral",
        "parameters",
        "double-encoded",
        "triple-encoded",
        "openai-shape",
        "python-literals",
        "trailing-comma",
        "missing-braces",
        "think-ignored",
    ],
)
def test_one_call_formats(text: str) -> None:
    parsed = parse_text(text)
    assert parsed.calls == (CALL,)
    assert parsed.errors == ()
    assert parsed.is_action


def test_several_tagged_calls() -> None:
    text = (
        '<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": {"y": "z"}}</tool_call>'
    )
    assert parse_text(text).calls == (ParsedCall("a", {"x": 1}), ParsedCall("b", {"y": "z"}))


def test_several_calls_after_python_tag() -> None:
    text = '<|python_tag|>{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {}}'
    assert parse_text(text).calls == (ParsedCall("a", {"x": 1}), ParsedCall("b", {}))


def test_several_tags_without_closing() -> None:
    text = '<tool_call>{"name": "a", "arguments": {}}\n<tool_call>{"name": "b", "arguments": {}}'
    assert [c.name for c in parse_text(text).calls] == ["a", "b"]


def test_json_list_of_calls() -> None:
    text = '[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"k": 2}}]'
    assert parse_text(text).calls == (ParsedCall("a", {}), ParsedCall("b", {"k": 2}))


def test_tagged_malformed_json_is_an_error() -> None:
    parsed = parse_text('<tool_call>{"name": "a", "arguments": {"x": 1}]]}</tool_call>')
    assert parsed.calls == ()
    (error,) = parsed.errors
    assert "invalid JSON" in error.reason
    assert parsed.is_action


def test_bare_malformed_call_is_an_error() -> None:
    parsed = parse_text('{"name": "a", "arguments": {"x": 1 2}}')
    assert parsed.calls == () and len(parsed.errors) == 1


def test_missing_name_is_an_error() -> None:
    (error,) = parse_text('<tool_call>{"arguments": {"x": 1}}</tool_call>').errors
    assert "name" in error.reason


def test_arguments_must_be_object() -> None:
    (error,) = parse_text('<tool_call>{"name": "a", "arguments": [1, 2]}</tool_call>').errors
    assert "JSON object" in error.reason


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 24.",
        'Final answer: {"value": 24}',
        '```json\n{"answer": 24}\n```',
        '```python\nprint("hi")\n```',
        "Use {braces} freely, and [brackets] too.",
        '{"name": "Alice"}',
    ],
)
def test_plain_answers_are_not_calls(text: str) -> None:
    parsed = parse_text(text)
    assert not parsed.is_action


def test_known_tool_name_without_arguments_is_a_call() -> None:
    assert parse_text('{"name": "box_status"}', known_tools={"box_status"}).calls == (
        ParsedCall("box_status", {}),
    )


def test_prose_around_a_call_is_kept() -> None:
    parsed = parse_text('First I check.\n<tool_call>{"name": "a", "arguments": {}}</tool_call>')
    assert parsed.text == "First I check."


def test_native_calls_first_and_double_encoded() -> None:
    calls = [
        ToolCallRequest("c1", "a", json.dumps(json.dumps({"x": 1}))),
        ToolCallRequest("c2", "b", ""),
        ToolCallRequest("c3", "c", "{not json"),
    ]
    parsed = parse_native(calls)
    assert parsed.calls == (ParsedCall("a", {"x": 1}, "c1"), ParsedCall("b", {}, "c2"))
    assert [e.id for e in parsed.errors] == ["c3"]
    message = parse_message('<tool_call>{"name": "z", "arguments": {}}</tool_call>', calls[:1])
    assert [c.name for c in message.calls] == ["a"] and message.native


def test_calls_drafted_while_thinking_are_not_run() -> None:
    text = '<think>maybe {"name": "math_gcd", "arguments": {"numbers": [4, 6]}}</think>The answer is 2.'
    parsed = parse_text(text)
    assert parsed.calls == () and parsed.text == "The answer is 2."


def test_strip_thinking() -> None:
    assert strip_thinking("<think>hmm</think>\nYes") == "Yes"
    assert strip_thinking("reasoning...</think>Yes") == "Yes"
    assert strip_thinking("<think>never closed") == ""


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Some work.\nFinal answer: 42", "42"),
        ("final answer is **(4 + 8) * 2**.", "(4 + 8) * 2"),
        ("Final Answer: 1\nthen more\nFinal answer: 2", "2"),
        ("So \\boxed{\\frac{1}{2}} it is", "\\frac{1}{2}"),
        ("Reasoning\nAnswer: 18 dollars", "18 dollars"),
        ("<think>Final answer: 3</think>It is 7.", "It is 7"),
        ("  24  ", "24"),
        ("Final answer: $\\boxed{7}$", "7"),
        (None, ""),
    ],
)
def test_extract_final_answer(text: str | None, answer: str) -> None:
    assert extract_final_answer(text) == answer


def test_decode_arguments_rejects_scalars() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        decode_arguments("3")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
arguments = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=4)


@given(name=names, args=arguments, key=st.sampled_from(["arguments", "parameters"]), encode=st.integers(0, 2))
def test_roundtrip_any_call(name: str, args: dict, key: str, encode: int) -> None:
    payload: object = args
    for _ in range(encode):
        payload = json.dumps(payload)
    body = json.dumps({"name": name, key: payload})
    for text in (f"<tool_call>{body}</tool_call>", f"```json\n{body}\n```", body, f"<|python_tag|>{body}"):
        assert parse_text(text).calls == (ParsedCall(name, args),)


@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    parsed = parse_text(text)
    assert isinstance(parsed.calls, tuple)
    extract_final_answer(text)


def test_html_escaped_tags_are_read() -> None:
    parsed = parse_text('&lt;tool_call&gt;{"name": "calc_add", "arguments": {"a": 1}}&lt;/tool_call&gt;')
    assert [(c.name, c.arguments) for c in parsed.calls] == [("calc_add", {"a": 1})]
