"""`mcp-box install` / `uninstall` on a temporary HOME, and the written entries started for real."""

import base64
import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_box_server.cli import main
from mcp_box_server.cli.clients import config_path
from mcp_box_server.cli.config_cmd import wsl_path
from tests.support.boxes import ARITH, make_box
from tests.support.cli import mcp_box as run_mcp_box
from tests.support.cli import snapshot

CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode")
KEY = {client: "servers" if client == "vscode" else "mcpServers" for client in CLIENTS}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HOME and an empty project folder as the current directory."""
    home = tmp_path / "home"
    project = tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "APPDATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(project)
    return home


@pytest.fixture
def boxes(tmp_path):
    root = tmp_path / "boxes"
    make_box(root, "calc", {"arith": ARITH})
    return root


def scopes(client):
    return ("user",) if client == "claude-desktop" else ("user", "project")


def mcp_box(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_config_paths_per_os(home, tmp_path):
    linux = {"HOME": str(home)}
    assert config_path("claude-desktop", platform="linux", environ=linux) == (
        home / ".config/Claude/claude_desktop_config.json"
    )
    xdg = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert config_path("claude-desktop", platform="linux", environ=xdg) == (
        tmp_path / "xdg/Claude/claude_desktop_config.json"
    )
    assert config_path("claude-desktop", platform="darwin", environ=linux) == (
        home / "Library/Application Support/Claude/claude_desktop_config.json"
    )
    windows = {"HOME": str(home), "APPDATA": str(tmp_path / "Roaming")}
    assert config_path("claude-desktop", platform="win32", environ=windows) == (
        tmp_path / "Roaming/Claude/claude_desktop_config.json"
    )
    assert config_path("cursor", environ=linux) == home / ".cursor/mcp.json"
    assert config_path("cursor", "project", environ=linux) == Path.cwd() / ".cursor/mcp.json"
    assert config_path("claude-code", environ=linux) == home / ".claude.json"
    assert config_path("claude-code", "project", environ=linux) == Path.cwd() / ".mcp.json"
    assert config_path("vscode", platform="linux", environ=linux) == home / ".config/Code/User/mcp.json"
    assert config_path("vscode", platform="darwin", environ=linux) == (
        home / "Library/Application Support/Code/User/mcp.json"
    )
    assert config_path("vscode", "project", environ=linux) == Path.cwd() / ".vscode/mcp.json"


@pytest.mark.parametrize("client", CLIENTS)
def test_install_merges_keeps_a_backup_is_idempotent_and_uninstalls(client, home, boxes, capsys):
    for scope in scopes(client):
        path = config_path(client, scope)
        path.parent.mkdir(parents=True, exist_ok=True)
        other = {"command": "npx", "args": ["-y", "some-other-server"]}
        original = json.dumps({KEY[client]: {"other": other}, "theme": "dark"}, indent=4)
        path.write_text(original)

        code, out, _ = mcp_box(capsys, "install", client, "--scope", scope, "--boxes", str(boxes))
        assert code == 0 and f"added 'mcp-box' to {path}" in out
        written = json.loads(path.read_text())
        assert written["theme"] == "dark" and written[KEY[client]]["other"] == other
        entry = written[KEY[client]]["mcp-box"]
        backup = path.with_name(path.name + ".mcp-box.bak")
        if scope == "user":
            assert entry["command"] == sys.executable
            assert entry["args"] == ["-m", "mcp_box_server", "serve", "--boxes", str(boxes.resolve())]
            assert backup.read_text() == original
        else:  # shared with the project: no path of this machine, and no backup to commit by mistake
            assert entry["command"] == "mcp-box"
            assert entry["args"] == ["serve", "--boxes", str(boxes.resolve())]  # outside the project
            assert not backup.exists()

        before = path.read_text()
        code, out, _ = mcp_box(capsys, "install", client, "--scope", scope, "--boxes", str(boxes))
        assert code == 0 and "nothing changed" in out and path.read_text() == before

        code, out, _ = mcp_box(capsys, "uninstall", client, "--scope", scope)
        assert code == 0 and "removed 'mcp-box'" in out
        after = json.loads(path.read_text())
        assert after == {KEY[client]: {"other": other}, "theme": "dark"}
        code, out, _ = mcp_box(capsys, "uninstall", client, "--scope", scope)
        assert code == 0 and "nothing changed" in out


@pytest.mark.parametrize("client", CLIENTS)
def test_install_creates_a_missing_file_and_print_writes_nothing(client, home, capsys):
    path = config_path(client)
    code, out, err = mcp_box(capsys, "install", client, "--print")
    assert code == 0 and not path.exists()
    printed = json.loads(out)[KEY[client]]["mcp-box"]
    assert printed["args"] == ["-m", "mcp_box_server", "serve"] and str(path) in err
    code, _, err = mcp_box(capsys, "install", client, "--name", "tools")
    assert code == 0 and "refuses" not in err  # serve serves here: no note about WSL or Docker
    assert json.loads(path.read_text())[KEY[client]]["tools"] == printed
    assert not path.with_name(path.name + ".mcp-box.bak").exists()  # nothing to back up


def test_foreign_entries_and_files_are_left_alone(home, capsys):
    path = config_path("cursor")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"mcpServers": {"mcp-box": {"command": "someone-elses"}}}))
    before = path.read_text()
    code, _, err = mcp_box(capsys, "install", "cursor")
    assert code == 1 and "not mcp-box" in err and path.read_text() == before
    code, _, err = mcp_box(capsys, "uninstall", "cursor")
    assert code == 1 and "not written by mcp-box" in err and path.read_text() == before

    path.write_text('{"mcpServers": {}, // a comment\n}')
    code, out, err = mcp_box(capsys, "install", "cursor")
    assert code == 1 and "is not plain JSON" in err and "add this yourself" in err
    assert json.loads(out)["mcpServers"]["mcp-box"]["args"] == ["-m", "mcp_box_server", "serve"]
    assert path.read_text() == '{"mcpServers": {}, // a comment\n}'


def test_mistakes(home, boxes, capsys):
    code, _, err = mcp_box(capsys, "install", "claude-desktop", "--scope", "project")
    assert code == 1 and "no project config" in err
    with pytest.raises(SystemExit, match="no box named maths"):
        main(["install", "vscode", "--boxes", str(boxes), "--box", "maths"])
    with pytest.raises(SystemExit, match="no such box directory"):
        main(["install", "vscode", "--boxes", str(boxes / "missing")])
    with pytest.raises(SystemExit, match="Settings > Connectors"):
        main(["install", "claude-desktop", "--url", "https://example.com/mcp"])


def test_remote_entry_with_a_token_keeps_the_token_out_of_the_file(home, capsys):
    url = "https://boxes.example.com/mcp"
    for client in ("vscode", "cursor", "claude-code"):
        code, _, _ = mcp_box(capsys, "install", client, "--url", url, "--bearer")
        assert code == 0
    vscode = json.loads(config_path("vscode").read_text())
    assert vscode["servers"]["mcp-box"] == {
        "type": "http",
        "url": url,
        "headers": {"Authorization": "Bearer ${input:mcp-box-token}"},
    }
    (token_input,) = vscode["inputs"]
    assert token_input["id"] == "mcp-box-token" and token_input["password"] is True
    cursor = json.loads(config_path("cursor").read_text())["mcpServers"]["mcp-box"]
    assert cursor == {"url": url, "headers": {"Authorization": "Bearer ${env:MCP_BOX_TOKEN}"}}
    claude = json.loads(config_path("claude-code").read_text())["mcpServers"]["mcp-box"]
    assert claude["headers"] == {"Authorization": "Bearer ${MCP_BOX_TOKEN}"}

    code, _, _ = mcp_box(capsys, "uninstall", "vscode")
    assert code == 0 and json.loads(config_path("vscode").read_text()) == {"servers": {}, "inputs": []}


def test_cursor_prints_its_install_deeplink(home, boxes, capsys):
    code, out, _ = mcp_box(capsys, "install", "cursor", "--boxes", str(boxes))
    assert code == 0
    link = next(word for word in out.split() if word.startswith("cursor://"))
    parsed = urlparse(link)
    assert (parsed.netloc, parsed.path) == ("anysphere.cursor-deeplink", "/mcp/install")
    query = parse_qs(parsed.query)
    assert query["name"] == ["mcp-box"]
    entry = json.loads(base64.b64decode(query["config"][0]))
    assert entry == json.loads(config_path("cursor").read_text())["mcpServers"]["mcp-box"]


async def list_tools_of(entry, cwd):
    """Start the server exactly as the client would: the entry's command, args and env."""
    command, args, env = entry["command"], entry["args"], entry.get("env")
    params = StdioServerParameters(command=command, args=args, env=env, cwd=cwd)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        return {tool.name for tool in (await session.list_tools()).tools}


