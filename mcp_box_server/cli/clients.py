"""Where each MCP client keeps its server list, and editing that file without harm.

A client's config file is the user's: we change one entry, keep every other key as it
was, write a backup of the previous file first, and replace the file atomically.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SCOPES = ("user", "project")
BACKUP_SUFFIX = ".mcp-box.bak"


class ConfigFileError(Exception):
    """A config file we must not touch: not JSON, or not a JSON object."""


def config_path(
    client: str,
    scope: str = "user",
    *,
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """The file `client` reads servers from, for `scope` (project: the current folder)."""
    home = Path(environ.get("HOME") or Path.home())
    project = Path.cwd()
    if client == "claude-desktop":
        if scope == "project":
            raise ConfigFileError("Claude Desktop has no project config: use --scope user")
        return _app_config_dir(home, platform, environ) / "Claude" / "claude_desktop_config.json"
    if client == "claude-code":
        if scope == "project":
            return project / ".mcp.json"
        return Path(environ.get("CLAUDE_CONFIG_DIR") or home) / ".claude.json"
    if client == "cursor":
        return (project if scope == "project" else home) / ".cursor" / "mcp.json"
    if client == "vscode":
        if scope == "project":
            return project / ".vscode" / "mcp.json"
        return _app_config_dir(home, platform, environ) / "Code" / "User" / "mcp.json"
    raise ValueError(f"unknown client {client!r}")


def _app_config_dir(home: Path, platform: str, environ: Mapping[str, str]) -> Path:
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform == "win32":
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming")
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config")


def read_config(path: Path) -> tuple[dict[str, Any], str | None]:
    """The parsed file and its text (None when there is no file yet)."""
    if not path.exists():
        return {}, None
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return {}, text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"{path} is not plain JSON ({exc}); it was left as it is") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path} holds a JSON {type(data).__name__}, not an object; left as it is")
    return data, text


def write_config(path: Path, data: dict[str, Any], previous: str | None) -> Path | None:
    """Write `data` atomically, after a backup of `previous`; returns the backup's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if previous is not None:
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        backup.write_text(previous, encoding="utf-8")
    temporary = path.with_name(f".{path.name}.mcp-box-{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o7777)  # ~/.claude.json is private: keep it so
    os.replace(temporary, path)
    return backup


def servers(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    """The server table under `key`, created when missing."""
    table = data.setdefault(key, {})
    if not isinstance(table, dict):
        raise ConfigFileError(f'{path}: "{key}" is not a JSON object; left as it is')
    return table
