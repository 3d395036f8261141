"""The private copy of a box's own files that every worker of one version runs.

The box folder belongs to the user (or to whoever wrote a downloaded box), so it is
read as hostile: the copy follows no link out of the box, refuses devices, FIFOs and
sockets, and stops at a size cap. Any of those is a `SnapshotError` naming the path,
which the pool turns into that box's load error; the server never hangs on a link to
`/dev/zero` nor serves `/etc/shadow` as a README. Files are copied readable by others
(sandboxed workers may run under an unprivileged uid); the temp root is only traversable.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

ROOT_MODE = 0o711  # others may reach the snapshot inside, not list the root
DIR_MODE = 0o755
FILE_MODE = 0o644
MAX_ENTRIES = 20_000
README_LIMIT = 256 * 1024
_CHUNK = 1024 * 1024
_SKIPPED_DIRS = {"__pycache__"}
_live: set[Path] = set()  # roots made by this process and not yet removed


class SnapshotError(Exception):
    """The box folder holds something a snapshot refuses; `path` is where, in the user's folder."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path, self.message = str(path), message
        super().__init__(f"{path}: {message}")


def make_root(name: str) -> Path:
    """A fresh private temp folder for one pool: `/tmp/mcp-box-NAME-xxxx`, mode 0711."""
    root = Path(tempfile.mkdtemp(prefix=f"mcp-box-{name}-"))
    root.chmod(ROOT_MODE)
    _live.add(root)
    return root


def remove(root: Path) -> None:
    """Delete a root made by `make_root` (blocking)."""
    shutil.rmtree(root, ignore_errors=True)
    _live.discard(root)


def remove_all() -> None:
    """Delete every root this process made and still holds: the last step of a shutdown."""
    for root in list(_live):
        remove(root)


def take(source: Path, target: Path, max_mb: int) -> str | None:
    """Copy the box at `source` to `target` (new); returns its README text, if any.

    Blocking: run it with `asyncio.to_thread`. Raises `SnapshotError`.
    """
    try:
        _Copy(source.resolve(), max_mb).run(target)
    except OSError as exc:  # unreadable, or changed under us
        raise SnapshotError(exc.filename or source, f"cannot copy: {exc.strerror or exc}") from None
    return read_text(target / "README.md", README_LIMIT)


def read_text(path: Path, limit: int) -> str | None:
    """A regular file's text, never through a link, cut at `limit` bytes; None if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(limit).decode("utf-8", errors="replace")


class _Copy:
    """One copy: walks the box without recursion (no depth limit to hit) and counts bytes."""

    def __init__(self, root: Path, max_mb: int) -> None:
        self.root = root
        self.max_mb = max_mb
        self.budget = max_mb * 1024 * 1024
        self.entries = 0
        self.target = root

    def run(self, target: Path) -> None:
        self.target = target
        _mkdir(target)
        stack = [(self.root, target)]
        while stack:
            source_dir, target_dir = stack.pop()
            with os.scandir(source_dir) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if entry.name.startswith(".") or entry.name.endswith(".pyc"):
                        continue
                    self.entries += 1
                    if self.entries > MAX_ENTRIES:
                        raise SnapshotError(self.root, f"box has more than {MAX_ENTRIES} files")
                    if subdir := self._copy_entry(Path(entry.path), target_dir / entry.name):
                        stack.append(subdir)

    def _copy_entry(self, path: Path, dest: Path) -> tuple[Path, Path] | None:
        """Copy one entry; a folder to walk next is returned rather than walked."""
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            self._copy_link(path, dest)
        elif stat.S_ISDIR(mode):
            if path.name in _SKIPPED_DIRS:
                return None
            _mkdir(dest)
            return path, dest
        elif stat.S_ISREG(mode):
            self._copy_file(path, dest)
        else:
            raise SnapshotError(path, f"is a {_kind(mode)}: a box holds only files and folders")
        return None

    def _copy_link(self, path: Path, dest: Path) -> None:
        """A link inside the box: a file is copied as a file, a folder stays a (relative) link."""
        target = Path(os.path.realpath(path))
        if target != self.root and self.root not in target.parents:
            raise SnapshotError(path, f"is a link to {target}, outside the box")
        try:
            mode = target.stat().st_mode
        except OSError:
            raise SnapshotError(path, f"is a dangling link (to {os.readlink(path)})") from None
        if stat.S_ISDIR(mode):
            copied = self.target / target.relative_to(self.root)
            os.symlink(os.path.relpath(copied, dest.parent), dest)
        elif stat.S_ISREG(mode):
            self._copy_file(target, dest, shown=path)
        else:
            raise SnapshotError(path, f"is a link to a {_kind(mode)}: a box holds only files and folders")

    def _copy_file(self, path: Path, dest: Path, shown: Path | None = None) -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:  # swapped for a link or a FIFO since we looked
            raise SnapshotError(shown or path, f"cannot read: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as source:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SnapshotError(shown or path, "is not a regular file")
            out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
            os.fchmod(out, FILE_MODE)  # whatever the umask: workers may run as another uid
            with os.fdopen(out, "wb") as sink:
                while chunk := source.read(min(_CHUNK, self.budget + 1)):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        raise SnapshotError(
                            shown or path,
                            f"box is over its {self.max_mb} MB size cap here (max_box_mb in box.toml)",
                        )
                    sink.write(chunk)


def _mkdir(path: Path) -> None:
    path.mkdir(DIR_MODE)
    path.chmod(DIR_MODE)


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
