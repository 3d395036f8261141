"""Candidates run in a real sandboxed worker: each way a tool can fail has its own reason."""

import pytest

from mcp_box_server.distill.extract import Call
from mcp_box_server.distill.tasks import Task
from mcp_box_server.distill.validate import Validator, normalise
from tests.distill.conftest import TEST_LIMITS

TASK = Task("t", "double 4", 8)


def tool(body: str, head: str = "") -> str:
    return f'{head}def double(x: int = 4) -> int:\n    """Double a number."""\n{body}'


@pytest.fixture
async def validator(tmp_path):
    async with Validator(TEST_LIMITS, tmp_path) as validator:
        yield validator


async def check(validator, source, arguments=None, task=TASK):
    return await validator.validate(source, [(task, Call("double", arguments or {}))])


async def test_a_correct_tool_passes_and_reports_its_result(validator, tmp_path):
    verdict = await check(validator, tool("    return 2 * x\n"), {"x": 4})
    assert verdict.ok and verdict.stage == "ok" and verdict.results == {"t": 8}
    assert list(tmp_path.iterdir()) == []  # the candidate box is cleaned up


async def test_wrong_answer(validator):
    verdict = await check(validator, tool("    return 3 * x\n"))
    assert verdict.stage == "answer" and verdict.reason() == "task t: wrong answer: expected 8, got 12"


async def test_gate_runs_first(validator):
    verdict = await check(validator, tool("    return 2 * x\n", "import socket\n\n"))
    assert verdict.stage == "gate" and "import of 'socket' is forbidden" in verdict.reason()


async def test_call_must_name_the_module_function(validator):
    verdict = await validator.validate(tool("    return 2 * x\n"), [(TASK, Call("triple", {}))])
    assert (
        verdict.stage == "call"
        and "the call names triple but the module defines 'double'" in verdict.reason()
    )


async def test_exceptions_bad_arguments_and_import_errors(validator):
    raised = await check(validator, tool("    return _missing(x)\n"))
    assert (
        raised.stage == "call" and "ToolFailed: NameError: name '_missing' is not defined" in raised.reason()
    )
    assert 'File "double.py", line 3, in double' in raised.reason()  # temp paths reduced to names
    bad = await check(validator, tool("    return 2 * x\n"), {"y": 1})
    assert "InvalidArguments" in bad.reason() and "unexpected parameter 'y'" in bad.reason()
    broken = await check(validator, tool("    return 2 * x\n", "_ = 1 / 0\n"))
    assert (
        broken.stage == "load"
        and broken.reason() == "double.py line 1: import failed: ZeroDivisionError: division by zero"
    )


async def test_infinite_loop_times_out(validator):
    verdict = await check(validator, tool("    while True:\n        pass\n"))
    assert verdict.stage == "call" and "ToolTimeout" in verdict.reason() and "after 1 s" in verdict.reason()


async def test_memory_bomb_hits_the_cap(validator):
    verdict = await check(validator, tool("    hoard = bytearray(8 * 10**9)\n    return len(hoard)\n"))
    assert verdict.stage == "call" and "ran out of memory (cap 256 MB)" in verdict.reason()


async def test_network_is_refused_at_runtime_too(validator):
    # The gate refuses `import socket`; this checks the sandbox behind it with code the gate cannot see.
    source = tool(
        "    import importlib as _i\n"
        "    _i.import_module('socket').create_connection(('1.1.1.1', 80), 1)\n"
        "    return 0\n"
    )
    assert (await check(validator, source)).stage == "gate"
    verdict = await validator._run(source, "double", [(TASK, Call("double", {}))])
    assert verdict.stage == "call" and "sandboxed box may not use socket" in verdict.reason()


async def test_writes_outside_the_temp_dir_are_refused_at_runtime(validator, tmp_path):
    target = tmp_path / "escape.txt"
    source = tool(f"    open({str(target)!r}, 'w').write('x')\n    return 8\n")
    verdict = await validator._run(source, "double", [(TASK, Call("double", {}))])
    assert "may not write outside its temp dir" in verdict.reason() and not target.exists()


def test_normalise_strips_temp_paths():
    import tempfile

    text = f'File "{tempfile.gettempdir()}/mcp-box-x-1/box/tools/f.py", line 3'
    assert normalise(text) == 'File "f.py", line 3'


async def test_candidates_are_named_as_they_will_be_served(tmp_path):
    long = "convert_an_amount_of_money_between_two_currencies"  # 49 characters: fine alone
    source = tool("    return 2 * x\n").replace("double", long)
    async with Validator(TEST_LIMITS, tmp_path, box="financial-calculators") as validator:
        verdict = await validator.validate(source, [(TASK, Call(long, {"x": 4}))])
        assert verdict.stage == "gate"
        assert verdict.reason() == (
            f"the tool would be served as 'financial-calculators_{long}' (71 characters, the limit is 64): "
            "name the function in at most 42 characters"
        )
        verdict = await validator.validate(tool("    return 2 * x\n"), [(TASK, Call("double", {"x": 4}))])
        assert verdict.ok
