"""`demos.jsonl`: reading worked examples, what a model reads for a result, and `mcp-box check` on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mcp_box_server.box import bundled_boxes_dir
from mcp_box_server.box.demos import demos_uri, observation, parse_demos, read_demos
from mcp_box_server.box.manifest import read_manifest
from mcp_box_server.box.resources import read_resources


def test_demos_are_read_with_exposed_tool_names() -> None:
    text = "\n".join(
        [
            json.dumps(
                {
                    "question": "Q1",
                    "calls": [{"tool": "solve_24", "arguments": {"numbers": [1]}, "result": 1}],
                    "answer": "A",
                }
            ),
            "",
            json.dumps(
                {
                    "question": "Q2",
                    "calls": [{"tool": "m_add", "arguments": {}, "result": {"text": "3"}}],
                    "answer": 3,
                }
            ),
            json.dumps({"question": "Q3", "answer": "no tool needed"}),
        ]
    )
    found = parse_demos(text, "m", "demos.jsonl")
    assert not found.failures
    assert [c.tool for d in found.demos for c in d.calls] == ["m_solve_24", "m_add"]
    assert [d.answer for d in found.demos] == ["A", "3", "no tool needed"]
    assert [d.line for d in found.demos] == [1, 3, 4] and found.demos[2].calls == ()


def test_malformed_demos_are_failures_naming_the_line_and_the_problem() -> None:
    lines = [
        "{not json",
        json.dumps({"question": "", "answer": "A"}),
        json.dumps({"question": "Q", "answer": None}),
        json.dumps({"question": "Q", "answer": "A", "calls": {"tool": "x"}}),
        json.dumps({"question": "Q", "answer": "A", "calls": [{"arguments": {}}]}),
        json.dumps({"question": "Q", "answer": "A", "calls": [{"tool": "t", "arguments": {}}]}),
        json.dumps({"question": "Q", "answer": "A"}),
    ]
    found = parse_demos("\n".join(lines), "m", "demos.jsonl")
    reasons = [(f.line, f.message) for f in found.failures]
    assert [line for line, _ in reasons] == [1, 2, 3, 4, 5, 6] and len(found.demos) == 1
    assert "invalid JSON" in reasons[0][1] and '"question"' in reasons[1][1] and '"answer"' in reasons[2][1]
    assert '"calls" must be a list' in reasons[3][1] and 'needs a "tool"' in reasons[4][1]
    assert '"result" is missing' in reasons[5][1]


def test_the_observation_is_the_text_field_else_compact_json() -> None:
    assert observation({"expression": "x", "text": "x = 24"}) == "x = 24"
    assert observation({"protein": "MA", "length": 2}) == '{"protein": "MA", "length": 2}'
    assert observation("plain") == "plain" and observation(42) == "42"


def test_a_box_with_demos_serves_them_as_a_resource(tmp_path: Path) -> None:
    box = tmp_path / "m"
    (box / "tools").mkdir(parents=True)
    (box / "box.toml").write_text('name = "m"\nversion = "0.1.0"\ndescription = "d"\n')
    (box / "demos.jsonl").write_text(json.dumps({"question": "Q", "answer": "A"}) + "\n")
    resources, failures = read_resources(box, read_manifest(box))
    assert not failures
    (demo,) = [r for r in resources if r.uri == demos_uri("m")]
    assert demo.uri == "box://m/demos" and str(demo.file) == "demos.jsonl" and demo.mime_type == "text/plain"


def test_bundled_demos_are_well_formed_and_cover_their_benchmarks() -> None:
    math = read_demos(bundled_boxes_dir() / "math", "math")
    bio = read_demos(bundled_boxes_dir() / "bio", "bio")
    assert not math.failures and not bio.failures
    assert sum(1 for d in math.demos if d.calls and d.calls[0].tool == "math_solve_24") >= 3
    assert sum(1 for d in bio.demos if d.calls and d.calls[0].tool == "bio_translate") >= 3
    for demo in math.demos + bio.demos:  # every answer is read from the result the tool returned
        assert demo.answer in json.dumps(demo.calls[0].result, ensure_ascii=False)


def test_check_runs_each_demo_call_again_and_fails_a_stale_one(tmp_path: Path) -> None:
    box = tmp_path / "m"
    (box / "tools").mkdir(parents=True)
    (box / "box.toml").write_text('name = "m"\nversion = "0.1.0"\ndescription = "d"\n')
    (box / "tools" / "add.py").write_text(
        'def add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'
    )
    demos = [
        {
            "question": "2+3?",
            "calls": [{"tool": "m_add", "arguments": {"a": 2, "b": 3}, "result": 5}],
            "answer": "5",
        },
        {
            "question": "2+2?",
            "calls": [{"tool": "add", "arguments": {"a": 2, "b": 2}, "result": 5}],
            "answer": "5",
        },
    ]
    (box / "demos.jsonl").write_text("".join(json.dumps(d) + "\n" for d in demos))
    done = subprocess.run(
        [sys.executable, "-m", "mcp_box_server", "check", str(box), "-v"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PASS m_add (demos.jsonl:1) ok" in done.stdout
    assert "FAIL m_add (demos.jsonl:2) result: expected 5, got 4" in done.stdout
    assert "m: 1 passed, 1 failed" in done.stdout
