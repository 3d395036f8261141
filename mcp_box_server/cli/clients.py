"""Where each MCP client keeps its server list, and editing that file without harm.

A client's config file is the user's: we change one entry, keep every other key as it
was, write a backup of the previous file first (user scope), and replace the file
atomically. A project's folder is not trusted: a repository may ship `.cursor` as a link
to elsewhere, or `.mcp.json.mcp-box.bak` as a link to `~/.bashrc`. So every folder below
the scope's root, the file, its backup and the temporary file are reached through no
link: by descriptor (`openat` with O_NOFOLLOW) where the OS has that; where it has not
(Windows), each part is checked with `lstat` and an opened file compared with it after
(there, a folder swapped for a link while the command runs is not caught). New files are
made with O_CREAT|O_EXCL under a random name, then renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from mcp_box_server.box.files import is_link

SCOPES = ("user", "project")
BACKUP_SUFFIX = ".mcp-box.bak"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_AT_CALLS = {os.open, os.mkdir, os.rename, os.stat, os.unlink, os.rmdir}
_BY_DESCRIPTOR = bool(_NOFOLLOW and _DIRECTORY) and _AT_CALLS.issubset(os.supports_dir_fd)
_BINARY = getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class ConfigFileError(Exception):
    """A config file we must not touch: not JSON, not a JSON object, or reached through a link."""


def host_platform() -> str:
    """'linux', 'darwin' or 'win32': the one place the CLI asks which OS it runs on."""
    return sys.platform


@dataclass(frozen=True)
class ConfigFile:
    """A client's config file: a root we trust (home, the app folder, the project folder)
    and the path below it, every part of which must be a real folder or file, not a link."""

    root: Path
    relative: PurePath
    scope: str

    @property
    def path(self) -> Path:
        return self.root / self.relative


def config_file(
    client: str,
    scope: str = "user",
    *,
    platform: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ConfigFile:
    """The file `client` reads servers from, for `scope` (project: the current folder)."""
    platform = platform or host_platform()
    home = Path(environ.get("HOME") or Path.home())
    if scope == "project":
        if client == "claude-desktop":
            raise ConfigFileError("Claude Desktop has no project config: use --scope user")
        relative = {"claude-code": ".mcp.json", "cursor": ".cursor/mcp.json", "vscode": ".vscode/mcp.json"}
        return ConfigFile(Path.cwd(), PurePath(relative[client]), scope)
    if client == "claude-desktop":
        return ConfigFile(
            _app_config_dir(home, platform, environ), PurePath("Claude/claude_desktop_config.json"), scope
        )
    if client == "claude-code":
        return ConfigFile(Path(environ.get("CLAUDE_CONFIG_DIR") or home), PurePath(".claude.json"), scope)
    if client == "cursor":
        return ConfigFile(home, PurePath(".cursor/mcp.json"), scope)
    if client == "vscode":
        return ConfigFile(_app_config_dir(home, platform, environ), PurePath("Code/User/mcp.json"), scope)
    raise ValueError(f"unknown client {client!r}")


def config_path(client: str, scope: str = "user", **where: Any) -> Path:
    """The path of `config_file(client, scope)`."""
    return config_file(client, scope, **where).path


def _app_config_dir(home: Path, platform: str, environ: Mapping[str, str]) -> Path:
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform == "win32":
        return Path(environ.get("APPDATA") or home / "AppData" / "Roaming")
    return Path(environ.get("XDG_CONFIG_HOME") or home / ".config")


def read_config(config: ConfigFile) -> tuple[dict[str, Any], str | None]:
    """The parsed file and its text (None when there is no file yet)."""
    folder = _Folder.walk(config, create=False)
    if folder is None:
        return {}, None
    try:
        fd = folder.open(config.relative.name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return {}, None
    finally:
        folder.close()
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigFileError(f"{config.path} is not a regular file; left as it is")
        raw = handle.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(f"{config.path} is not UTF-8 text; it was left as it is") from None
    if not text.strip():
        return {}, text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"{config.path} is not plain JSON ({exc}); it was left as it is") from None
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"{config.path} holds a JSON {type(data).__name__}, not an object; left as it is"
        )
    return data, text


def write_config(config: ConfigFile, data: dict[str, Any], previous: str | None) -> Path | None:
    """Write `data` atomically; in user scope, after a backup of `previous` (returns its path).

    A project folder gets no backup: it would be one more file to commit by mistake, and the
    project's own history keeps the previous version.
    """
    folder = _Folder.walk(config, create=True)
    if folder is None:
        raise ConfigFileError(f"{config.path.parent} could not be created")
    name = config.relative.name
    try:
        backup = None
        if previous is not None and config.scope == "user":
            backup = name + BACKUP_SUFFIX
            folder.replace_with(backup, previous.encode("utf-8"), mode=0o600)
        mode = folder.mode_of(name)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        folder.replace_with(name, text.encode("utf-8"), mode=mode)
    finally:
        folder.close()
    return folder.path / backup if backup else None


def remove_config(config: ConfigFile) -> list[Path]:
    """Delete the file, then each folder below the root that it leaves empty; what went."""
    removed = []
    for item in (config.relative, *config.relative.parents[:-1]):  # the file, then its folders
        folder = _Folder.walk(ConfigFile(config.root, item, config.scope), create=False)
        if folder is None:
            break
        try:
            folder.remove(item.name, folder=item != config.relative)
        except OSError:
            break  # a folder that still holds something stays
        finally:
            folder.close()
        removed.append(config.root / item)
    return removed


def servers(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    """The server table under `key`, created when missing."""
    table = data.setdefault(key, {})
    if not isinstance(table, dict):
        raise ConfigFileError(f'{path}: "{key}" is not a JSON object; left as it is')
    return table


class _Folder:
    """A folder reached from a trusted root through no link, open for work inside it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd  # a descriptor where the OS has openat; else every call checks the path again

    @classmethod
    def walk(cls, config: ConfigFile, *, create: bool) -> _Folder | None:
        """The folder that holds `config`, or None when it does not exist (and not `create`)."""
        if create:
            config.root.mkdir(parents=True, exist_ok=True)
        elif not config.root.is_dir():
            return None
        fd = os.open(config.root, os.O_RDONLY | _DIRECTORY) if _BY_DESCRIPTOR else None
        folder = cls(config.root, fd)
        for part in config.relative.parent.parts:
            try:
                child = folder.child(part, create=create)
            finally:
                folder.close()
            if child is None:
                return None
            folder = child
        return folder

    def child(self, name: str, *, create: bool) -> _Folder | None:
        status = self.lstat(name)
        if status is None and create:
            path, where = self._at(name)
            os.mkdir(path, 0o777, **where)
            status = self.lstat(name)
        if status is None:
            return None
        if is_link(status) or not stat.S_ISDIR(status.st_mode):
            raise _refused(self.path / name, "a link" if is_link(status) else "not a folder")
        if self.fd is None:
            return _Folder(self.path / name, None)
        return _Folder(self.path / name, os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=self.fd))

    def lstat(self, name: str) -> os.stat_result | None:
        path, where = self._at(name)
        try:
            return os.stat(path, **where, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def mode_of(self, name: str) -> int | None:
        status = self.lstat(name)
        return None if status is None else stat.S_IMODE(status.st_mode)

    def open(self, name: str, flags: int, mode: int = 0o666) -> int:
        """Open `name` in this folder unless it is a link; O_EXCL creations cannot follow one."""
        path, where = self._at(name)
        before = None if self.fd is not None else self.lstat(name)
        if before is not None and is_link(before):
            raise _refused(self.path / name, "a link")
        try:
            fd = os.open(path, flags | _NOFOLLOW | _BINARY, mode, **where)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refused(self.path / name, "a link") from None
            if exc.errno == errno.EEXIST:
                raise ConfigFileError(f"{self.path / name} is already there (a link?); left alone") from None
            raise
        after = os.fstat(fd)
        if before is not None and (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise ConfigFileError(f"{self.path / name} changed while it was opened; left alone")
        return fd

    def replace_with(self, name: str, content: bytes, *, mode: int | None) -> None:
        """Put `content` at `name` atomically: a fresh temporary file, then a rename over it.

        `mode` is kept exactly (None: a new file, as the umask has it). A link at `name` is
        refused, not replaced: something planted it there."""
        status = self.lstat(name)
        if status is not None and (is_link(status) or not stat.S_ISREG(status.st_mode)):
            raise _refused(self.path / name, "a link" if is_link(status) else "not a regular file")
        temporary = f".{name}.mcp-box-{secrets.token_hex(6)}.tmp"
        fd = self.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if mode is not None else 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                if mode is not None and hasattr(os, "fchmod"):
                    os.fchmod(handle.fileno(), mode)  # the umask aside: a private file stays private
            if self.fd is None:
                os.replace(self.path / temporary, self.path / name)
            else:
                os.replace(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            self.remove(temporary)
            raise

    def remove(self, name: str, *, folder: bool = False) -> None:
        """Unlink a file (or rmdir an empty folder); neither call goes through a link at `name`."""
        path, where = self._at(name)
        with contextlib.suppress(FileNotFoundError):
            (os.rmdir if folder else os.unlink)(path, **where)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def _at(self, name: str) -> tuple[str | Path, dict[str, int]]:
        return (name, {"dir_fd": self.fd}) if self.fd is not None else (self.path / name, {})


def _refused(path: Path, kind: str) -> ConfigFileError:
    return ConfigFileError(f"{path} is {kind}; mcp-box reads and writes no config through it")
