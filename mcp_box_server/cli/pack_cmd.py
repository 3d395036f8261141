"""`mcp-box pack mcpb|skill`: boxes packed for clients that do not start `mcp-box serve`.

`pack skill BOX --out DIR` writes the box as an Agent Skill (see `skill_pack`).
`pack mcpb` writes this install and its boxes as one Claude Desktop extension (`.mcpb`).
The bundle holds this install's own `mcp_box_server` source, the boxes (bundled ones and
any `--boxes`), and a `pyproject.toml` of its dependencies: `server.type = "uv"` lets the
host fetch Python and those dependencies, so nothing compiled is shipped. Tools change at
run time (hot reload, boxes chosen by the user), hence `tools_generated: true`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from mcp_box_server import __version__
from mcp_box_server.cli.common import add_box_options, box_roots, setup_logging

DISTRIBUTION = "mcp-box"
MANIFEST_VERSION = "0.4"  # the first with server.type "uv"; @anthropic-ai/mcpb 2.1 validates it
ENTRY_POINT = "server/main.py"
SKIPPED = {"__pycache__", "_bundled_boxes"}  # bytecode, and the wheel's copy of the boxes

MAIN_PY = '''"""Entry point of the mcp-box bundle: serve its boxes and the folders the user chose."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the bundled mcp_box_server, whatever else is installed

from mcp_box_server.cli import main  # noqa: E402

args = ["serve", "--no-bundled", "--boxes", str(HERE / "boxes")]
for folder in sys.argv[1:]:
    if folder and not folder.startswith("${"):  # an unset user_config may come through as is
        args += ["--boxes", folder]
