from mcp_box_server.box import mismatch, read_examples


def test_mismatch_rules():
    assert mismatch({"value": 24}, {"value": 24, "text": "x"}) is None
    assert mismatch({"value": 0.1 + 0.2}, {"value": 0.3}) is None
    assert mismatch(2, 2.0) is None
    assert mismatch([1, 2], [1, 2]) is None
    assert mismatch(True, 1) == "result: expected true, got 1"
    assert mismatch({"a": {"b": 1}}, {"a": {"b": 2}}) == "result.a.b: expected 1, got 2"
    assert mismatch({"a": 1}, {}) == "result.a: missing"
    assert mismatch([1], [1, 2]) == "result: expected [1], got [1, 2]"


def test_read_examples_reports_bad_lines(tmp_path):
    (tmp_path / "examples.jsonl").write_text(
        '{"tool": "f", "arguments": {"x": 1}, "expect": 2}\n'
        "\n"
        "not json\n"
        '{"tool": "f", "arguments": {}}\n'
        '{"tool": "f", "arguments": {}, "expect_error": "bad"}\n'
    )
    examples, failures = read_examples(tmp_path)
    assert [e.line for e in examples] == [1, 5]
    assert examples[1].expect_error == "bad"
    found = [(f.line, f.message.split(":")[0]) for f in failures]
    assert found == [(3, "invalid JSON"), (4, 'expected {"tool"')]
