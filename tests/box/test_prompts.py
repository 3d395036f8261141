"""Box prompts: front matter, arguments, attachments, and one bad file among good ones."""

import os
from pathlib import Path, PurePosixPath

import pytest

from mcp_box_server.box.prompts import PromptArgumentError, read_prompts

REVIEW = """---
name: review
description: Review a proof.
arguments:
  - name: level
    description: How strict.
    required: true
    values: [gentle, strict]
  - name: focus
attach:
  - resources/figure.png
  - file: resources/notes.txt
    uri: "notes://{{level}}"
---
Review this proof, {{ level }} please; focus on {{focus}}. {{unknown}} stays.
"""


def box(tmp_path: Path, prompts: dict[str, str]) -> Path:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "figure.png").write_bytes(b"\x89PNG")
    (tmp_path / "resources" / "notes.txt").write_text("notes")
    for name, text in prompts.items():
        (tmp_path / "prompts" / name).write_text(text)
    return tmp_path


def test_front_matter_arguments_and_attachments(tmp_path):
    prompts, failures = read_prompts(box(tmp_path, {"r.md": REVIEW}))
    assert failures == []
    (prompt,) = prompts
    assert (prompt.name, prompt.description) == ("review", "Review a proof.")
    assert [(a.name, a.required, a.values) for a in prompt.arguments] == [
        ("level", True, ("gentle", "strict")),
        ("focus", False, ()),
    ]
    assert [(a.file, a.uri) for a in prompt.attach] == [
        (PurePosixPath("resources/figure.png"), None),
        (PurePosixPath("resources/notes.txt"), "notes://{{level}}"),
    ]
    values = prompt.bind({"level": "strict"})
    assert prompt.render(values) == "Review this proof, strict please; focus on . {{unknown}} stays."


def test_a_missing_required_or_unknown_argument_is_named(tmp_path):
    (prompt,), _ = read_prompts(box(tmp_path, {"r.md": REVIEW}))
    with pytest.raises(PromptArgumentError, match="missing required argument 'level'"):
        prompt.bind({"focus": "x"})
    with pytest.raises(PromptArgumentError, match="unknown argument 'colour'"):
        prompt.bind({"level": "gentle", "colour": "red"})


def test_a_file_without_front_matter_is_named_after_itself(tmp_path):
    (prompt,), _ = read_prompts(box(tmp_path, {"hello.md": "Say hello.\n", "notes.txt": "not a prompt"}))
    assert (prompt.name, prompt.body, prompt.arguments) == ("hello", "Say hello.", ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\nname: [1\n---\nx", "invalid YAML front matter"),
        ("---\nname: bad name\n---\nx", "'name' must match"),
        ("---\ncolour: red\n---\nx", "unknown front matter key 'colour'"),
        ("---\narguments: [{description: x}]\n---\nx", "each argument needs a 'name'"),
        ("---\narguments: [{name: a, required: maybe}]\n---\nx", "'required' must be true or false"),
        ("---\nattach: [../secret.txt]\n---\nx", "must be a path inside the box"),
        ("---\nattach: [resources/missing.png]\n---\nx", "cannot be read"),
    ],
)
def test_a_bad_prompt_is_a_failure_beside_the_good_ones(tmp_path, text, message):
    prompts, failures = read_prompts(box(tmp_path, {"bad.md": text, "good.md": "Fine."}))
    assert [p.name for p in prompts] == ["good"]
    (failure,) = failures
    assert failure.file.endswith("prompts/bad.md") and message in failure.message


def test_attachments_never_go_through_links(tmp_path):
    root = box(tmp_path, {})
    os.symlink(root / "resources", root / "linked")
    (root / "prompts" / "p.md").write_text("---\nattach: [linked/notes.txt]\n---\nx")
    prompts, failures = read_prompts(root)
    assert prompts == [] and "goes through a link" in failures[0].message


def test_two_prompts_of_one_name(tmp_path):
    prompts, failures = read_prompts(
        box(tmp_path, {"a.md": "---\nname: same\n---\na", "b.md": "---\nname: same\n---\nb"})
    )
    assert [p.body for p in prompts] == ["a"] and "already used" in failures[0].message
