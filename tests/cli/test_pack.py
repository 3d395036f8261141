"""`mcp-box pack mcpb`: the bundle's layout, its manifest against the MCPB schema, and the bundle run.

CI also runs the official validator (`mcpb validate`, from npm) on a bundle made here.
"""

import json
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_box_server import __version__
from mcp_box_server.cli import main
from tests.support.boxes import ARITH, make_box

SCHEMA = Path(__file__).parent.parent / "schemas" / "mcpb-manifest-v0.4.schema.json"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle of the calc test box alone (--box keeps only it): quick to load."""
    root = tmp_path_factory.mktemp("pack")
    make_box(root / "mine", "calc", {"arith": ARITH})
    (root / "mine" / "calc" / "tools" / "__pycache__").mkdir()
    (root / "mine" / "calc" / "tools" / "__pycache__" / "arith.pyc").write_bytes(b"junk")
    out = root / "calc.mcpb"
    assert main(["pack", "mcpb", "--out", str(out), "--boxes", str(root / "mine"), "--box", "calc"]) == 0
    unpacked = root / "unpacked"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(unpacked)
        names = archive.namelist()
    return unpacked, names


def test_layout(bundle):
    _, names = bundle
    assert {"manifest.json", "pyproject.toml", "server/main.py", "server/boxes/calc/box.toml"} <= set(names)
    assert "server/boxes/calc/tools/arith.py" in names
    assert "server/mcp_box_server/__init__.py" in names and "server/mcp_box_server/cli/serve_cmd.py" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith("server/boxes/math")]  # --box calc


def test_manifest(bundle):
    unpacked, _ = bundle
    manifest = json.loads((unpacked / "manifest.json").read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == __version__
    server = manifest["server"]
    assert server["type"] == "uv" and server["entry_point"] == "server/main.py"
    assert server["mcp_config"] == {
        "command": "uv",
        "args": ["run", "--directory", "${__dirname}", "server/main.py", "${user_config.box_folders}"],
    }
    assert manifest["tools_generated"] is True
    assert manifest["compatibility"]["platforms"] == ["darwin", "linux"]  # Windows: serve refuses
    names = {tool["name"] for tool in manifest["tools"]}
    assert names == {"calc_add", "calc_slow", "calc_crash", "calc_fail"}
    assert next(t for t in manifest["tools"] if t["name"] == "calc_add")["description"] == "Add two integers."
    folders = manifest["user_config"]["box_folders"]
    assert folders["type"] == "directory" and folders["multiple"] is True and folders["required"] is False


def test_pyproject_lists_this_installs_dependencies(bundle):
    import tomllib
    from importlib import metadata

    unpacked, _ = bundle
    project = tomllib.loads((unpacked / "pyproject.toml").read_text())
    wanted = {r for r in metadata.requires("mcp-box") if "extra ==" not in r}
    assert set(project["project"]["dependencies"]) == wanted
    assert project["tool"]["uv"]["package"] is False


async def list_tools(unpacked, *extra, cwd):
    params = StdioServerParameters(
        command=sys.executable, args=[str(unpacked / "server" / "main.py"), *extra], cwd=cwd
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return {tool.name for tool in (await session.list_tools()).tools}


async def test_the_bundle_serves_its_boxes_and_the_users_folders(bundle, tmp_path):
    unpacked, _ = bundle
    names = await list_tools(unpacked, "${user_config.box_folders}", cwd=tmp_path)  # as when left unset
    assert "calc_add" in names and not any(name.startswith("more_") for name in names)
    assert not any(name.startswith(("math_", "bio_")) for name in names)  # only what it packed
    make_box(tmp_path / "extra", "more", {"m": 'def hello() -> str:\n    """Hi."""\n    return "hi"\n'})
    names = await list_tools(unpacked, str(tmp_path / "extra"), cwd=tmp_path)
    assert {"calc_add", "more_hello"} <= names


def test_default_bundle_has_the_bundled_boxes(tmp_path, capsys):
    out = tmp_path / "default.mcpb"
    assert main(["pack", "mcpb", "--out", str(out)]) == 0
    assert "boxes bio, math" in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist())
    assert {"server/boxes/math/box.toml", "server/boxes/bio/box.toml"} <= names
    assert {"math_solve_24", "bio_reverse_complement"} <= {tool["name"] for tool in manifest["tools"]}


def test_a_box_that_does_not_load_is_not_packed(tmp_path, capsys):
    make_box(tmp_path / "mine", "broken", {"bad": "def f(:\n"})
    code = main(["pack", "mcpb", "--out", str(tmp_path / "x.mcpb"), "--boxes", str(tmp_path / "mine")])
    assert code == 1 and "bad.py:1" in capsys.readouterr().err
    assert not (tmp_path / "x.mcpb").exists()


def test_mcpb_takes_no_box_names(tmp_path, capsys):
    assert main(["pack", "mcpb", "math", "--out", str(tmp_path / "x.mcpb")]) == 2
    assert "choose boxes with --box NAME" in capsys.readouterr().err
    assert not (tmp_path / "x.mcpb").exists()
