"""Box resources: files under resources/, URIs and templates named in box.toml."""

import os
from pathlib import Path, PurePosixPath

import pytest

from mcp_box_server.box import ManifestError, read_manifest
from mcp_box_server.box.files import BoxFileError, read_file
from mcp_box_server.box.resources import read_resources

MANIFEST = """name = "data"
[resources]
"test://static-text" = "resources/a b.txt"
"test://readme" = { file = "README.md", name = "readme", description = "The README.", mime_type = "text/x-r" }
[templates]
"test://item/{id}" = "item"
"test://page/{book}/{page}" = { function = "page", mime_type = "text/html", values = { book = ["a", "b"] } }
"""


def make(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    (tmp_path / "box.toml").write_text(manifest)
    (tmp_path / "README.md").write_text("# data")
    (tmp_path / "resources" / "img").mkdir(parents=True)
    (tmp_path / "resources" / "a b.txt").write_text("text")
    (tmp_path / "resources" / "img" / "dot.png").write_bytes(b"\x89PNG")
    (tmp_path / "resources" / ".hidden").write_text("x")
    return tmp_path


def test_files_under_resources_and_named_uris(tmp_path):
    root = make(tmp_path)
    resources, failures = read_resources(root, read_manifest(root))
    assert failures == []
    found = {r.uri: (str(r.file), r.mime_type) for r in resources}
    assert found == {
        "box://data/a%20b.txt": ("resources/a b.txt", "text/plain"),
        "box://data/img/dot.png": ("resources/img/dot.png", "image/png"),
        "test://static-text": ("resources/a b.txt", "text/plain"),
        "test://readme": ("README.md", "text/x-r"),
    }
    readme = next(r for r in resources if r.uri == "test://readme")
    assert (readme.name, readme.description) == ("readme", "The README.")


def test_templates_in_the_manifest(tmp_path):
    manifest = read_manifest(make(tmp_path))
    assert manifest.templates["test://item/{id}"].function == "item"
    page = manifest.templates["test://page/{book}/{page}"]
    assert (page.function, page.mime_type, page.values) == ("page", "text/html", {"book": ("a", "b")})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[resources]\n"not a uri" = "x"\n', "is not a URI"),
        ('[resources]\n"test://x" = "../etc/passwd"\n', "must be a path inside the box"),
        ('[resources]\n"test://x" = { name = "x" }\n', "needs a 'file'"),
        ('[resources]\n"test://x" = { file = "a", colour = "red" }\n', "unknown key 'colour'"),
        ('[templates]\n"test://fixed" = "f"\n', "is not a URI template"),
        ('[templates]\n"test://{id}" = { function = "f", values = { other = ["1"] } }\n', "'values' maps"),
        ("resources = 3\n", "must be a table"),
    ],
)
def test_bad_tables_name_the_problem(tmp_path, table, message):
    (tmp_path / "box.toml").write_text('name = "data"\n' + table)
    with pytest.raises(ManifestError, match=message):
        read_manifest(tmp_path)


def test_a_named_file_that_is_missing_or_a_link_is_a_failure(tmp_path):
    root = make(
        tmp_path, 'name = "data"\n[resources]\n"test://gone" = "nope.txt"\n"test://link" = "link.txt"\n'
    )
    os.symlink("/etc/hostname", root / "link.txt")
    os.symlink("/etc", root / "resources" / "etc")  # a folder link is not walked
    resources, failures = read_resources(root, read_manifest(root))
    assert {r.uri for r in resources} == {"box://data/a%20b.txt", "box://data/img/dot.png"}
    assert sorted(f.message.split(":")[0] for f in failures) == ["[resources] 'test", "[resources] 'test"]
    assert any("cannot be read" in f.message for f in failures)


def test_reads_stop_at_the_limit_and_refuse_links(tmp_path):
    root = make(tmp_path)
    assert read_file(root, PurePosixPath("resources/a b.txt"), 4) == b"text"
    with pytest.raises(BoxFileError, match="larger than"):
        read_file(root, PurePosixPath("resources/a b.txt"), 3)
    os.symlink(root / "resources" / "a b.txt", root / "resources" / "alias.txt")
    with pytest.raises(BoxFileError, match="cannot be read"):
        read_file(root, PurePosixPath("resources/alias.txt"), 100)


def test_past_the_file_cap_the_rest_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr("mcp_box_server.box.resources.MAX_FILES", 1)
    monkeypatch.setattr("mcp_box_server.box.files.MAX_FILES", 1)
    root = make(tmp_path, 'name = "data"\n')
    resources, failures = read_resources(root, read_manifest(root))
    assert len(resources) == 1 and "more than 1 files" in failures[0].message