@pytest.mark.parametrize("client", CLIENTS)
async def test_each_written_entry_starts_the_server(client, home, boxes, capsys, tmp_path):
    code, _, _ = mcp_box(capsys, "install", client, "--boxes", str(boxes))
    assert code == 0
    entry = json.loads(config_path(client).read_text())[KEY[client]]["mcp-box"]
    names = await list_tools_of(entry, cwd=tmp_path)  # not the checkout: the client's own folder
    assert {"calc_add", "calc_fail", "find_tools", "call_tool", "box_status"} <= names


async def test_the_default_entry_serves_the_bundled_boxes(home, capsys):
    code, _, _ = mcp_box(capsys, "install", "claude-desktop")
    assert code == 0
    entry = json.loads(config_path("claude-desktop").read_text())["mcpServers"]["mcp-box"]
    names = await list_tools_of(entry, cwd=os.sep)  # Claude Desktop starts servers from /
    assert {"math_solve_24", "bio_reverse_complement"} <= names


def project_entry_as_started(entry, client, project):
    """A project entry as its client starts it: in the project folder, ${workspaceFolder} expanded."""
    args = [arg.replace("${workspaceFolder}", str(project)) for arg in entry["args"]]
    return {**entry, "args": args}


@pytest.mark.parametrize("client", ("claude-code", "cursor", "vscode"))
async def test_a_project_entry_names_no_path_of_this_machine_and_starts(client, home, capsys, tmp_path):
    project = Path.cwd()
    make_box(project / "boxes", "calc", {"arith": ARITH})
    code, _, _ = mcp_box(capsys, "install", client, "--scope", "project", "--boxes", "boxes")
    assert code == 0
    text = config_path(client, "project").read_text()
    assert str(tmp_path) not in text and sys.executable not in text  # fit to commit and share
    entry = json.loads(text)[KEY[client]]["mcp-box"]
    assert entry["command"] == "mcp-box"
    folder = "${workspaceFolder}/boxes" if client in ("cursor", "vscode") else "./boxes"
    assert entry["args"] == ["serve", "--boxes", folder]

    started = project_entry_as_started(entry, client, project)
    bin_dir = str(Path(sys.executable).parent)  # where this install put `mcp-box`, as on a teammate's PATH
    started["env"] = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    assert {"calc_add", "box_status"} <= await list_tools_of(started, cwd=project)


