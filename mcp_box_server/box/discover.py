"""Find box directories: the bundled ones, or those under directories a user names."""

from __future__ import annotations

from pathlib import Path

from mcp_box_server.box.manifest import MANIFEST


def bundled_boxes_dir() -> Path:
    """Where the bundled boxes live: inside the wheel, or `boxes/` of a source checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_bundled_boxes"
    return installed if installed.is_dir() else package.parent / "boxes"


def find_boxes(roots: list[Path]) -> list[Path]:
    """Each root is a box (has box.toml) or a folder of boxes; result sorted, deduplicated.

    Hidden folders are skipped: tools stage work there (a box being written).
    """
    found: dict[Path, None] = {}
    for root in roots:
        root = root.resolve()
        if (root / MANIFEST).is_file():
            found[root] = None
        elif root.is_dir():
            for child in sorted(root.iterdir()):
                if not child.name.startswith(".") and (child / MANIFEST).is_file():
                    found[child] = None
    return list(found)
