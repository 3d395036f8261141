import tomllib
from pathlib import Path

import pytest

from mcp_box_server.box import ManifestError, read_manifest


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "box.toml").write_text(text)
    return tmp_path


def test_defaults_and_overrides(tmp_path):
    manifest = read_manifest(
        write(tmp_path, 'name = "m"\ntimeout = 5\n[tools.slow]\ntimeout = 60\n[provenance]\nteacher = "x"\n')
    )
    assert manifest.name == "m"
    assert manifest.timeout_for("fast") == 5
    assert manifest.timeout_for("slow", declared=1) == 60
    assert manifest.timeout_for("fast", declared=1) == 1
    assert manifest.provenance == {"teacher": "x"}


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('name = "m"\ntrust = "yolo"\n', "'trust': must be one of trusted, sandboxed", 2),
        ('name = "bad name"\n', "'name': must match", 1),
        ('name = "math\\n"\n', "'name': must match", 1),  # "^...$" let a final newline through
        ('name = "m"\ntimeout = -1\n', "'timeout': must be a positive number", 2),
        ('name = "m"\ncolour = 1\n', "'colour': unknown key", 2),
        ('name = "m"\nrequires = "sympy"\n', "'requires': must be a list of strings", 2),
        ('name = "m"\n[tools.f]\ntimeout = "x"\n', "tools.f.timeout must be a positive number", None),
        ('name = "m\n', "invalid TOML", 1),
    ],
)
def test_errors_name_the_field_and_line(tmp_path, text, message, line):
    with pytest.raises(ManifestError) as info:
        read_manifest(write(tmp_path, text))
    assert message in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(tmp_path)


def test_box_uris_belong_to_the_box_they_name(tmp_path):
    from mcp_box_server.box import ManifestError

    for table, line in (
        ("resources", '"box://victim/data.txt" = "resources/x.txt"'),
        ("templates", '"box://victim/{x}" = "f"'),
    ):
        box = tmp_path / table / "aaa"
        box.mkdir(parents=True)
        (box / "box.toml").write_text(f'name = "aaa"\n[{table}]\n{line}\n')
        with pytest.raises(ManifestError, match="start with box://aaa/"):
            read_manifest(box)


def test_a_box_that_does_not_say_its_trust_is_sandboxed(tmp_path):
    """Silence never trusts: a downloaded or distilled box.toml without `trust` runs confined."""
    assert read_manifest(write(tmp_path, 'name = "m"\n')).trust == "sandboxed"
    assert read_manifest(write(tmp_path, 'name = "m"\ntrust = "trusted"\n')).trust == "trusted"


def test_the_bundled_boxes_say_their_trust():
    """The boxes shipped with mcp-box are trusted by their own line, not by a default."""
    bundled = sorted(Path(__file__).parents[2].joinpath("boxes").glob("*/box.toml"))
    assert bundled
    for path in bundled:
        assert "trust" in tomllib.loads(path.read_text()), path
        assert read_manifest(path.parent).trust == "trusted"


def test_code_mode_is_on_unless_a_box_says_false(tmp_path: Path):
    (tmp_path / "box.toml").write_text('name = "x"\n')
    assert read_manifest(tmp_path).code_mode is True
    (tmp_path / "box.toml").write_text('name = "x"\ncode_mode = false\n')
    assert read_manifest(tmp_path).code_mode is False
    (tmp_path / "box.toml").write_text('name = "x"\ncode_mode = "no"\n')
    with pytest.raises(ManifestError, match="'code_mode': must be true or false"):
        read_manifest(tmp_path)