@pytest.mark.parametrize("client", ("claude-code", "cursor", "vscode"))
def test_uninstall_leaves_no_stub_and_no_backup_in_a_project(client, home, capsys):
    project = Path.cwd()
    code, _, _ = mcp_box(
        capsys, "install", client, "--scope", "project", "--bearer", "--url", "https://h/mcp"
    )
    assert code == 0
    code, out, _ = mcp_box(capsys, "uninstall", client, "--scope", "project")
    assert code == 0 and "nothing else was in" in out and "deleted" in out
    assert list(project.iterdir()) == []  # no file, no empty .cursor/.vscode, no *.mcp-box.bak

    path = config_path(client, "project")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({KEY[client]: {"other": {"command": "x"}}}))
    assert mcp_box(capsys, "install", client, "--scope", "project")[0] == 0
    code, out, _ = mcp_box(capsys, "uninstall", client, "--scope", "project")
    assert code == 0 and "kept" not in out
    assert json.loads(path.read_text()) == {KEY[client]: {"other": {"command": "x"}}}
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_config_suggests_the_install_line_with_its_options(home, boxes, capsys):
    code, out, err = mcp_box(
        capsys, "config", "cursor", "--boxes", str(boxes), "--box", "calc", "--name", "c"
    )
    assert code == 0 and json.loads(out)["mcpServers"]["c"]["args"][-2:] == ["--box", "calc"]
    assert f"or run: mcp-box install cursor --boxes {boxes} --box calc --name c" in err
    code, out, err = mcp_box(capsys, "config", "vscode", "--scope", "project", "--docker=my/image:1")
    assert "or run: mcp-box install vscode --scope project --docker=my/image:1" in err
    assert str(Path.cwd() / ".vscode/mcp.json") in err


def test_docker_and_wsl_entries_are_written_and_removed(home, boxes, capsys):
    code, _, _ = mcp_box(
        capsys, "install", "claude-desktop", "--docker", "--boxes", str(boxes), "--box", "calc"
    )
    assert code == 0
    entry = json.loads(config_path("claude-desktop").read_text())["mcpServers"]["mcp-box"]
    assert entry == {
        "command": "docker",
        "args": [
            *("run", "-i", "--rm", "--entrypoint", "mcp-box", "-v", f"{boxes.resolve()}:/boxes/0:ro"),
            *("mcp-box", "serve", "--boxes", "/boxes/0", "--box", "calc"),
        ],
    }
    code, _, _ = mcp_box(capsys, "install", "claude-desktop", "--wsl", "--name", "in-wsl")
    assert code == 0
    written = json.loads(config_path("claude-desktop").read_text())["mcpServers"]
    assert written["in-wsl"] == {"command": "wsl.exe", "args": ["-e", "mcp-box", "serve"]}
    for name in ("mcp-box", "in-wsl"):  # both are known as ours
        code, out, _ = mcp_box(capsys, "uninstall", "claude-desktop", "--name", name)
        assert code == 0 and f"removed '{name}'" in out
    assert json.loads(config_path("claude-desktop").read_text()) == {"mcpServers": {}}
    with pytest.raises(SystemExit):
        main(["install", "cursor", "--docker", "--url", "https://h/mcp"])


