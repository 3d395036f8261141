"""distill where sandboxed workers cannot run (macOS without Seatbelt, Windows; emulated):
it says so plainly, and asks the teacher nothing."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.platform.emulate import UNPRIVILEGED, clean_env
from tests.support.scripted_openai import ScriptedOpenAI


@pytest.mark.parametrize(
    ("system", "why"), [("darwin", "sandbox not enforced here (seatbelt:"), ("windows", "WSL2")]
)
def test_distill_says_it_cannot_validate_here(system, why, request, tmp_path):
    python = request.getfixturevalue(f"{system}_python")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"question": "Convert 5 miles to kilometres.", "answer": 8.04672}) + "\n")
    with ScriptedOpenAI(lambda _: "no code") as llm:
        command = [
            *UNPRIVILEGED, str(python), "-m", "mcp_box_server", "distill", str(tasks),
            "--teacher", "scripted",
            "--base-url", llm.base_url, "--api-key", "x", "--out", str(tmp_path / "units"), "--quiet",
            "--cache", str(tmp_path / "cache"),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=clean_env(tmp_path))
        assert llm.requests == []
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "distill cannot validate candidate tools on this machine" in done.stderr and why in done.stderr
    assert not (tmp_path / "units").exists()
