"""Emulated interpreters, made once per test session (a venv each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.platform.emulate import emulated_python


@pytest.fixture(scope="session")
def darwin_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return emulated_python(tmp_path_factory.mktemp("darwin") / "env", "darwin")


@pytest.fixture(scope="session")
def windows_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return emulated_python(tmp_path_factory.mktemp("windows") / "env", "windows")
