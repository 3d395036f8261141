"""Windows, stood in for (see `emulate.py`): `serve` refuses with a pointer to WSL2 or the
Docker image, before it starts anything; `doctor` says so too, without a traceback."""

from __future__ import annotations

import json
import subprocess

from tests.platform.emulate import UNPRIVILEGED, clean_env
from tests.support.boxes import make_box

JAILED = '''
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
