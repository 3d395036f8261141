"""Which names in a box folder are not part of the box: one rule for the snapshot and the watcher.

Both must agree. A name the snapshot copies but the watcher ignores is an edit that is
served without a reload ever seeing it (a folder swapped through a `*.tmp` name stayed
served as it was raced); a name the watcher sees but the snapshot skips reloads for
nothing. So neither has rules of its own: both ask `ignored`.
"""

from __future__ import annotations

# Caches and dependency folders: never a box's own source.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
# Bytecode, and the scratch files editors and atomic writers leave beside a file.
_SUFFIXES = (".pyc", ".pyo", ".tmp", ".swp", ".swo", ".swx", "~", "___jb_tmp___", "___jb_old___")
_PREFIXES = (".", "flycheck_")  # hidden files and folders (.git, .venv, .#locks), flycheck copies


def ignored(name: str) -> bool:
    """True for a file or folder name that is not part of the box, wherever it is in it."""
    return name in SKIPPED_DIRS or name.startswith(_PREFIXES) or name.endswith(_SUFFIXES)