sys.exit(main(args))
'''


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pack",
        help="pack boxes as Agent Skills (skill) or as a Claude Desktop extension (mcpb)",
        description="skill: write each BOX as an Agent Skill folder, OUT/<box>/ with SKILL.md, "
        "scripts/call.py (runs a tool through mcp-box's box runtime), references/ (every tool) and "
        "assets/ (the box); check it with `agentskills validate OUT/<box>`. "
        "mcpb: write a .mcpb bundle (a zip with manifest.json) of this install: its source, "
        "the bundled boxes and any --boxes (--box NAME keeps only the boxes named), and its "
        "dependencies for uv; check it with `npx @anthropic-ai/mcpb info FILE`, open it with "
        "Claude Desktop to install.",
    )
    parser.add_argument("format", choices=("mcpb", "skill"), help="what to write")
    parser.add_argument("names", nargs="*", metavar="BOX", help="skill: the boxes to pack, by name")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help=f"mcpb: the file (default ./mcp-box-{__version__}.mcpb); "
        "skill: the folder the skill folders go in (default .)",
    )
    add_box_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging("WARNING")
    if args.format == "skill":
        return run_skill(args)
    if args.names:
        print("mcp-box pack mcpb: choose boxes with --box NAME (the bundle takes no BOX)", file=sys.stderr)
        return 2
    return run_mcpb(args)


def run_skill(args: argparse.Namespace) -> int:
    """One skill folder per BOX, each box loaded in a real worker for its tools."""
    from mcp_box_server.cli.common import named_boxes
    from mcp_box_server.cli.skill_pack import SkillError, write_skill

    if not args.names:
        print("mcp-box pack skill: name the box(es) to pack, e.g. `mcp-box pack skill math`", file=sys.stderr)
        return 2
    found = named_boxes(box_roots(args), args.names, "pack skill")
    if found is None:
        return 2
    out: Path = args.out or Path(".")
    for name in args.names:
        try:
            info = asyncio.run(box_info(found[name]))
            folder = write_skill(info, out)
        except SkillError as error:
            print(f"mcp-box pack skill: {error}", file=sys.stderr)
            return 1
        print(f"mcp-box: wrote {folder} ({len(info.tools)} tools; check: agentskills validate {folder})")
    return 0


async def box_info(box_dir: Path) -> Any:
    """The box's manifest, card, examples and tools, the tools from a real worker (as `ls` does)."""
    from mcp_box_server.box import ManifestError, read_examples, read_manifest
    from mcp_box_server.cli.skill_pack import BoxInfo, SkillError
    from mcp_box_server.server.registry import BoxRegistry

    try:
        manifest = read_manifest(box_dir)
    except ManifestError as error:
        raise SkillError(str(error)) from None
    registry = BoxRegistry([box_dir], {manifest.name})
    await registry.start()
    try:
        errors = [error for box in registry.status() for error in box["errors"]]
        tools = sorted(registry.tools.values(), key=lambda spec: spec.function)
    finally:
        await registry.close()
    if errors or not tools:
        raise SkillError(f"box {manifest.name} does not load: {'; '.join(errors) or 'no tools'}")
    card_path = box_dir / "README.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    examples, _ = read_examples(box_dir)
    return BoxInfo(manifest, card, tools, examples)


def run_mcpb(args: argparse.Namespace) -> int:
    from mcp_box_server.box import ManifestError, find_boxes, read_manifest

    roots = box_roots(args)
    boxes: dict[str, Path] = {}
    for box_dir in find_boxes(roots):
        try:
            name = read_manifest(box_dir).name
        except ManifestError as error:
            print(f"mcp-box pack: {error}", file=sys.stderr)
            return 1
        if args.box and name not in args.box:
            continue
        if name in boxes:
            print(f"mcp-box pack: two boxes named {name}: {boxes[name]} and {box_dir}", file=sys.stderr)
            return 1
        boxes[name] = box_dir
    tools, errors = asyncio.run(_tools(sorted(boxes.values())))
    if errors:
        print(
            "mcp-box pack: boxes that do not load are not packed; fix them or leave them out with --box:",
            file=sys.stderr,
        )
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    out: Path = args.out or Path(f"mcp-box-{__version__}.mcpb")
    write_bundle(out, boxes, tools)
    print(
        f"mcp-box: wrote {out} ({out.stat().st_size // 1024} KiB: boxes {', '.join(sorted(boxes))}, "
        f"{len(tools)} tools)"
    )
    return 0


async def _tools(box_dirs: list[Path]) -> tuple[list[dict[str, str]], list[str]]:
    """Each box loaded in a real worker, as `ls` does: the tools the bundle starts with.

    Where no worker runs (Windows), read from the boxes' source, as `ls` does there.
    """
    from mcp_box_server.cli.ls_cmd import read_from_source, source_only
    from mcp_box_server.server.registry import BoxRegistry

    if source_only():
        status, specs = read_from_source(box_dirs, None)
        tools = [{"name": spec.name, "description": _summary(spec.description)} for spec in specs]
    else:
        registry = BoxRegistry(box_dirs)
        await registry.start()
        try:
            status = registry.status()
            tools = [
                {"name": spec.name, "description": _summary(spec.description)}
                for spec in registry.tools.values()
            ]
        finally:
            await registry.close()
    errors = [f"{box['box']}: {error}" for box in status for error in box["errors"]]
    return sorted(tools, key=lambda tool: tool["name"]), errors


def _summary(description: str) -> str:
    first = description.strip().split("\n\n")[0]
    return " ".join(first.split())[:300]


def manifest(boxes: dict[str, Path], tools: list[dict[str, str]]) -> dict[str, Any]:
    """The bundle's manifest.json (MCPB manifest 0.4)."""
    from mcp_box_server.box import read_manifest

    about = metadata.metadata(DISTRIBUTION)
    summaries = [
        f"- {name}: {read_manifest(path).description or 'no description'}"
        for name, path in sorted(boxes.items())
    ]
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": "mcp-box",
        "display_name": "mcp-box",
        "version": __version__,
        "description": "Tool boxes (teacher-written Python tools) served over MCP, with hot reload.",
        "long_description": f"{about['Summary']}\n\nBoxes in this bundle:\n"
        + "\n".join(summaries)
        + "\n\nAdd your own box folders in the extension's settings.",
        "author": {"name": about.get("Author") or "mcp-box contributors"},
        "license": about.get("License") or "MIT",
        "keywords": ["mcp", "tools", "agent-distillation", *sorted(boxes)],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", ENTRY_POINT, "${user_config.box_folders}"],
            },
        },
        "tools": tools,
        "tools_generated": True,
        "user_config": {
            "box_folders": {
                "type": "directory",
                "title": "More box folders",
                "description": "Box directories, or folders of boxes, to serve beside the bundled ones. "
                "A box folder you edit is reloaded while the server runs.",
                "multiple": True,
                "required": False,
            }
        },
        "compatibility": {
            "platforms": ["darwin", "linux"],  # not win32: serve refuses there (runtime.platform.windows)
            "runtimes": {"python": about["Requires-Python"] or ">=3.11"},
        },
    }


def pyproject(boxes: dict[str, Path]) -> str:
    """What uv installs before it runs the bundle: this install's dependencies, and the boxes'."""
    from mcp_box_server.box import read_manifest

    requirements = [r for r in metadata.requires(DISTRIBUTION) or [] if "extra ==" not in r]
    have = {_canonical(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}
    for path in boxes.values():
        for module in read_manifest(path).requires:
            for dist in _distributions(module):
                if _canonical(dist) not in have:
                    have.add(_canonical(dist))
                    requirements.append(dist)
    python = metadata.metadata(DISTRIBUTION)["Requires-Python"] or ">=3.11"
    lines = [
        "[project]",
        'name = "mcp-box-bundle"',
        f'version = "{__version__}"',
        f'requires-python = "{python}"',
        "dependencies = [",
        *(f"    {json.dumps(requirement)}," for requirement in sorted(requirements)),
        "]",
        "",
        "[tool.uv]",
        "package = false  # server/ is run as it is, nothing to build",
        "",
    ]
    return "\n".join(lines)


def _distributions(module: str) -> list[str]:
    """The distribution that provides `module` here (a box's `requires` names modules)."""
    try:
        return [metadata.distribution(module).name]
    except metadata.PackageNotFoundError:
        return metadata.packages_distributions().get(module.split(".")[0], [module])


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write_bundle(out: Path, boxes: dict[str, Path], tools: list[dict[str, str]]) -> None:
    """The .mcpb zip: manifest.json, pyproject.toml, server/main.py, the package and the boxes."""
    import mcp_box_server

    package = Path(mcp_box_server.__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.json", json.dumps(manifest(boxes, tools), indent=2) + "\n")
        bundle.writestr("pyproject.toml", pyproject(boxes))
        bundle.writestr(ENTRY_POINT, MAIN_PY)
        _add_tree(bundle, package, "server/mcp_box_server")
        for name, path in sorted(boxes.items()):
            _add_tree(bundle, path, f"server/boxes/{name}")


def _add_tree(bundle: zipfile.ZipFile, root: Path, prefix: str) -> None:
    """Regular files only: no links out of the tree, no bytecode, nothing hidden."""
    real = root.resolve()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED or part.startswith(".") for part in relative.parts):
            continue
        inside = path.resolve().is_relative_to(real)
        if inside and path.is_file() and not path.is_symlink() and path.suffix != ".pyc":
            bundle.write(path, f"{prefix}/{relative.as_posix()}")
