"""`install`, `uninstall` and `config` on Windows, stood in for on Linux.

Each command is the real CLI in a process of its own, run by the interpreter of
`tests/platform/emulate.py` whose every process sees Windows's Python-level APIs
(`sys.platform` is "win32"; `os` has no O_NOFOLLOW, O_NONBLOCK, fork, ...; no `resource`,
`fcntl`, `pwd`), so the code picks its platform as production does, from `sys.platform`.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_install import snapshot
from tests.platform.emulate import clean_env, emulated_python


@pytest.fixture(scope="module")
def windows_python(tmp_path_factory):
    return emulated_python(tmp_path_factory.mktemp("windows") / "env", "windows")


@pytest.fixture
def windows(windows_python, tmp_path):
    """Run the real `mcp-box` as on Windows, with %APPDATA% and a home folder of its own."""
    home, appdata, project = tmp_path / "home", tmp_path / "AppData" / "Roaming", tmp_path / "project"
    for folder in (home, appdata, project):
        folder.mkdir(parents=True)
    env = clean_env(home) | {"APPDATA": str(appdata)}
    for name in ("XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR"):
        env.pop(name, None)

    def run(*args: str, cwd: Path = project, code: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [str(windows_python), *(["-c", code] if code else ["-m", "mcp_box_server", *args])]
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)

    probe = run(code="import os, sys; print(sys.platform, hasattr(os, 'O_NOFOLLOW'))")
    assert probe.stdout.split() == ["win32", "False"], probe.stderr
    run.home, run.appdata, run.project = home, appdata, project  # type: ignore[attr-defined]
    run.python = windows_python  # type: ignore[attr-defined]
    return run


def test_install_claude_desktop_writes_under_appdata_and_says_where_serve_runs(windows, tmp_path):
    result = windows("install", "claude-desktop")
    assert result.returncode == 0, result.stderr
    path = windows.appdata / "Claude" / "claude_desktop_config.json"
    assert f"added 'mcp-box' to {path}" in result.stdout
    entry = json.loads(path.read_text())["mcpServers"]["mcp-box"]
    assert entry == {"command": str(windows.python), "args": ["-m", "mcp_box_server", "serve"]}
    assert (
        "refuses to serve boxes" in result.stderr and "--wsl" in result.stderr and "--docker" in result.stderr
    )
    assert list(windows.home.iterdir()) == []  # nothing in ~/.config or anywhere else

    result = windows("uninstall", "claude-desktop")
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text()) == {"mcpServers": {}}
    assert (
        json.loads(path.with_name(path.name + ".mcp-box.bak").read_text())["mcpServers"]["mcp-box"] == entry
    )


def test_config_cursor_prints_the_entry_and_its_file(windows):
    result = windows("config", "cursor")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mcpServers"]["mcp-box"]["args"] == ["-m", "mcp_box_server", "serve"]
    assert f"merge this into {windows.home / '.cursor' / 'mcp.json'}" in result.stderr
    assert "or run: mcp-box install cursor" in result.stderr
    assert list(windows.home.iterdir()) == []


def test_docker_and_wsl_entries_for_claude_desktop(windows, tmp_path):
    boxes = tmp_path / "my boxes"
    boxes.mkdir()
    assert windows("install", "claude-desktop", "--docker", "--boxes", str(boxes)).returncode == 0
    result = windows("install", "claude-desktop", "--wsl", "--name", "wsl")
    assert result.returncode == 0, result.stderr
    assert "refuses to serve" not in result.stderr  # this one runs the server where it serves
    written = json.loads((windows.appdata / "Claude" / "claude_desktop_config.json").read_text())[
        "mcpServers"
    ]
    assert written["mcp-box"] == {
        "command": "docker",
        "args": [
            *("run", "-i", "--rm", "--entrypoint", "mcp-box", "-v", f"{boxes}:/boxes/0:ro"),
            *("mcp-box", "serve", "--boxes", "/boxes/0"),
        ],
    }
    assert written["wsl"] == {"command": "wsl.exe", "args": ["-e", "mcp-box", "serve"]}


def test_planted_links_are_refused_without_o_nofollow(windows, tmp_path):
    home, project = windows.home, windows.project
    (home / ".bashrc").write_text("export PATH=/usr/bin\n")
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"theirs": {"command": "x"}}}))
    (project / ".mcp.json.mcp-box.bak").symlink_to(home / ".bashrc")
    (project / ".cursor").symlink_to(home)
    (home / ".cursor").mkdir()
    (home / ".cursor" / "mcp.json").write_text("{}")
    (home / ".cursor" / "mcp.json.mcp-box.bak").symlink_to(home / ".bashrc")
    outside = snapshot(tmp_path, leave_out=project)

    for command in ("install", "uninstall"):
        result = windows(command, "claude-code", "--scope", "project")
        assert result.returncode == 0, result.stderr
        result = windows(command, "cursor", "--scope", "project")
        assert result.returncode == 1 and f"{project / '.cursor'} is a link" in result.stderr
    result = windows("install", "cursor")  # user scope: the backup is a planted link
    assert (
        result.returncode == 1 and f"{home / '.cursor' / 'mcp.json.mcp-box.bak'} is a link" in result.stderr
    )
    (project / ".mcp.json").unlink()
    (project / ".mcp.json").symlink_to(home / ".bashrc")
    result = windows("install", "claude-code", "--scope", "project")
    assert result.returncode == 1 and f"{project / '.mcp.json'} is a link" in result.stderr

    assert snapshot(tmp_path, leave_out=project) == outside
    assert os.readlink(project / ".mcp.json.mcp-box.bak") == str(home / ".bashrc")


READ_BOX = """
import sys
from pathlib import Path, PurePosixPath
from mcp_box_server.box import ManifestError, read_manifest
from mcp_box_server.box.files import BoxFileError, read_file
box = Path(sys.argv[1])
print(read_manifest(box / "good").name)
try:
    read_manifest(box / "linked")
except ManifestError as error:
    print("refused:", error)
print(read_file(box / "good", PurePosixPath("data.txt"), 100).decode())
try:
    read_file(box / "good", PurePosixPath("secret.txt"), 100)
except BoxFileError as error:
    print("refused:", error)
"""


def test_box_files_are_read_through_no_link_without_o_nofollow(windows, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text('name = "stolen"\n')
    good, linked = tmp_path / "boxes" / "good", tmp_path / "boxes" / "linked"
    good.mkdir(parents=True)
    linked.mkdir()
    (good / "box.toml").write_text('name = "good"\ntrust = "trusted"\n')
    (good / "data.txt").write_text("data")
    (good / "secret.txt").symlink_to(secret)
    (linked / "box.toml").symlink_to(secret)
    result = windows("-", code=READ_BOX.replace("sys.argv[1]", repr(str(tmp_path / "boxes"))))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "good" and lines[2] == "data"
    assert lines[1].startswith("refused:") and "link" in lines[1] and "stolen" not in result.stdout
    assert lines[3].startswith("refused:") and "secret.txt" in lines[3]
