from pathlib import Path

from mcp_box_server.box.loader import load_box
from mcp_box_server.box.schema import validate_arguments
from tests.support.boxes import ARITH, make_box


def test_specs_from_signature_and_docstring(tmp_path):
    box = load_box(make_box(tmp_path, "calc", {"arith": ARITH}))
    assert box.failures == []
    spec = box.tools["calc_add"].spec
    assert spec.function == "add"
    assert spec.description == "Add two integers."
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "the first addend."},
            "b": {"type": "integer", "default": 2, "description": "the second addend."},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert spec.line == 6
    assert sorted(box.tools) == ["calc_add", "calc_crash", "calc_fail", "calc_slow"]


def test_validation_names_each_bad_parameter(tmp_path):
    tool = load_box(make_box(tmp_path, "calc", {"arith": ARITH})).tools["calc_add"]
    assert validate_arguments(tool.arguments, {"a": "3"}) == {"a": 3, "b": 2}
    try:
        validate_arguments(tool.arguments, {"a": "x", "c": 1})
    except ValueError as exc:
        message = str(exc)
    assert "parameter 'a'" in message and "unexpected parameter 'c'" in message


def test_bad_modules_are_reported_with_file_and_line_and_others_load(tmp_path):
    box_dir = make_box(
        tmp_path,
        "mixed",
        {
            "good": 'def ok(x: int) -> int:\n    """Fine."""\n    return x\n',
            "syntax": "def broken(:\n    pass\n",
            "importer": "import numpy_does_not_exist\n",
            "hints": 'def nohint(x):\n    """No hint."""\n    return x\n',
            "weird": (
                'import socket\n\ndef odd(s: socket.socket) -> int:\n    """Bad type."""\n    return 1\n'
            ),
            "twice": 'def ok(x: int) -> int:\n    """Again."""\n    return x\n',
            "nodoc": "def bare(x: int) -> int:\n    return x\n",
            "_helper": "def helper_only():\n    pass\n",
        },
    )
    box = load_box(box_dir)
    assert sorted(box.tools) == ["mixed_ok"]
    found = {Path(f.file).name: f for f in box.failures}
    assert found["syntax.py"].line == 1 and "syntax error" in found["syntax.py"].message
    assert found["importer.py"].line == 1 and "ModuleNotFoundError" in found["importer.py"].message
    assert found["hints.py"].line == 1 and "parameter 'x' has no type hint" in found["hints.py"].message
    assert found["weird.py"].line == 3 and "unsupported type hint" in found["weird.py"].message
    weird = found["weird.py"].message
    assert "use JSON-like types" in weird and "arbitrary_types" not in weird
    assert "duplicate tool name 'mixed_ok'" in found["twice.py"].message
    assert "has no docstring" in found["nodoc.py"].message
    assert "_helper.py" not in found


def test_all_and_decorator(tmp_path):
    source = '''
        from mcp_box_server import tool

        __all__ = ["visible", "renamed"]

        def visible(x: int) -> int:
            """Shown."""
            return x

        @tool(name="better_name", timeout=3, annotations={"readOnlyHint": True})
        def renamed(x: int) -> int:
            """Renamed."""
            return x

        def not_exported(x: int) -> int:
            """Hidden by __all__."""
            return x
    '''
    box = load_box(make_box(tmp_path, "dec", {"m": source}))
    assert sorted(box.tools) == ["dec_better_name", "dec_visible"]
    spec = box.tools["dec_better_name"].spec
    assert spec.timeout == 3 and spec.annotations == {"readOnlyHint": True}


def test_bad_manifest_is_a_failure_not_an_exception(tmp_path):
    box_dir = make_box(tmp_path, "b", {"m": ""}, manifest='trust = "maybe"\n')
    box = load_box(box_dir)
    assert box.manifest is None
    assert "trust" in box.failures[0].message and box.failures[0].line == 3


def test_module_calling_exit_is_contained(tmp_path):
    box = load_box(make_box(tmp_path, "ex", {"m": "import sys\nsys.exit(3)\n"}))
    assert "SystemExit" in box.failures[0].message


def test_a_module_shadowing_the_standard_library_is_refused(tmp_path):
    box = load_box(
        make_box(tmp_path, "sh", {"statistics": 'def mean(x: int) -> int:\n    """M."""\n    return x\n'})
    )
    assert box.tools == {}
    assert "shadows the standard library" in box.failures[0].message


def test_hidden_folders_are_not_boxes(tmp_path):
    from mcp_box_server.box import find_boxes

    make_box(tmp_path, "seen", {"m": ""})
    make_box(tmp_path / ".staging", "hidden", {"m": ""})
    make_box(tmp_path, ".wip", {"m": ""})
    assert find_boxes([tmp_path]) == [tmp_path / "seen"]


def test_reload_describes_only_changed_modules(tmp_path):
    one = 'def one(x: int) -> int:\n    """First."""\n    return x\n'
    two = 'def two(x: int) -> int:\n    """Second."""\n    return x\n'
    box_dir = make_box(tmp_path, "re", {"a": one, "b": two, "_helper": "K = 1\n"})
    known = load_box(box_dir).modules
    known["a.py"]["tools"]["one"]["description"] = "marker: reused"  # proves a.py is not described again
    (box_dir / "tools" / "b.py").write_text(two.replace("Second.", "Second, edited."))
    box = load_box(box_dir, known)
    assert box.tools["re_one"].spec.description == "marker: reused"
    assert box.tools["re_two"].spec.description == "Second, edited."
    assert box.tools["re_one"].arguments is None  # built on first call
    assert validate_arguments(box.tools["re_one"].arguments_model(), {"x": "4"}) == {"x": 4}

    (box_dir / "tools" / "_helper.py").write_text("K = 2\n")  # a helper change invalidates every module
    assert load_box(box_dir, known).tools["re_one"].spec.description == "First."


def test_helpers_import_both_ways_and_missing_requirements_are_reported(tmp_path):
    tools = {
        "m": "from ._words import split\nimport _words\n\ndef count(text: str) -> int:\n"
        '    """Count words."""\n    return len(split(text)) + 0 * len(_words.split(""))\n',
        "_words": "def split(text):\n    return text.split()\n",
    }
    box = load_box(make_box(tmp_path, "rel", tools, manifest='requires = ["sympy", "no-such-dist-zz"]\n'))
    assert box.tools["rel_count"].fn("a b c") == 3
    [failure] = box.failures
    assert failure.file.endswith("box.toml")
    expected = "requires 'no-such-dist-zz', which is not installed (pip install no-such-dist-zz)"
    assert expected in failure.message


def test_a_tool_name_ending_in_a_newline_is_refused(tmp_path):
    source = '''
        from mcp_box_server import tool

        @tool(name="sneaky\\n")
        def sneaky(x: int) -> int:
            """A name that "^...$" would have let through."""
            return x
    '''
    box = load_box(make_box(tmp_path, "dec", {"m": source}))
    assert box.tools == {}
    (failure,) = box.failures
    assert "tool name 'dec_sneaky\n' must match" in failure.message
