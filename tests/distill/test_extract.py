import pytest

from mcp_box_server.distill.extract import Call, ExtractError, extract

MODULE = 'def double(x: int) -> int:\n    """Double."""\n    return 2 * x\n'


def test_python_and_json_fences():
    reply = extract(
        f"Sure.\n```python\n{MODULE}```\nThen:\n"
        '```json\n{"function": "double", "arguments": {"x": 4}}\n```'
    )
    assert reply.source == MODULE
    assert reply.calls == [(None, Call("double", {"x": 4}))]


def test_loose_replies_are_recovered():
    # unlabeled fences, <think> blocks, "name"/"parameters" spellings, arguments as a JSON string
    text = (
        "<think>```python\ndef wrong() -> int:\n    return 0\n```</think>"
        f"```\n{MODULE}```\n"
        '```\n{"name": "double", "parameters": "{\\"x\\": 2}"}\n```'
    )
    reply = extract(text)
    assert reply.source == MODULE and reply.calls == [(None, Call("double", {"x": 2}))]
    bare = extract(f'```py\n{MODULE}```\nCall: \n{{"function": "double", "arguments": {{}}}}\n')
    assert bare.calls == [(None, Call("double", {}))]


def test_task_ids_in_a_list_of_calls():
    text = (
        f'```python\n{MODULE}```\n```json\n[{{"task": "a", "function": "double", "arguments": {{"x": 1}}}},'
        f' {{"task_id": 7, "function": "double", "arguments": {{"x": 2}}}}]\n```'
    )
    assert extract(text).calls == [("a", Call("double", {"x": 1})), ("7", Call("double", {"x": 2}))]


def test_missing_parts_are_errors_that_say_what_is_missing():
    with pytest.raises(ExtractError, match="no ```python block"):
        extract("The answer is 4.")
    with pytest.raises(ExtractError, match="no call found"):
        extract(f"```python\n{MODULE}```")
