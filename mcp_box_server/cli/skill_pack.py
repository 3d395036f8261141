"""A box as an Agent Skill (https://agentskills.io): SKILL.md, scripts/, references/, assets/.

The skill carries a copy of the box in `assets/box/` and one launcher, `scripts/call.py`,
that runs a tool through mcp-box's own runtime (`mcp-box call`): the tool runs in a box
worker with the box's limits, and a sandboxed box stays sandboxed. The launcher is plain
standard-library Python, so any `python3` can start it; it finds mcp-box in this order:
`$MCP_BOX_PYTHON`, the interpreter that packed the skill (recorded in
`assets/runtime.json`), then `mcp-box` on PATH.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_box_server import __version__
from mcp_box_server.box import Example, Manifest, ToolSpec

MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_BODY_LINES = 499  # the spec asks for a body under 500 lines
CARD_LINES = 300  # more of the card than this goes to references/README.md only
RUNTIME = "assets/runtime.json"
SKIPPED = {"__pycache__"}


class SkillError(Exception):
    """A box that cannot become a valid skill, or an output folder we must not overwrite."""


@dataclass(frozen=True, slots=True)
class BoxInfo:
    """What a skill is made of: the box's manifest, card, tools (from a real worker) and examples."""

    manifest: Manifest
    card: str
    tools: list[ToolSpec]
    examples: list[Example]


def skill_name(box: str) -> str:
    """The box name as a skill name: lowercase letters, digits and single hyphens."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", box.lower())).strip("-")
    if not name or len(name) > MAX_NAME:
        raise SkillError(f"box name {box!r} gives no valid skill name (lowercase, digits, '-', 1-64)")
    return name


def write_skill(info: BoxInfo, out: Path, python: str = sys.executable) -> Path:
    """Write OUT/<name>/ whole, replacing only a skill mcp-box packed before; returns the folder."""
    name = skill_name(info.manifest.name)
    target = out / name
    if target.exists() and not (target / RUNTIME).is_file():
        raise SkillError(
            f"{target} exists and is not a skill packed by mcp-box; remove it or pick another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out))
    try:
        _fill(staging, info, python)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=out))
            target.rename(old / name)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def _fill(root: Path, info: BoxInfo, python: str) -> None:
    manifest = info.manifest
    (root / "SKILL.md").write_text(skill_md(info), encoding="utf-8")
    scripts = root / "scripts"
    scripts.mkdir()
    (scripts / "call.py").write_text(CALL_PY, encoding="utf-8")
    (scripts / "call.py").chmod(0o755)
    references = root / "references"
    references.mkdir()
    for spec in info.tools:
        examples = [e for e in info.examples if e.tool in (spec.name, spec.function)]
        (references / f"{spec.function}.md").write_text(tool_reference(spec, examples), encoding="utf-8")
    if info.card.strip():
        (references / "README.md").write_text(info.card, encoding="utf-8")
    _copy_box(manifest.path, root / "assets" / "box")
    runtime = {"box": manifest.name, "python": python, "mcp_box": __version__, "trust": manifest.trust}
    runtime["files"] = written_files(root)  # what `mcp-box uninstall skill` may remove, and only that
    (root / RUNTIME).write_text(json.dumps(runtime, indent=2) + "\n", encoding="utf-8")


def written_files(root: Path) -> dict[str, str]:
    """Every file under `root` as {relative POSIX path: SHA-256 of its bytes}."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def skill_md(info: BoxInfo) -> str:
    """SKILL.md: front matter the validator accepts, then the card, how to call, and the tools."""
    manifest = info.manifest
    front = {
        "name": skill_name(manifest.name),
        "description": description(info),
        "compatibility": "Python 3.11+ with mcp-box installed: the tools run in its box workers, "
        "on the platforms mcp-box serves"
        + (
            "; the box is sandboxed, and refused where the kernel cannot confine it."
            if _sandboxed(manifest)
            else "."
        ),
    }
    meta = {"mcp-box-version": __version__, "box-version": manifest.version, "trust": manifest.trust}
    lines = ["---", *(f"{key}: {_yaml(value)}" for key, value in front.items()), "metadata:"]
    lines += [f"  {key}: {_yaml(value)}" for key, value in meta.items()]
    body = "\n".join([*_card_section(info), *_calling_section(info), *_tools_section(info)])
    if body.count("\n") + 1 > MAX_BODY_LINES:
        raise SkillError(f"box {manifest.name}: SKILL.md would be over {MAX_BODY_LINES} lines")
    return "\n".join([*lines, "---", ""]) + body + "\n"


