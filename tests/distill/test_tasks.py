import json

import pytest

from mcp_box_server.distill.tasks import Task, TaskFileError, read_tasks, score


def test_read_tasks(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "a", "question": "q?", "answer": 3}\n\n{"question": "r?", "answer": "x", "scorer": "text"}\n'
    )
    assert read_tasks(path) == [Task("a", "q?", 3), Task("3", "r?", "x", "text")]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "invalid JSON"),
        ('{"question": 1, "answer": 2}', "expected"),
        ('{"question": "q"}', "expected"),
        ('{"question": "q", "answer": 1, "scorer": "fuzzy"}', "scorer must be one of"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, line, error):
    path = tmp_path / "t.jsonl"
    path.write_text('{"question": "ok", "answer": 1}\n' + line + "\n")
    with pytest.raises(TaskFileError, match=rf"t.jsonl:2: {error}"):
        read_tasks(path)


def test_duplicate_ids_and_empty_files(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps({"id": 1, "question": "q", "answer": 1}) * 1
        + "\n"
        + json.dumps({"id": "1", "question": "q", "answer": 1})
        + "\n"
    )
    with pytest.raises(TaskFileError, match="duplicate task id '1'"):
        read_tasks(path)
    path.write_text("\n")
    with pytest.raises(TaskFileError, match="no tasks"):
        read_tasks(path)


def test_scoring():
    assert score(Task("1", "q", 8.04672), 8.046720000000001) is None
    assert score(Task("1", "q", "42"), 42) is None  # numeric text answers compare as numbers
    assert score(Task("1", "q", 25), 400.0) == "wrong answer: expected 25, got 400.0"
    assert score(Task("1", "q", 1.0), "one") is not None
    assert score(Task("1", "q", "Paris"), " paris ") is None
    assert score(Task("1", "q", "Paris"), "Lyon") == 'wrong answer: expected "Paris", got "Lyon"'
    assert score(Task("1", "q", [1, 2]), [1, 2]) is None
    assert "wrong answer" in score(Task("1", "q", {"a": 1}), {"a": 2})
    assert score(Task("1", "q", 2, "exact"), 2.0000001) is not None
