"""Windows, stood in for (see `emulate.py`): `serve` refuses with a pointer to WSL2 or the
Docker image, before it starts anything; `doctor` says so too, without a traceback. `ls`,
`show` and `pack mcpb` read the boxes from their source; `check`, which must run them,
reports the refusal as the box's error (exit 1)."""

from __future__ import annotations

import json
import subprocess
import zipfile

from tests.platform.emulate import UNPRIVILEGED, clean_env
from tests.support.boxes import make_box

JAILED = '''
def probe() -> str:
    """Answer."""
    return "ok"
'''

RUNS = '''
open(MARKER, "w").close()  # box code: it must not run where no worker confines it


def probe() -> str:
    """Answer."""
    return "ok"
'''


def run(python, home, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*UNPRIVILEGED, str(python), "-m", "mcp_box_server", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=clean_env(home))


def test_serve_refuses_and_says_where_to_run_instead(windows_python, tmp_path):
    make_box(tmp_path, "jailed", {"tools": JAILED}, manifest='trust = "sandboxed"\n')
    for args in (("serve",), ("serve", "--boxes", str(tmp_path / "jailed"), "--transport", "http")):
        done = run(windows_python, tmp_path, *args)
        assert done.returncode == 2 and done.stdout == ""
        assert "Traceback" not in done.stderr
        assert "natively on Windows" in done.stderr and "WSL2" in done.stderr and "docker run" in done.stderr


def test_doctor_answers_without_a_traceback(windows_python, tmp_path):
    done = run(windows_python, tmp_path, "doctor", "--json")
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["platform"] == "windows"
    for trust in ("trusted", "sandboxed"):
        assert not report[trust]["serving"] and "WSL2" in report[trust]["errors"][0]
    text = run(windows_python, tmp_path, "doctor")
    assert "Platform: windows" in text.stdout and "Traceback" not in text.stderr
    assert "No box serves natively here" in text.stdout


def test_ls_and_show_read_the_boxes_from_their_source(windows_python, tmp_path):
    """No worker runs here, so no box code does: the tools are read from the source, exit 0."""
    done = run(windows_python, tmp_path, "ls", "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    boxes = {box["box"]: box for box in json.loads(done.stdout)}
    assert sorted(boxes) == ["bio", "math"]
    assert boxes["math"]["read_from"] == "source" and not boxes["math"]["serving"]
    assert "math_solve_24" in boxes["math"]["tools"] and not boxes["math"]["errors"]
    table = run(windows_python, tmp_path, "ls")
    assert table.returncode == 0 and "not served here" in table.stdout and "math_solve_24" in table.stdout
    assert "no box code run" in table.stderr and "WSL2" in table.stderr
    shown = run(windows_python, tmp_path, "show", "math")
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert "math_solve_24\n" in shown.stdout and "numbers: list[integer]  (required)" in shown.stdout
    typo = run(windows_python, tmp_path, "show", "math_solve24")
    assert (
        typo.returncode == 1
        and "did you mean math_solve_24" in typo.stderr
        and "Traceback" not in typo.stderr
    )


def test_a_broken_tool_module_is_that_boxs_error_and_no_code_runs(windows_python, tmp_path):
    marker = tmp_path / "ran"
    runs = RUNS.replace("MARKER", repr(str(marker)))
    make_box(tmp_path / "boxes", "runs", {"tools": runs})
    make_box(tmp_path / "boxes", "broken", {"tools": "def f(:\n"})
    done = run(windows_python, tmp_path, "ls", "--json", "--no-bundled", "--boxes", str(tmp_path / "boxes"))
    boxes = {box["box"]: box for box in json.loads(done.stdout)}
    assert done.returncode == 1 and boxes["runs"]["tools"] == ["runs_probe"] and not boxes["runs"]["errors"]
    assert "syntax error" in boxes["broken"]["errors"][0] and not marker.exists()


def test_check_reports_the_refusal_as_the_boxs_error_and_copies_nothing(windows_python, tmp_path):
    """check must run the examples in a worker: it says why it cannot, exit 1, no snapshot taken."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = clean_env(tmp_path) | {"TMPDIR": str(scratch)}
    command = [*UNPRIVILEGED, str(windows_python), "-m", "mcp_box_server", "check", "math"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "LOAD ERROR" in done.stdout and "natively on Windows" in done.stdout and "WSL2" in done.stdout
    assert "math: 0 passed, 0 failed" in done.stdout and "FAIL" not in done.stdout
    assert list(scratch.iterdir()) == []  # the pool refused before it made a snapshot root


def test_pack_mcpb_bundles_the_tools_read_from_source(windows_python, tmp_path):
    out = tmp_path / "bundle.mcpb"
    done = run(windows_python, tmp_path, "pack", "mcpb", "--out", str(out))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    with zipfile.ZipFile(out) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
    names = {tool["name"] for tool in manifest["tools"]}
    assert {"math_solve_24", "bio_translate"} <= names and len(names) > 40


SNAPSHOT = """
from pathlib import Path
from mcp_box_server.runtime import snapshot

for attempt in (lambda: snapshot.make_root("x"), lambda: snapshot.take(Path("."), Path("t"), 1)):
    try:
        attempt()
    except snapshot.SnapshotError as exc:
        print(exc.message)
print(snapshot.read_text(Path("box.toml"), 100))
"""


def test_the_snapshot_module_fails_closed_with_a_clear_error(windows_python, tmp_path):
    """No descriptor-relative, link-refusing calls on Windows: no snapshot, and it says why."""
    command = [str(windows_python), "-c", SNAPSHOT]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean_env(tmp_path))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    first, second, text = done.stdout.splitlines()
    assert first == second and "no private snapshot on this OS" in first and "O_NOFOLLOW" in first
    assert text == "None"
