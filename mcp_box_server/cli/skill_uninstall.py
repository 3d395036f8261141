"""`mcp-box uninstall skill BOX --client CLIENT`: remove what `install skill` wrote, and only that.

The skill folder is found by the same rules as `install skill` (`skill_install`'s root
and client folders, `skill_pack.skill_name`). It is removed only when it holds exactly
the files its `assets/runtime.json` lists, byte for byte: a file added or changed since,
a link, or a folder mcp-box did not pack leaves everything as it is, and the message
names what differs. As for config files, a project's folder is not trusted: no part of
the path below the scope's root may be a link (`skill_install.real_folder`), nothing in
the skill is read through one, and `shutil.rmtree` follows none. In project scope the
skills folders left empty go too, as `uninstall CLIENT` does with a project file's folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path, PurePath

from mcp_box_server.box.files import is_link
from mcp_box_server.cli.skill_install import has_box_and_client, real_folder, skills_relative, skills_root
from mcp_box_server.cli.skill_pack import RUNTIME, SkillError, skill_name


def run(args: argparse.Namespace) -> int:
    if not has_box_and_client(args, "uninstall"):
        return 2
    if args.name != "mcp-box":
        print("mcp-box uninstall skill: --name is for `uninstall CLIENT`", file=sys.stderr)
        return 2
    root, relative = skills_root(args.scope), skills_relative(args.skill_client, args.scope)
    for box in args.skill_boxes:
        try:
            message = remove_skill(root, relative, skill_name(box), empty_parents=args.scope == "project")
        except (SkillError, OSError) as error:
            print(f"mcp-box uninstall skill: {error}", file=sys.stderr)
            return 1
        print(f"mcp-box: {message}")
    return 0


def remove_skill(root: Path, relative: PurePath, name: str, *, empty_parents: bool) -> str:
    """Remove `root/relative/name` if it is exactly a skill mcp-box wrote; what happened, in words."""
    skill = root / relative / name
    if not real_folder(root, relative / name):
        return f"no skill {name} in {root / relative}; nothing changed"
    differences = _differences(skill)
    if differences:
        shown = "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
        raise SkillError(f"{skill} is not as mcp-box wrote it ({shown}); nothing removed (delete it by hand)")
    shutil.rmtree(skill)
    removed = [skill]
    if empty_parents:
        for folder in (relative, *relative.parents[:-1]):
            try:
                (root / folder).rmdir()
            except OSError:
                break  # a folder that still holds something stays
            removed.append(root / folder)
    return "removed " + " and ".join(str(path) for path in removed)


def _differences(skill: Path) -> list[str]:
    """How the folder differs from the files its runtime.json lists (none: exactly as written)."""
    try:
        listed = json.loads(_read(skill / RUNTIME))["files"]
        if not isinstance(listed, dict):
            raise TypeError("'files' is not an object")
    except (OSError, ValueError, TypeError, KeyError) as error:
        return [f"{RUNTIME} gives no list of the files mcp-box wrote ({type(error).__name__}: {error})"]
    folders = {parent.as_posix() for relative in listed for parent in PurePath(relative).parents}
    found: dict[str, Path] = {}
    differences = []
    for top, subfolders, files in os.walk(skill):  # never into a link: links are not followed
        for entry in sorted(subfolders + files):
            path = Path(top) / entry
            relative = path.relative_to(skill).as_posix()
            status = path.lstat()
            if is_link(status):
                differences.append(f"{relative} is a link")
            elif stat.S_ISDIR(status.st_mode):
                if relative not in folders:
                    differences.append(f"{relative}/ was added")
            elif not stat.S_ISREG(status.st_mode):
                differences.append(f"{relative} is not a file")
            elif relative != RUNTIME:
                found[relative] = path
    differences += [f"{relative} was added" for relative in sorted(found.keys() - listed.keys())]
    differences += [f"{relative} is missing" for relative in sorted(listed.keys() - found.keys())]
    for relative in sorted(found.keys() & listed.keys()):
        if hashlib.sha256(_read(found[relative])).hexdigest() != listed[relative]:
            differences.append(f"{relative} was changed")
    return differences


def _read(path: Path) -> bytes:
    """A regular file's bytes, never through a link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return handle.read()
