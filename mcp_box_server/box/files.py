"""Reading a box's data files (prompts, resources, attachments) without trusting them.

The server reads these itself, from the pool's private snapshot. A snapshot holds
only regular files and links to folders inside the box, but a path named in a prompt
or in `box.toml` is still the box author's: it must stay inside the box, go through
no link, and a read stops at a size cap, so no box makes the server serve a file
from elsewhere or read without end.
"""

from __future__ import annotations

import errno
import mimetypes
import os
import stat
from pathlib import Path, PurePosixPath

from mcp_box_server.box.errors import BoxError

MAX_FILES = 2_000  # data files listed per box; a box is not a file server
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none: see open_no_follow
_NAME_SURROGATE = 0x20000000  # the reparse-tag bit of Windows links and junctions

# Kinds that mimetypes leaves to the platform's tables; fixed here so every machine agrees.
_MIME = {".md": "text/markdown", ".json": "application/json", ".csv": "text/csv", ".yaml": "application/yaml"}
_TEXT_APPLICATIONS = {"application/json", "application/yaml", "application/xml", "application/javascript"}


class BoxFileError(BoxError):
    """A data file that cannot be served: outside the box, a link, not a file, too large."""


def relative_path(text: str) -> PurePosixPath:
    """A box-relative path as written by the author; refuses absolute paths and `..`."""
    path = PurePosixPath(text)
    if not text or path.is_absolute() or ".." in path.parts or "\\" in text:
        raise BoxFileError(f"'{text}' must be a path inside the box (relative, no '..')")
    return path


def read_file(box_dir: Path, relative: PurePosixPath, limit: int) -> bytes:
    """The bytes of a regular file of the box, reached through no link, at most `limit` bytes."""
    fd = _open(box_dir, relative)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BoxFileError(f"'{relative}' is larger than {limit // 1024} KB")
    return data


def check_file(box_dir: Path, relative: PurePosixPath) -> None:
    """Raise `BoxFileError` unless `read_file` could open this file."""
    os.close(_open(box_dir, relative))


def _open(box_dir: Path, relative: PurePosixPath) -> int:
    current = box_dir
    for part in relative.parts[:-1]:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except OSError:
            raise BoxFileError(f"'{relative}' does not exist") from None
        if not stat.S_ISDIR(mode):
            raise BoxFileError(f"'{relative}' goes through a link or a file: not served")
    try:
        fd = open_no_follow(box_dir / relative)
    except OSError as exc:
        raise BoxFileError(f"'{relative}' cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BoxFileError(f"'{relative}' is not a regular file")
    return fd


def open_no_follow(path: Path) -> int:
    """Open `path` read-only unless it is a link (OSError ELOOP), and without waiting on a FIFO.

    Where the OS has no O_NOFOLLOW (Windows), the path is checked with `lstat` before and the
    opened file compared with it after, so a link, or a file swapped in between, is refused too.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if _NOFOLLOW:
        return os.open(path, flags | _NOFOLLOW)
    before = os.lstat(path)
    if is_link(before):
        raise OSError(errno.ELOOP, "it is a link", str(path))
    fd = os.open(path, flags)
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise OSError(errno.ELOOP, "it changed while being opened", str(path))
    return fd


def is_link(status: os.stat_result) -> bool:
    """A symbolic link, or on Windows any reparse point that names another path (a junction)."""
    return stat.S_ISLNK(status.st_mode) or bool(getattr(status, "st_reparse_tag", 0) & _NAME_SURROGATE)


def list_files(box_dir: Path, folder: str) -> list[PurePosixPath]:
    """Box-relative paths of the regular files under `folder`, sorted; links are not followed.

    Stops after MAX_FILES + 1, so a caller can tell that some were left out.
    """
    root = box_dir / folder
    if not root.is_dir() or root.is_symlink():
        return []
    found: list[PurePosixPath] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            path = Path(current) / name
            if name.startswith(".") or not stat.S_ISREG(path.lstat().st_mode):
                continue
            found.append(PurePosixPath(path.relative_to(box_dir).as_posix()))
            if len(found) > MAX_FILES:
                return found
    return found


def mime_type(path: PurePosixPath | str) -> str:
    """The MIME type of a file by its name; unknown kinds are opaque bytes."""
    suffix = PurePosixPath(path).suffix.lower()
    return _MIME.get(suffix) or mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def is_text(mime: str) -> bool:
    """Whether content of this type is served as text (else as a base64 blob)."""
    return mime.startswith("text/") or mime in _TEXT_APPLICATIONS or mime.endswith(("+json", "+xml"))
