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


def test_the_block_defining_the_called_function_wins_over_a_trailing_test_block():
    tests = (
        "import pytest\nfrom tool import double\n\n\n"
        "def test_double():\n    assert double(2) == 4\n\n\n"
        "def test_double_negative_numbers_and_zero_and_more():\n    assert double(-3) == -6\n"
    )
    text = (
        "Let me think about it. A first idea:\n```python\ndef double(x):\n    return x + x\n```\n"
        f"Final version:\n```python\n{MODULE}```\n"
        '```json\n{"function": "double", "arguments": {"x": 4}}\n```\n'
        f"And the tests, longer than the tool:\n```python\n{tests}```\n"
    )
    assert extract(text).source == MODULE
    # no call names a defined function: the longest block that is not a test module
    wrong = text.replace('"function": "double"', '"function": "twice"')
    assert extract(wrong).source == MODULE


def test_tilde_fences_async_def_and_python_literals_in_the_call():
    text = (
        "~~~python\nasync def double(x: int, exact: bool = True) -> int:\n"
        '    """Double."""\n    return 2 * x\n~~~\n'
        '~~~json\n{\n  // the task\'s value\n  "function": "double",\n'
        '  "arguments": {"x": 4, "exact": True, "note": None, "url": "http://a//b#c",},\n}\n~~~\n'
    )
    reply = extract(text)
    assert reply.source.startswith("def double(x: int, exact: bool = True) -> int:")
    assert reply.calls == [
        (None, Call("double", {"x": 4, "exact": True, "note": None, "url": "http://a//b#c"}))
    ]
    single = extract(
        f"```python\n{MODULE}```\n```json\n{{'function': 'double', 'arguments': {{'x': 1}}}}\n```"
    )
    assert single.calls == [(None, Call("double", {"x": 1}))]


def test_awaiting_tools_and_broken_json_are_errors_the_teacher_can_fix():
    awaiting = '```python\nasync def f() -> int:\n    return await g()\n```\n```json\n{"function": "f"}\n```'
    with pytest.raises(ExtractError, match="'f' awaits"):
        extract(awaiting)
    with pytest.raises(ExtractError, match="not valid JSON: Expecting"):
        extract(f"```python\n{MODULE}```\n" + '```json\n{"function": "double", "arguments": {"x": 4}\n```')


def test_reasoning_is_stripped_however_it_is_marked():
    call = '```json\n{"function": "double", "arguments": {"x": 4}}\n```'
    draft = "```python\ndef double(x):\n    return 0\n```"
    # the opening tag was in the chat template: only the closing one is in the reply
    assert extract(f"{draft}\nhmm</think>\n```python\n{MODULE}```\n{call}").source == MODULE
    assert extract(f"<thinking>{draft}</thinking>```python\n{MODULE}```\n{call}").source == MODULE
    with pytest.raises(ExtractError, match="no ```python block"):
        extract(f"<think>still thinking {draft} {call}")  # never closed: the reply was all reasoning
