"""`--boxes` adds to the bundled boxes, `--no-bundled` leaves them out, the bundled boxes of
a checkout are the checkout's own; and newcomer edges: a port in use is one clear line, the
two progress bars of `eval --compare-no-box` are told apart."""

import json
import socket
from importlib import metadata
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_box_server.cli import common
from tests.support.boxes import make_box
from tests.support.cli import mcp_box
from tests.support.servers import SERVE

HI = 'def hi() -> str:\n    """Say hi."""\n    return "hi"\n'


@pytest.fixture(scope="module")
def mine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mine")
    make_box(root, "demo", {"greet": HI})
    return root


async def test_serving_a_folder_of_my_own_keeps_math_and_bio(mine):
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], "--boxes", str(mine), "--no-reload"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"demo_hi", "math_solve_24", "bio_translate"} <= names
        result = await session.call_tool("demo_hi", {})
        assert not result.is_error and result.structured_content == {"result": "hi"}
        result = await session.call_tool("math_gcd", {"numbers": [12, 18]})
        assert not result.is_error and result.structured_content["gcd"] == 6


def test_no_bundled_serves_only_the_folders_named(mine):
    done = mcp_box("ls", "--boxes", str(mine), "--no-bundled", "--json")
    assert done.returncode == 0 and [box["box"] for box in json.loads(done.stdout)] == ["demo"]
    done = mcp_box("ls", "--boxes", str(mine), "--json")
    assert {box["box"] for box in json.loads(done.stdout)} == {"bio", "demo", "math"}
    done = mcp_box("ls", "--no-bundled")
    assert (
        done.returncode != 0 and "--no-bundled leaves no boxes: name a folder with --boxes DIR" in done.stderr
    )


def test_a_box_of_mine_named_like_a_bundled_one_replaces_it(tmp_path):
    make_box(tmp_path, "math", {"greet": HI})
    done = mcp_box("ls", "--boxes", str(tmp_path), "--json")
    assert done.returncode == 0, done.stdout + done.stderr  # no "already served" error
    listed = {box["box"]: box for box in json.loads(done.stdout)}
    assert sorted(listed) == ["bio", "math"]
    assert listed["math"]["tools"] == ["math_hi"] and listed["math"]["path"] == str(tmp_path / "math")


def test_check_finds_a_box_by_name_in_boxes_and_show_suggests_boxes(mine):
    done = mcp_box("check", "--boxes", str(mine), "demo")
    assert done.returncode == 1 and "no examples to run" in done.stdout  # found, and says what it lacks
    done = mcp_box("check", "demo")
    assert done.returncode == 1
    assert "'demo' is neither a box directory nor a box name (bundled: bio, math)" in done.stderr
    assert "add its folder with --boxes DIR" in done.stderr
    done = mcp_box("show", "demo_hi")
    assert done.returncode == 1 and "add its folder with --boxes DIR" in done.stderr
    assert mcp_box("show", "demo_hi", "--boxes", str(mine)).stdout.startswith("demo_hi\n  Say hi.")


def test_config_passes_no_bundled_on_to_the_server_it_starts(mine):
    done = mcp_box("config", "vscode", "--boxes", str(mine), "--no-bundled")
    entry = json.loads(done.stdout)["servers"]["mcp-box"]
    assert entry["args"] == ["-m", "mcp_box_server", "serve", "--boxes", str(mine.resolve()), "--no-bundled"]


class Distribution:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        return self.direct_url if name == "direct_url.json" else None


@pytest.mark.parametrize("editable", [True, False])
def test_an_install_from_a_checkout_serves_the_checkouts_boxes(tmp_path, monkeypatch, editable):
    (tmp_path / "boxes").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mcp-box'\n")
    record = {"url": tmp_path.as_uri(), "dir_info": {"editable": True} if editable else {}}
    monkeypatch.setattr(metadata, "distribution", lambda name: Distribution(json.dumps(record)))
    assert common.bundled_dir() == tmp_path / "boxes"


@pytest.mark.parametrize(
    "record",
    [
        None,  # not installed by pip or uv from a folder
        {"url": "https://files.example/mcp_box-0.1.0-py3-none-any.whl", "archive_info": {}},
        {"url": "file:///nowhere/mcp-box", "dir_info": {}},  # the checkout is gone
    ],
)
def test_otherwise_the_bundled_boxes_are_the_packaged_ones(monkeypatch, record):
    from mcp_box_server.box import bundled_boxes_dir

    text = None if record is None else json.dumps(record)
    monkeypatch.setattr(metadata, "distribution", lambda name: Distribution(text))
    assert common.bundled_dir() == bundled_boxes_dir()


def test_a_port_in_use_is_one_clear_line_before_anything_starts(mine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = mcp_box("serve", "--transport", "http", "--port", port, "--boxes", str(mine), "--no-bundled")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"mcp-box serve: cannot listen on 127.0.0.1:{port}: the port is in use (another server, "
        "or an earlier mcp-box serve?); choose another --port"
    )


def test_the_two_eval_progress_bars_are_labelled_apart():
    from rich.console import Console

    from mcp_box_server.student.report import ArmProgress, make_progress

    console = Console(width=100, record=True, force_terminal=False)
    with make_progress(console) as progress:
        for arm in ("box", "no-box"):
            ArmProgress(progress, f"game24 [{arm}]", 3)
    lines = console.export_text().splitlines()
    assert [line.split()[:2] for line in lines[-2:]] == [["game24", "[box]"], ["game24", "[no-box]"]]
