"""The `mcp-box` commands as a user runs them: real processes, real workers."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.boxes import ARITH, make_box
from tests.support.cli import mcp_box


@pytest.fixture(scope="module")
def boxes(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_box(
        root,
        "calc",
        {"arith": ARITH},
        examples__jsonl='{"tool": "add", "arguments": {"a": 1}, "expect": 3}\n'
        '{"tool": "calc_add", "arguments": {"a": 1, "b": 1}, "expect": 2}\n'
        '{"tool": "fail", "arguments": {"message": "x"}, "expect_error": "ValueError"}\n',
    )
    make_box(root, "broken", {"bad": "def f(:\n"})
    return root


def test_ls_lists_tools_and_errors(boxes):
    done = mcp_box("ls", "--boxes", str(boxes), "--json")
    assert done.returncode == 1  # a box has errors
    listed = {box["box"]: box for box in json.loads(done.stdout)}
    assert listed["calc"]["tools"] == ["calc_add", "calc_slow", "calc_crash", "calc_fail"]
    assert listed["broken"]["serving"] is False
    assert "bad.py:1: syntax error" in listed["broken"]["errors"][0]
    table = mcp_box("ls", "--boxes", str(boxes), "--box", "calc")
    assert table.returncode == 0 and "calc_add" in table.stdout and "broken" not in table.stdout


def test_check_passes_and_fails(boxes, tmp_path):
    done = mcp_box("check", str(boxes / "calc"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "calc: 3 passed, 0 failed" in done.stdout
    wrong = shutil.copytree(boxes / "calc", tmp_path / "calc")
    (wrong / "examples.jsonl").write_text('{"tool": "add", "arguments": {"a": 1}, "expect": 4}\n')
    done = mcp_box("check", str(wrong))
    assert done.returncode == 1
    assert "FAIL add (examples.jsonl:1) result: expected 4, got 3" in done.stdout
    assert "calc: 0 passed, 1 failed" in done.stdout


def test_check_bundled_box_by_name():
    done = mcp_box("check", "math", timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " 0 failed" in done.stdout


def test_call_prints_the_result_or_a_clear_error(boxes):
    done = mcp_box("call", "calc_add", '{"a": 40}', "--boxes", str(boxes))
    assert done.returncode == 0 and json.loads(done.stdout) == 42
    done = mcp_box("call", "calc_add", '{"a": "x"}', "--boxes", str(boxes))
    assert done.returncode == 1 and "InvalidArguments: invalid arguments: parameter 'a'" in done.stderr
    done = mcp_box("call", "calc_add", "{nope", "--boxes", str(boxes))
    assert done.returncode == 2 and "ARGS is not valid JSON" in done.stderr
    done = mcp_box("call", "calc_nope", "{}", "--boxes", str(boxes))
    assert done.returncode == 1 and "unknown tool 'calc_nope'" in done.stderr and "calc_add" in done.stderr


@pytest.mark.parametrize(
    ("client", "key"), [("claude-desktop", "mcpServers"), ("cursor", "mcpServers"), ("vscode", "servers")]
)
def test_config_runs_this_interpreter(client, key, boxes):
    done = mcp_box("config", client, "--boxes", str(boxes), "--box", "calc")
    assert done.returncode == 0
    entry = json.loads(done.stdout)[key]["mcp-box"]
    assert entry["command"] == sys.executable
    assert entry["args"] == ["-m", "mcp_box_server", "serve", "--boxes", str(boxes), "--box", "calc"]
    started = subprocess.run([entry["command"], *entry["args"], "--help"], capture_output=True, text=True)
    assert started.returncode == 0


def test_server_alias_and_help():
    alias = shutil.which("mcp-box-server", path=str(Path(sys.executable).parent))
    assert alias is not None
    done = subprocess.run([alias, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--transport" in done.stdout


def test_mistakes_get_one_line_answers(boxes):
    done = mcp_box("call", "add", '{"a": 1}', "--boxes", str(boxes))
    assert done.returncode == 1 and "unknown tool 'add'; did you mean calc_add" in done.stderr
    done = mcp_box("check", "no-such-box")
    assert done.returncode == 1 and "(bundled: bio, math)" in done.stderr
    done = mcp_box("serve", "--port", "99999")
    assert done.returncode == 2 and "must be a port number from 1 to 65535" in done.stderr
    done = mcp_box("ls", "--server", "http://127.0.0.1:9/mcp")
    assert done.returncode == 2 and done.stderr.startswith("mcp-box ls: cannot ask http://127.0.0.1:9/mcp:")
    assert "Traceback" not in done.stderr
    done = mcp_box("config", "vscode", "--boxes", str(boxes / "missing"))
    assert done.returncode == 1 and "no such box directory" in done.stderr


def test_boxes_takes_one_folder_per_flag_and_keeps_positionals(boxes, tmp_path):
    done = mcp_box("call", "--boxes", str(boxes), "calc_add", '{"a": 1}')
    assert done.returncode == 0 and json.loads(done.stdout) == 3
    more = tmp_path / "more"
    make_box(more, "extra", {"e": 'def hi() -> str:\n    """Hi."""\n    return "hi"\n'})
    done = mcp_box("ls", "--boxes", str(boxes), "--boxes", str(more), "--no-bundled", "--json")
    assert {box["box"] for box in json.loads(done.stdout)} == {"calc", "broken", "extra"}
    done = mcp_box("ls", "--boxes", str(boxes), str(more))
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr


@pytest.mark.parametrize(
    "command", [("serve",), ("ls",), ("call", "maths_solve_24", "{}"), ("show", "maths_solve_24")]
)
def test_an_unknown_box_name_is_an_error_that_lists_the_boxes(command, boxes):
    done = mcp_box(*command, "--boxes", str(boxes), "--no-bundled", "--box", "maths", timeout=60)
    assert done.returncode == 1
    assert f"no box named maths in {boxes} (boxes there: broken, calc)" in done.stderr


def test_show_and_ls_tools_describe_parameters(boxes):
    done = mcp_box("show", "calc_add", "--boxes", str(boxes))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:7] == [
        "calc_add",
        "  Add two integers.",
        "  parameters:",
        "    a: integer  (required)",
        "        the first addend.",
        "    b: integer = 2",
        "        the second addend.",
    ]
    whole_box = mcp_box("show", "calc", "--boxes", str(boxes), "--json")
    specs = json.loads(whole_box.stdout)
    assert [spec["name"] for spec in specs] == ["calc_add", "calc_slow", "calc_crash", "calc_fail"]
    assert specs[0]["parameters"]["properties"]["b"]["default"] == 2
    done = mcp_box("ls", "--boxes", str(boxes), "--box", "calc", "--tools")
    assert done.returncode == 0 and "    seconds: number  (required)" in done.stdout
    assert "    b: integer = 2" in done.stdout
    done = mcp_box("show", "calc_ad", "--boxes", str(boxes))
    assert done.returncode == 1 and "no tool or box named 'calc_ad'; did you mean calc_add" in done.stderr


def test_a_tool_of_a_broken_box_names_the_load_error(boxes):
    for command in (("call", "broken_f", "{}"), ("show", "broken_f")):
        done = mcp_box(*command, "--boxes", str(boxes))
        assert done.returncode == 1
        assert "box 'broken' did not load:" in done.stderr and "bad.py:1: syntax error" in done.stderr
        assert done.stderr.count("bad.py:1") == 1  # said once, not logged again


def test_check_labels_results_with_the_box_name(boxes, tmp_path):
    renamed = shutil.copytree(boxes / "calc", tmp_path / "my-folder")
    done = mcp_box("check", str(renamed))
    assert done.returncode == 0 and "calc: 3 passed, 0 failed" in done.stdout


def test_load_errors_are_never_cut_at_80_columns(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "boxes"
    make_box(deep, "broken", {"bad_module_with_a_long_name": "def f(:\n"})
    error = f"{deep / 'broken' / 'tools' / 'bad_module_with_a_long_name.py'}:1: syntax error"
    assert len(error) > 80
    done = mcp_box("ls", "--boxes", str(deep))
    assert done.returncode == 1 and error in done.stdout
    done = mcp_box("check", str(deep / "broken"))
    assert f"LOAD ERROR {error}" in done.stdout


def test_ls_server_without_mcp_path_gets_a_hint(boxes):
    from tests.support.servers import http_server

    with http_server("--boxes", str(boxes), "--no-reload") as base:
        done = mcp_box("ls", "--server", f"{base}/")
        assert done.returncode == 2 and f"try {base}/mcp" in done.stderr
        done = mcp_box("ls", "--server", f"{base}/mcp", "--tools", "--json")
        calc = next(box for box in json.loads(done.stdout) if box["box"] == "calc")
        assert calc["specs"][0]["name"] == "calc_add" and "a" in calc["specs"][0]["parameters"]["properties"]


def test_server_alias_names_itself_in_help():
    alias = shutil.which("mcp-box-server", path=str(Path(sys.executable).parent))
    done = subprocess.run([alias, "--help"], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("usage: mcp-box-server ")
