"""`mcp-box new NAME`: the scaffold is a working box that `mcp-box check` passes at once."""

import json
import tomllib

import pytest

from tests.support.cli import mcp_box


@pytest.mark.parametrize(("flags", "trust"), [((), "trusted"), (("--sandboxed",), "sandboxed")])
def test_a_new_box_passes_check_at_once(tmp_path, flags, trust):
    done = mcp_box("new", "demo", *flags, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    box = tmp_path / "demo"
    assert sorted(p.name for p in box.iterdir()) == [
        "README.md",
        "box.toml",
        "demos.jsonl",
        "examples.jsonl",
        "tools",
    ]
    assert tomllib.loads((box / "box.toml").read_text())["trust"] == trust
    done = mcp_box("check", "--boxes", ".", "demo", "-v", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(f"PASS count_words (examples.jsonl:{line})" in done.stdout for line in (1, 2, 3))
    assert "0 failed" in done.stdout and "FAIL" not in done.stdout  # demos too, where check runs them


def test_its_tool_has_a_schema_and_description_and_its_demo_is_what_the_tool_returns(tmp_path):
    assert mcp_box("new", "words", cwd=tmp_path).returncode == 0
    done = mcp_box("show", "words", "--boxes", ".", "--no-bundled", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (spec,) = json.loads(done.stdout)
    assert spec["name"] == "words_count_words" and spec["description"].startswith("Count the words")
    properties = spec["parameters"]["properties"]
    assert (
        properties["text"]["type"] == "string"
        and "separated by whitespace" in properties["text"]["description"]
    )
    assert spec["parameters"]["required"] == ["text"] and properties["unique"]["default"] is False
    (demo,) = [json.loads(line) for line in (tmp_path / "words" / "demos.jsonl").read_text().splitlines()]
    (call,) = demo["calls"]
    arguments = json.dumps(call["arguments"])
    done = mcp_box("call", call["tool"], arguments, "--boxes", ".", "--no-bundled", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout) == call["result"], done.stderr


def test_new_refuses_a_bad_name_and_an_existing_folder(tmp_path):
    done = mcp_box("new", "my_box", cwd=tmp_path)
    assert done.returncode == 2 and "'my_box' is not a box name" in done.stderr
    (tmp_path / "taken").mkdir()
    done = mcp_box("new", "taken", cwd=tmp_path)
    assert done.returncode == 1 and "already exists; nothing written" in done.stderr
    assert list((tmp_path / "taken").iterdir()) == []
