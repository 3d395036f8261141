"""`mcp-box install skill BOX --client CLIENT`: a box as an Agent Skill, where that client looks.

Each client reads skills from a project folder and a folder in the home directory; the
skill is packed straight into the one `--scope` picks (see `skill_pack`). Locations as
each client documents them (checked December 2026):

- claude-code: `.claude/skills/`, `~/.claude/skills/` (Claude Code docs; VS Code's skills reference)
- codex: `.agents/skills/`, `~/.agents/skills/` (developers.openai.com/codex/skills; VS Code's reference)
- cursor: `.cursor/skills/`, `~/.cursor/skills/` (cursor.com/docs/context/skills)
- vscode (GitHub Copilot): `.github/skills/`, `~/.copilot/skills/` (VS Code's skills reference, GitHub docs)
- gemini: `.gemini/skills/`, `~/.gemini/skills/` (geminicli.com/docs/cli/using-agent-skills)
- agents: `.agents/skills/`, `~/.agents/skills/`, the shared folder Codex, Gemini CLI and
  Copilot read in both scopes (Cursor in project scope)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
from pathlib import Path, PurePath

SKILL_DIRS: dict[str, tuple[str, str]] = {  # client: (project folder, folder under the home directory)
    "claude-code": (".claude/skills", ".claude/skills"),
    "codex": (".agents/skills", ".agents/skills"),
    "cursor": (".cursor/skills", ".cursor/skills"),
    "vscode": (".github/skills", ".copilot/skills"),
    "gemini": (".gemini/skills", ".gemini/skills"),
    "agents": (".agents/skills", ".agents/skills"),
}


def add_arguments(parser: argparse.ArgumentParser, verb: str = "install") -> None:
    """The parts of `install skill` (and `uninstall skill`) that `install CLIENT` does not have."""
    parser.add_argument("skill_boxes", nargs="*", metavar="BOX", help=f"with `skill`: the boxes to {verb}")
    parser.add_argument(
        "--client",
        dest="skill_client",
        choices=sorted(SKILL_DIRS),
        help="with `skill`: the client whose skills folder holds the skill",
    )


def skills_root(scope: str) -> Path:
    """The folder `scope` trusts: the project (the current folder) or the home directory."""
    return Path.cwd() if scope == "project" else Path(os.environ.get("HOME") or Path.home())


def skills_relative(client: str, scope: str) -> PurePath:
    """Where below `skills_root(scope)` the client reads skills."""
    project_dir, user_dir = SKILL_DIRS[client]
    return PurePath(project_dir if scope == "project" else user_dir)


def real_folder(root: Path, relative: PurePath) -> bool:
    """Whether `root/relative` is there; every part below `root` must be a folder, not a link.

    A project may ship `.claude` as a link to elsewhere: nothing is written or removed
    through one (SkillError). Checked with `lstat` before the work, so a folder swapped
    for a link while the command runs is not caught.
    """
    from mcp_box_server.box.files import is_link
    from mcp_box_server.cli.skill_pack import SkillError

    path = root
    for part in relative.parts:
        path = path / part
        try:
            status = path.lstat()
        except FileNotFoundError:
            return False
        if is_link(status) or not stat.S_ISDIR(status.st_mode):
            kind = "a link" if is_link(status) else "not a folder"
            raise SkillError(f"{path} is {kind}; mcp-box writes and removes no skill through it")
    return True


def has_box_and_client(args: argparse.Namespace, verb: str) -> bool:
    """Whether `VERB skill` names its boxes and client; if not, says how (the caller exits 2)."""
    if args.skill_boxes and args.skill_client:
        return True
    print(
        f"mcp-box {verb} skill: name the box(es) and the client, e.g. "
        f"`mcp-box {verb} skill math --client claude-code`",
        file=sys.stderr,
    )
    return False


def run(args: argparse.Namespace) -> int:
    from mcp_box_server.cli.common import box_roots, named_boxes, setup_logging
    from mcp_box_server.cli.pack_cmd import box_info
    from mcp_box_server.cli.skill_pack import SkillError, skill_name, write_skill

    setup_logging("WARNING")
    if not has_box_and_client(args, "install"):
        return 2
    if args.url or args.print or args.docker or args.wsl or args.bearer:
        print(
            "mcp-box install skill: --url, --docker, --wsl, --bearer and --print are for `install CLIENT`",
            file=sys.stderr,
        )
        return 2
    found = named_boxes(box_roots(args), args.skill_boxes, "install skill")
    if found is None:
        return 2
    root, relative = skills_root(args.scope), skills_relative(args.skill_client, args.scope)
    for name in args.skill_boxes:
        try:
            real_folder(root, relative / skill_name(name))
            folder = write_skill(asyncio.run(box_info(found[name])), root / relative)
        except (SkillError, OSError) as error:
            print(f"mcp-box install skill: {error}", file=sys.stderr)
            return 1
        print(f"mcp-box: installed skill {folder.name} in {folder} ({args.skill_client}, {args.scope} scope)")
    print("next: start a new session of the client; it lists skills when it starts")
    return 0
