"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def add_box_options(parser: argparse.ArgumentParser) -> None:
    add_boxes_option(parser)
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


def add_boxes_option(parser: argparse.ArgumentParser) -> None:
    """--boxes adds folders to the bundled boxes; --no-bundled leaves those out."""
    parser.add_argument(
        "--boxes",
        action="append",
        type=Path,
        metavar="DIR",
        help="a box directory, or a folder of boxes, served beside the bundled boxes (a box of the "
        "same name as a bundled one replaces it); one per flag, repeatable",
    )
    parser.add_argument(
        "--no-bundled",
        action="store_true",
        help="leave the bundled boxes (math, bio) out: only the --boxes folders",
    )


def box_roots(args: argparse.Namespace) -> list[Path]:
    """The --boxes roots, checked to exist, then the bundled boxes (unless --no-bundled).

    A --boxes box named like a bundled one replaces it (a user edits a copy of math), so
    the bundled folder is then given box by box, without that one. Every --box NAME must
    name a box found: a typo would otherwise serve nothing.
    """
    if getattr(args, "unsafe_weak_sandbox", False):
        from mcp_box_server.runtime.confine import UNSAFE_ENV

        os.environ[UNSAFE_ENV] = "1"  # read where workers are started, as a client config would set it
    roots: list[Path] = list(args.boxes or [])
    missing = [str(root) for root in roots if not root.exists()]
    if missing:
        raise SystemExit(f"mcp-box: no such box directory: {', '.join(missing)}")
    if not getattr(args, "no_bundled", False):
        roots += bundled_roots(roots)
    elif not roots:
        raise SystemExit("mcp-box: --no-bundled leaves no boxes: name a folder with --boxes DIR")
    unknown = sorted(set(getattr(args, "box", None) or ()) - set(box_names(roots)))
    if unknown:
        found = ", ".join(sorted(box_names(roots))) or "none"
        where = ", ".join(str(root) for root in roots)
        raise SystemExit(f"mcp-box: no box named {', '.join(unknown)} in {where} (boxes there: {found})")
    return roots


def bundled_dir() -> Path:
    """The bundled boxes; when this install was made from a checkout, that checkout's `boxes/`.

    "Made from a checkout": pip and uv record the folder an install came from in its
    `direct_url.json` (`pip install .` and `pip install -e .` alike). When that folder is
    still a source tree (pyproject.toml and boxes/), its boxes are served and watched, so
    an edit there is live; otherwise the copy inside the installed package.
    """
    from mcp_box_server.box import bundled_boxes_dir

    checkout = _source_tree()
    if checkout is not None:
        return checkout / "boxes"
    return bundled_boxes_dir()


def _source_tree() -> Path | None:
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlsplit

    try:
        record = json.loads(metadata.distribution("mcp-box").read_text("direct_url.json") or "null")
    except (metadata.PackageNotFoundError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or "dir_info" not in record
        or not str(record.get("url", "")).startswith("file:")
    ):
        return None
    folder = Path(unquote(urlsplit(record["url"]).path))
    return folder if (folder / "pyproject.toml").is_file() and (folder / "boxes").is_dir() else None


def bundled_roots(user_roots: list[Path]) -> list[Path]:
    """The bundled folder, or its boxes one by one less those a --boxes box of the same name replaces."""
    from mcp_box_server.box import find_boxes

    bundled = bundled_dir()
    taken = set(box_names(user_roots))
    mine = find_boxes([bundled])
    kept = [path for path, name in zip(mine, box_names(mine), strict=True) if name not in taken]
    return [bundled] if len(kept) == len(mine) else kept


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


def boxes_by_name(roots: list[Path]) -> dict[str, Path]:
    """Each box name under `roots` and the folder that serves it: the first found, as the server does."""
    from mcp_box_server.box import find_boxes

    found: dict[str, Path] = {}
    boxes = find_boxes(roots)
    for path, name in zip(boxes, box_names(boxes), strict=True):
        found.setdefault(name, path)
    return found


def named_boxes(roots: list[Path], names: list[str], command: str) -> dict[str, Path] | None:
    """`boxes_by_name(roots)` when every one of `names` is among them; else None, said on stderr."""
    found = boxes_by_name(roots)
    unknown = [name for name in names if name not in found]
    if unknown:
        print(
            f"mcp-box {command}: no box named {', '.join(unknown)} (boxes: {', '.join(sorted(found))}; "
            "a box of your own: add its folder with --boxes DIR)",
            file=sys.stderr,
        )
        return None
    return found


def setup_logging(level: str = "INFO") -> None:
    """Logs go to stderr: stdout belongs to the stdio transport."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("mcp_box").setLevel(level.upper())
    # The format shows no caller, thread or process: each record skips looking them up (a
    # server writes a call log line per tool call). The logging HOWTO's "Optimization".
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
