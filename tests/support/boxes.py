"""Build throwaway boxes on disk for tests: a manifest and tool modules from strings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path


def make_box(root: Path, name: str, tools: dict[str, str], manifest: str = "", **files: str) -> Path:
    """Write `root/name` with box.toml (plus `manifest` lines) and `tools/<module>.py` files.

    A box says `trust = "trusted"` unless `manifest` sets its trust: a box.toml without it
    is sandboxed, and these boxes are the tests' own code.
    """
    box = root / name
    (box / "tools").mkdir(parents=True, exist_ok=True)
    manifest = textwrap.dedent(manifest)
    trust = "" if re.search(r"^\s*trust\s*=", manifest, re.MULTILINE) else 'trust = "trusted"\n'
    (box / "box.toml").write_text(f'name = "{name}"\nversion = "1.0.0"\n{trust}' + manifest)
    for module, source in tools.items():
        (box / "tools" / f"{module}.py").write_text(textwrap.dedent(source))
    for filename, text in files.items():
        (box / filename.replace("__", ".")).write_text(textwrap.dedent(text))
    return box


ARITH = '''
    import os
    import time


    def add(a: int, b: int = 2) -> int:
        """Add two integers.

        Args:
            a: the first addend.
            b: the second addend.
        """
        print("add called")  # must not corrupt the worker channel
        return a + b


    def slow(seconds: float) -> str:
        """Sleep, then answer."""
        time.sleep(seconds)
        return "done"


    def crash(code: int = 7) -> str:
        """Exit the worker process abruptly."""
        os._exit(code)


    def fail(message: str) -> str:
        """Raise an error."""
        raise ValueError(message)
'''
