"""The baseline for bench/server.py: a bare FastMCP server with the boxes' tools in-process.

No mcp-box code is imported. Each box's `tools/*.py` (not starting with '_') is
imported by path, with the tools folder on sys.path for sibling helpers, and
every public function (or every name in `__all__`) is registered as
`<box>_<function>` with `server.tool(fn, name=...)`. This is what a developer
would write by hand to serve the same tools without process isolation.

Box directories come from $BENCH_BARE_BOXES (os.pathsep-separated; each a box
or a folder of boxes), default: the bundled boxes. Run it directly
(`python bench/_bare_server.py [--transport http --port P]`) or with
`fastmcp run bench/_bare_server.py:server` (the `--reload` baseline).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import sys
import tomllib
from pathlib import Path

from fastmcp import FastMCP

BUNDLED = Path(__file__).resolve().parents[1] / "boxes"
ENV = "BENCH_BARE_BOXES"


def _box_dirs(roots: list[Path]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        if (root / "box.toml").is_file():
            found.append(root)
        elif root.is_dir():
            found += [child for child in sorted(root.iterdir()) if (child / "box.toml").is_file()]
    return found


def _public_functions(module: object) -> list:
    exported = getattr(module, "__all__", None)
    functions = []
    for attr, fn in vars(module).items():
        if not inspect.isfunction(fn):
            continue
        if exported is not None:
            if attr in exported:
                functions.append(fn)
        elif not attr.startswith("_") and fn.__module__ == module.__name__:
            functions.append(fn)
    return functions


def build(roots: list[Path]) -> FastMCP:
    server = FastMCP("bare")
    for box_dir in _box_dirs(roots):
        box = tomllib.loads((box_dir / "box.toml").read_text())["name"]
        tools_dir = box_dir / "tools"
        sys.path.insert(0, str(tools_dir))
        for path in sorted(tools_dir.glob("*.py")):
            if path.name.startswith("_"):
                continue
            name = f"bare_{box}_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            for fn in _public_functions(module):
                server.tool(fn, name=f"{box}_{fn.__name__}")
    return server


_roots = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p] or [BUNDLED]
server = build(_roots)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run(show_banner=False)
    else:
        server.run(transport="http", host="127.0.0.1", port=args.port, show_banner=False, log_level="WARNING")
