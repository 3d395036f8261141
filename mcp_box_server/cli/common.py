"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def add_box_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--boxes",
        action="append",
        type=Path,
        metavar="DIR",
        help="a box directory, or a folder of boxes; one per flag, repeatable (default: the bundled boxes)",
    )
    parser.add_argument(
        "--box",
        action="append",
        metavar="NAME",
        help="serve only the box with this name (repeatable)",
    )
    parser.add_argument(
        "--unsafe-weak-sandbox",
        action="store_true",
        help="serve sandboxed boxes even where the kernel cannot enforce every sandbox layer "
        "(see `mcp-box doctor`); UNSAFE: their code is then only partly confined",
    )


def box_roots(args: argparse.Namespace) -> list[Path]:
    """The roots named with --boxes, checked to exist; the bundled boxes by default.

    Every --box NAME must name a box found there: a typo would otherwise serve nothing.
    """
    from mcp_box_server.box import bundled_boxes_dir

    if getattr(args, "unsafe_weak_sandbox", False):
        from mcp_box_server.runtime.confine import UNSAFE_ENV

        os.environ[UNSAFE_ENV] = "1"  # read where workers are started, as a client config would set it
    roots: list[Path] = args.boxes or [bundled_boxes_dir()]
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        raise SystemExit(f"mcp-box: no such box directory: {', '.join(missing)}")
    unknown = sorted(set(getattr(args, "box", None) or ()) - set(box_names(roots)))
    if unknown:
        found = ", ".join(sorted(box_names(roots))) or "none"
        where = ", ".join(str(root) for root in roots)
        raise SystemExit(f"mcp-box: no box named {', '.join(unknown)} in {where} (boxes there: {found})")
    return roots


def box_names(roots: list[Path]) -> list[str]:
    """The names in the box.toml of every box under `roots`; only manifests are read."""
    from mcp_box_server.box import ManifestError, find_boxes, read_manifest

    names: list[str] = []
    for box_dir in find_boxes(roots):
        try:
            names.append(read_manifest(box_dir).name)
        except ManifestError:
            names.append(box_dir.name)  # a broken box.toml: its folder is the best name to list
    return names


def setup_logging(level: str = "INFO") -> None:
    """Logs go to stderr: stdout belongs to the stdio transport."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("mcp_box").setLevel(level.upper())