def test_wsl_paths():
    assert wsl_path(r"C:\Users\me\boxes") == "/mnt/c/Users/me/boxes"
    assert wsl_path("D:/a b/c") == "/mnt/d/a b/c"
    assert wsl_path("C:\\") == "/mnt/c"
    assert wsl_path("/home/me/boxes") == "/home/me/boxes"


# Planted links: the real command in a process of its own, judged by what changed on disk.


def run_cli(*args, cwd, home):
    env = {
        k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "APPDATA")
    }
    env["HOME"] = str(home)
    return run_mcp_box(*args, cwd=cwd, env=env, timeout=120)


@pytest.fixture
def planted(tmp_path):
    """A repository that ships links out of itself, and a HOME with something worth stealing."""
    home, project, outside = tmp_path / "home", tmp_path / "repo", tmp_path / "outside"
    for folder in (home, project, outside):
        folder.mkdir()
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"theirs": {"command": "x"}}}))
    (project / ".mcp.json.mcp-box.bak").symlink_to(home / ".bashrc")
    (project / ".cursor").symlink_to(outside)
    (project / ".vscode").symlink_to(home)
    return home, project


def test_project_commands_write_nothing_through_planted_links(planted, tmp_path):
    home, project = planted
    outside_before = snapshot(tmp_path, leave_out=project)
    links_before = {p: os.readlink(p) for p in project.iterdir() if p.is_symlink()}

    result = run_cli("install", "claude-code", "--scope", "project", cwd=project, home=home)
    assert result.returncode == 0, result.stderr
    assert "mcp-box" in json.loads((project / ".mcp.json").read_text())["mcpServers"]
    result = run_cli("uninstall", "claude-code", "--scope", "project", cwd=project, home=home)
    assert result.returncode == 0, result.stderr
    for client in ("cursor", "vscode"):
        for command in ("install", "uninstall"):
            result = run_cli(command, client, "--scope", "project", cwd=project, home=home)
            folder = project / f".{client}"
            assert result.returncode == 1 and f"{folder} is a link" in result.stderr

    assert snapshot(tmp_path, leave_out=project) == outside_before  # not a byte outside the project
    assert {p: os.readlink(p) for p in project.iterdir() if p.is_symlink()} == links_before
    assert sorted(p.name for p in project.iterdir()) == [
        ".cursor",
        ".mcp.json",
        ".mcp.json.mcp-box.bak",
        ".vscode",
    ]


def test_a_linked_config_file_is_neither_read_nor_written(planted, tmp_path):
    home, project = planted
    (project / ".mcp.json").unlink()
    (project / ".mcp.json").symlink_to(home / ".bashrc")
    before = snapshot(tmp_path)
    for command in ("install", "uninstall"):
        result = run_cli(command, "claude-code", "--scope", "project", cwd=project, home=home)
        assert result.returncode == 1 and f"{project / '.mcp.json'} is a link" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_planted_backup_link_in_user_scope_is_refused(tmp_path):
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".cursor").mkdir(parents=True)
    project.mkdir()
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    (home / ".cursor/mcp.json").write_text(json.dumps({"mcpServers": {}}))
    (home / ".cursor/mcp.json.mcp-box.bak").symlink_to(home / ".bashrc")
    before = snapshot(tmp_path)
    result = run_cli("install", "cursor", cwd=project, home=home)
    assert result.returncode == 1 and f"{home / '.cursor/mcp.json.mcp-box.bak'} is a link" in result.stderr
    assert snapshot(tmp_path) == before  # no temporary file left behind either


def test_a_private_config_file_stays_private(home, capsys):
    path = config_path("claude-code")
    path.write_text(json.dumps({"oauthAccount": {"token": "secret"}}))
    path.chmod(0o600)
    assert mcp_box(capsys, "install", "claude-code")[0] == 0
    backup = path.with_name(path.name + ".mcp-box.bak")
    assert (path.stat().st_mode & 0o777, backup.stat().st_mode & 0o777) == (0o600, 0o600)
    assert json.loads(path.read_text())["oauthAccount"] == {"token": "secret"}