def description(info: BoxInfo) -> str:
    """What the box does and its tools, within the spec's 1024 characters."""
    what = " ".join((info.manifest.description or f"Tools of the {info.manifest.name} box.").split())
    tools = ", ".join(spec.function for spec in info.tools)
    text = f"{what} Tools: {tools}. Use when a task needs these; call them with scripts/call.py."
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1].rsplit(" ", 1)[0] + "…"
    return text


def signature(spec: ToolSpec) -> str:
    """`solve_24(numbers: list[integer], target: integer = 24)`, from the published schema."""
    from mcp_box_server.cli.show_cmd import type_name

    properties: dict[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", []))
    parts = []
    for parameter, schema in properties.items():
        part = f"{parameter}: {type_name(schema)}"
        if parameter not in required and "default" in schema:
            part += f" = {json.dumps(schema['default'])}"
        parts.append(part)
    return f"{spec.function}({', '.join(parts)})"


def tool_reference(spec: ToolSpec, examples: list[Example]) -> str:
    """references/<tool>.md: signature, parameters, the whole docstring, examples."""
    from mcp_box_server.cli.show_cmd import type_name

    lines = [f"# {spec.function}", "", f"`{signature(spec)}`", "", f"Exposed over MCP as `{spec.name}`.", ""]
    lines += [spec.description.strip() or "(no description)", "", "## Parameters", ""]
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", []))
    if not properties:
        lines.append("None.")
    else:
        lines += ["| name | type | required / default | meaning |", "|---|---|---|---|"]
        for parameter, schema in properties.items():
            need = "required" if parameter in required else f"default {json.dumps(schema.get('default'))}"
            meaning = " ".join(str(schema.get("description", "")).split())
            kind = _cell(type_name(schema))
            lines.append(f"| `{parameter}` | `{kind}` | {need} | {_cell(meaning)} |")
    lines += [
        "",
        "## Call it",
        "",
        "```sh",
        f"python3 scripts/call.py {spec.function} {_shell(_sample(spec, examples))}",
    ]
    lines += ["```", ""]
    if examples:
        lines += [
            "## Examples",
            "",
            "Checked by `mcp-box check` (the result contains at least these keys):",
            "",
        ]
        for example in examples:
            arguments = json.dumps(example.arguments, ensure_ascii=False)
            if example.expect_error is not None:
                outcome = f"fails with an error containing {json.dumps(example.expect_error)}"
            else:
                outcome = f"→ `{_short(json.dumps(example.expect, ensure_ascii=False))}`"
            lines.append(f"- `{_short(arguments)}` {outcome}")
        lines.append("")
    return "\n".join(lines)


def _card_section(info: BoxInfo) -> list[str]:
    card = info.card.strip().splitlines()
    if card and card[0].startswith("# "):
        card = card[1:]
    title = f"# {info.manifest.name} (mcp-box box {info.manifest.version})"
    if len(card) > CARD_LINES:
        card = [
            *card[:CARD_LINES],
            "",
            "(The whole card is in [references/README.md](references/README.md).)",
        ]
    return [title, *card, ""]


def _calling_section(info: BoxInfo) -> list[str]:
    sandbox = (
        "and its kernel sandbox (it reads only its own files, writes only a private temp dir, no network)"
        if _sandboxed(info.manifest)
        else "(a trusted box: isolated for faults, not confined)"
    )
    sample = next(iter(info.tools), None)
    example = (
        f"python3 scripts/call.py {sample.function} {_shell(_sample(sample, info.examples))}"
        if sample
        else ""
    )
    return [
        "## Calling a tool",
        "",
        "From this skill's folder, run a tool with its arguments as one JSON object:",
        "",
        "```sh",
        example,
        "python3 scripts/call.py --help      # the tools and where mcp-box is found",
        "```",
        "",
        "It prints the tool's result as JSON and exits 0; a bad argument or a failing tool prints the "
        "error on stderr and exits 1. Pass `-` instead of the JSON to read it from stdin.",
        f"Each call runs in an mcp-box worker process with the box's time and memory limits {sandbox}; "
        "the script never imports the box's code (it is in `assets/box/`).",
        "The script needs mcp-box: `$MCP_BOX_PYTHON`, else the Python that packed this skill "
        "(`assets/runtime.json`), else `mcp-box` on PATH.",
        "",
    ]


def _tools_section(info: BoxInfo) -> list[str]:
    lines = ["## Tools", "", "| tool | what it does |", "|---|---|"]
    for spec in info.tools:
        summary = " ".join(spec.description.strip().split("\n\n")[0].split())
        link = f"[`{signature(spec)}`](references/{spec.function}.md)"
        lines.append(f"| {_cell(link)} | {_cell(_short(summary, 200))} |")
    lines += ["", "Each tool's reference (parameters, full description, examples) is in `references/`."]
    return lines


def _sample(spec: ToolSpec, examples: list[Example]) -> dict[str, Any]:
    """The arguments of the tool's first passing example, else its required parameters as placeholders."""
    for example in examples:
        if example.tool in (spec.name, spec.function) and example.expect_error is None:
            return example.arguments
    return {name: f"<{name}>" for name in spec.parameters.get("required", [])}


def _sandboxed(manifest: Manifest) -> bool:
    return manifest.trust == "sandboxed"


def _yaml(value: str) -> str:
    """A double-quoted scalar (JSON's escapes are YAML's); no '---', which would end the front matter."""
    return json.dumps(value.replace("---", "—"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shell(arguments: dict[str, Any]) -> str:
    text = json.dumps(arguments, ensure_ascii=False)
    return "'" + text.replace("'", "'\\''") + "'"


def _copy_box(source: Path, target: Path) -> None:
    """Regular files only: no links out of the box, no bytecode, nothing hidden."""
    real = source.resolve()
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in SKIPPED or part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.resolve().is_relative_to(real) or not path.is_file():
            continue
        if path.suffix == ".pyc":
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


CALL_PY = r'''#!/usr/bin/env python3
"""Call a tool of this skill's box through mcp-box, which runs it in a box worker.

usage: python3 scripts/call.py TOOL ['{"name": value, ...}' | -]

The box is in ../assets/box and is never imported here: `mcp-box call` runs the tool in a
worker process with the box's limits, and a sandboxed box in its kernel sandbox. mcp-box
is found as $MCP_BOX_PYTHON, else the Python that packed this skill (../assets/runtime.json),
else the `mcp-box` command on PATH.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SKILL = Path(__file__).resolve().parent.parent
RUNTIME = json.loads((SKILL / "assets" / "runtime.json").read_text(encoding="utf-8"))


def has_mcp_box(python: str) -> bool:
    probe = [python, "-c", "import mcp_box_server"]
    return Path(python).is_file() and subprocess.run(probe, capture_output=True).returncode == 0


def mcp_box() -> list[str]:
    for python in (os.environ.get("MCP_BOX_PYTHON"), RUNTIME["python"]):
        if python and has_mcp_box(python):
            return [python, "-m", "mcp_box_server"]
    command = shutil.which("mcp-box")
    if command:
        return [command]
    sys.exit(
        "call.py: mcp-box not found: set MCP_BOX_PYTHON to a Python that has mcp-box installed, "
        f"or put `mcp-box` on PATH (this skill was packed with {RUNTIME['python']})"
    )


def main(argv: list[str]) -> int:
    box = RUNTIME["box"]
    if not argv or argv[0] in ("-h", "--help"):
        tools = sorted(path.stem for path in (SKILL / "references").glob("*.md") if path.stem != "README")
        print(__doc__.strip())
        print(f"\nbox: {box} ({RUNTIME['trust']}); tools: {', '.join(tools)}")
        print(f"mcp-box: {' '.join(mcp_box())}")
        return 0 if argv else 2
    if len(argv) > 2:
        print("call.py: give TOOL and one JSON object (quoted), or - to read it from stdin", file=sys.stderr)
        return 2
    tool = argv[0] if argv[0].startswith(f"{box}_") else f"{box}_{argv[0]}"
    arguments = argv[1] if len(argv) > 1 else "{}"
    if arguments == "-":
        arguments = sys.stdin.read()
    command = [*mcp_box(), "call", tool, arguments, "--boxes", str(SKILL / "assets" / "box"), "--no-bundled"]
    return subprocess.call([*command, "--box", box])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''
