"""No module of the package fails to import on macOS or Windows (emulated: see `emulate.py`)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.platform.emulate import UNPRIVILEGED, clean_env

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import mcp_box_server

failed = []
for module in pkgutil.walk_packages(mcp_box_server.__path__, "mcp_box_server."):
    if module.name.endswith("__main__"):
        continue  # runs the command line
    try:
        importlib.import_module(module.name)
    except Exception as exc:
        failed.append(f"{module.name}: {type(exc).__name__}: {exc}")
print(json.dumps({"platform": sys.platform, "failed": failed}))
"""


@pytest.mark.parametrize("system", ["darwin", "windows"])
def test_every_module_imports(system, request, tmp_path):
    python = request.getfixturevalue(f"{system}_python")
    done = subprocess.run(
        [*UNPRIVILEGED, str(python), "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env(tmp_path),
    )
    result = json.loads(done.stdout)
    assert result["platform"] == {"darwin": "darwin", "windows": "win32"}[system]
    assert result["failed"] == []
