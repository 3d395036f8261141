"""bench/README.md, one section per script: a run replaces its own section and no other."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def replace_section(heading: str, section: str) -> None:
    """Put `section` (starting with `heading`) in bench/README.md in place of the old one, or at the end."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    README.write_text(text, encoding="utf-8")
