"""The private copy of a box's own files that every worker of one version runs.

The box folder belongs to the user (or to whoever wrote a downloaded box), so it is
read as hostile and as changing under us: its writer may swap any folder for a link
while the copy runs. So nothing in it is opened by path. The copy walks directory
descriptors: each entry is opened relative to its parent's descriptor with
`O_NOFOLLOW`, and `fstat` on the descriptor it then reads decides what it is. The
box's own links are resolved here, one component at a time, never past the box's
root; the snapshot is written through descriptors too. A link out of the box, a
device, FIFO or socket, or a box over its size cap is a `SnapshotError` naming the
path, which the pool turns into that box's load error; the server never hangs on a
link to `/dev/zero` nor serves `/etc/shadow` as a README. In a sandboxed box, a file with
more than one hard link is refused too: no descriptor says where its other names are.
Names `box.ignore` leaves out are skipped: the same names the watcher ignores, so every
copied file is watched.

Snapshots are private. Every root lies in one 0700 folder of this uid (`runtime_dir`),
with files 0600 and folders 0700. Under root a sandboxed worker runs as a uid of its
own, and reads its box through a group instead of world bits: each root gets a gid
of its own (`box_group`), its box's files are 0640 and folders 0750 in that group,
the box's workers hold it as a supplementary group, and their mount namespace binds
the box past the closed folders above it. Another box's worker, or any other user,
reads nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import shutil
import stat
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mcp_box_server.box.ignore import ignored

PRIVATE_MODE = 0o700  # the runtime folder, every root, and a snapshot without a group
MAX_ENTRIES = 20_000
MAX_DEPTH = 64  # folders held open at once while copying
MAX_LINKS = 40  # links followed to resolve one link, as the kernel allows
README_LIMIT = 256 * 1024
# Under root, the gids of snapshot groups: below the workers' own ids (2.1e9 + pid, see
# confine.policy.WORKER_ID_BASE) and far above those of real groups.
GROUP_BASE = 2_000_000_000
GROUP_SPAN = 100_000_000
_CHUNK = 1024 * 1024
# What the copy is made with; Windows has none of them, and gets no snapshot (nor a worker).
_POSIX_CALLS = ("geteuid", "fchmod", "fchown", "O_DIRECTORY", "O_NOFOLLOW", "O_NONBLOCK")
_live: set[Path] = set()  # roots made by this process and not yet removed


class SnapshotError(Exception):
    """The box folder holds something a snapshot refuses; `path` is where, in the user's folder."""

    def __init__(self, path: Path | str, message: str) -> None:
        self.path, self.message = str(path), message
        super().__init__(f"{path}: {message}")


def runtime_dir() -> Path:
    """This uid's private folder of snapshot roots: 0700 and ours, or refused.

    `$XDG_RUNTIME_DIR/mcp-box` where that folder is set and ours, else `<tmp>/mcp-box-<uid>`.
    A folder there already that another uid owns, or that others may enter, is refused
    rather than used: whoever made it could read or swap the snapshots in it.
    """
    _require_posix(tempfile.gettempdir())
    uid = os.geteuid()
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and _owned_by(xdg, uid):
        base = Path(xdg) / "mcp-box"
    else:
        base = Path(tempfile.gettempdir()) / f"mcp-box-{uid}"
    created = False
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, PRIVATE_MODE)
        created = True
    try:
        fd = _open_folder(base)
    except OSError as exc:
        why = "not a folder (a link?)" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else exc.strerror
        raise SnapshotError(base, f"cannot use it for snapshots: {why}") from None
    try:
        info = os.fstat(fd)
        if info.st_uid != uid:
            raise SnapshotError(
                base, f"is owned by uid {info.st_uid}, not by this server's uid {uid}: not used"
            )
        if created:
            os.fchmod(fd, PRIVATE_MODE)  # whatever the umask
        elif stat.S_IMODE(info.st_mode) != PRIVATE_MODE:
            mode = stat.S_IMODE(info.st_mode)
            raise SnapshotError(base, f"has mode {mode:04o}, not 0700: not used for snapshots (chmod 700 it)")
    finally:
        os.close(fd)
    return base


def make_root(name: str) -> Path:
    """A fresh private folder for one pool: `<runtime_dir>/mcp-box-NAME-xxxx`, mode 0700.

    Under root it is also given a group no other root holds: the snapshot's group.
    """
    base = runtime_dir()
    if os.geteuid() != 0:
        root = Path(tempfile.mkdtemp(prefix=f"mcp-box-{name}-", dir=base))
    else:
        root = _grouped_root(base, name)
    _live.add(root)
    return root


def box_group(path: Path | str) -> int | None:
    """The group a snapshot (or its root) is shared with, if it has one: only root gives them."""
    try:
        gid = os.stat(path).st_gid
    except OSError:
        return None
    return gid if GROUP_BASE <= gid < GROUP_BASE + GROUP_SPAN else None


def remove(root: Path) -> None:
    """Delete a root made by `make_root` (blocking)."""
    shutil.rmtree(root, ignore_errors=True)
    _live.discard(root)


def remove_all() -> None:
    """Delete every root this process made and still holds: the last step of a shutdown."""
    for root in list(_live):
        remove(root)


def take(source: Path, target: Path, max_mb: int, *, trusted: bool = False) -> str | None:
    """Copy the box at `source` to `target` (new, in a root from `make_root`); returns its README text.

    `trusted`: the user's own box, whose code reads whatever the server may, so its files
    are copied whatever their link count (an install may hard-link them to a package
    cache). Blocking: run it with `asyncio.to_thread`. Raises `SnapshotError`.
    """
    _require_posix(source)
    copy = _Copy(source.resolve(), max_mb, box_group(target.parent), one_name=not trusted)
    try:
        source_fd = _open_box(copy.root)
        try:
            os.mkdir(target, PRIVATE_MODE)
            target_fd = _open_folder(target)
        except BaseException:
            os.close(source_fd)
            raise
        copy.run(source_fd, target_fd)
    except OSError as exc:
        raise SnapshotError(copy.where, _why(exc)) from None
    return read_text(target / "README.md", README_LIMIT)


def read_text(path: Path, limit: int) -> str | None:
    """A regular file's text, never through a link, cut at `limit` bytes; None if absent."""
    if _lacking():  # no way to refuse a link: not read
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(limit).decode("utf-8", errors="replace")


@dataclass(slots=True)
class _Folder:
    """A folder being copied: its descriptor in the box, its copy's, and where it is in the box."""

    source: int
    target: int
    parts: tuple[str, ...]
    entries: Iterator[os.DirEntry[str]]

    def close(self) -> None:
        os.close(self.source)
        os.close(self.target)


class _Copy:
    """One copy: a stack of open folders (no recursion, at most MAX_DEPTH deep), counting bytes."""

    def __init__(self, root: Path, max_mb: int, group: int | None, *, one_name: bool = True) -> None:
        self.root = root  # the box folder, resolved: error messages name paths under it
        self.where = root  # the entry being copied, for the message of an OSError
        self.max_mb = max_mb
        self.budget = max_mb * 1024 * 1024
        self.group = group
        self.one_name = one_name  # refuse a file with other hard links: they may lie outside
        self.dir_mode, self.file_mode = (0o750, 0o640) if group is not None else (PRIVATE_MODE, 0o600)
        self.entries = 0
        self.root_fd = -1

    def run(self, source_fd: int, target_fd: int) -> None:
        """Copy the box open as `source_fd` into the folder open as `target_fd`; closes both."""
        self.root_fd = source_fd
        stack = [_Folder(source_fd, target_fd, (), iter(()))]
        try:
            self._own(target_fd, self.dir_mode)
            stack[0].entries = self._list(source_fd)
            while stack:
                entry = next(stack[-1].entries, None)
                if entry is None:
                    stack.pop().close()
                elif (folder := self._copy_entry(stack[-1], entry)) is not None:
                    stack.append(folder)
                    if len(stack) > MAX_DEPTH:
                        raise self._error(f"folders nest more than {MAX_DEPTH} deep")
        finally:
            for folder in stack:
                folder.close()

    def _list(self, fd: int) -> Iterator[os.DirEntry[str]]:
        """A folder's entries, read from its descriptor, minus the names that are not the box's."""
        with os.scandir(fd) as entries:
            return iter(sorted((e for e in entries if not ignored(e.name)), key=lambda e: e.name))

    def _copy_entry(self, folder: _Folder, entry: os.DirEntry[str]) -> _Folder | None:
        """Copy one entry; a folder to walk next is returned rather than walked."""
        name = entry.name
        self.where = self.root.joinpath(*folder.parts, name)
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise SnapshotError(self.root, f"box has more than {MAX_ENTRIES} files")
        if entry.is_symlink():
            self._copy_link(folder, name)
        elif entry.is_dir(follow_symlinks=False):
            source = self._open(folder.source, name, folder=True)
            try:
                os.mkdir(name, PRIVATE_MODE, dir_fd=folder.target)
                target = _open_folder(name, folder.target)
            except BaseException:
                os.close(source)
                raise
            copied = _Folder(source, target, (*folder.parts, name), iter(()))
            try:
                self._own(target, self.dir_mode)
                copied.entries = self._list(source)
            except BaseException:
                copied.close()
                raise
            return copied
        elif entry.is_file(follow_symlinks=False):
            self._copy_file(self._open(folder.source, name, folder=False), folder.target, name)
        else:
            kind = _kind(entry.stat(follow_symlinks=False).st_mode)
            raise self._error(f"is a {kind}: a box holds only files and folders")
        return None

    def _copy_link(self, folder: _Folder, name: str) -> None:
        """A link inside the box: a file is copied as a file, a folder stays a (relative) link."""
        text = os.readlink(name, dir_fd=folder.source)
        parts, mode, fd = self._resolve(folder.parts, text)
        if stat.S_ISDIR(mode):
            link = posixpath.relpath(posixpath.join("/", *parts), posixpath.join("/", *folder.parts))
            os.symlink(link, name, dir_fd=folder.target)
        elif fd is not None:
            self._copy_file(fd, folder.target, name)
        else:
            raise self._error(f"is a link to a {_kind(mode)}: a box holds only files and folders")

    def _resolve(self, start: tuple[str, ...], text: str) -> tuple[list[str], int, int | None]:
        """Follow the link `text` (found in folder `start`) inside the box, on descriptors only.

        Returns where it leads (its parts under the root), the mode there, and for a
        regular file its open descriptor. Each folder on the way is held open and `..`
        steps back along what was walked, so nothing outside the root is ever reached.
        """
        steps = deque(self._inside(text) if text.startswith("/") else [*start, *text.split("/")])
        walked: list[tuple[str, int]] = []  # the folders entered, each held open
        followed = 0
        try:
            while steps:
                step = steps.popleft()
                here = walked[-1][1] if walked else self.root_fd
                if step in ("", "."):
                    continue
                if step == "..":
                    if not walked:
                        shown = posixpath.join(str(self.root), "..", *steps)
                        raise self._error(f"is a link to {posixpath.normpath(shown)}, outside the box")
                    os.close(walked.pop()[1])
                    continue
                try:
                    mode = os.stat(step, dir_fd=here, follow_symlinks=False).st_mode
                except (FileNotFoundError, NotADirectoryError):
                    raise self._error(f"is a dangling link (to {text})") from None
                if stat.S_ISLNK(mode):
                    followed += 1
                    if followed > MAX_LINKS:
                        raise self._error(f"is a link in a loop of links (to {text})")
                    inner = os.readlink(step, dir_fd=here)
                    if inner.startswith("/"):
                        for _, fd in walked:
                            os.close(fd)
                        walked = []
                        steps.extendleft(reversed(self._inside(inner)))
                    else:
                        steps.extendleft(reversed(inner.split("/")))
                elif stat.S_ISDIR(mode):
                    walked.append((step, self._open(here, step, folder=True)))
                elif any(s not in ("", ".") for s in steps):
                    raise self._error(f"is a dangling link (to {text})")
                else:
                    parts = [name for name, _ in walked] + [step]
                    return parts, mode, self._open(here, step, folder=False) if stat.S_ISREG(mode) else None
            return [name for name, _ in walked], stat.S_IFDIR, None
        finally:
            for _, fd in walked:
                os.close(fd)

    def _error(self, message: str) -> SnapshotError:
        return SnapshotError(self.where, message)

    def _inside(self, text: str) -> list[str]:
        """An absolute link's steps from the box root; one that does not start there leads outside."""
        steps = [step for step in text.split("/") if step not in ("", ".")]
        prefix = self.root.parts[1:]
        if tuple(steps[: len(prefix)]) != prefix:
            raise self._error(f"is a link to {posixpath.normpath(text)}, outside the box")
        return steps[len(prefix) :]

    def _open(self, parent: int, name: str, *, folder: bool) -> int:
        """Open `name` in `parent`, following no link; `fstat` checks it is still what was seen.

        A file with more than one hard link is refused (but in a trusted box): its other names
        may lie outside the box (a link to a file only root may read, made where
        `fs.protected_hardlinks` is off or by an archive extracted as root), and no
        descriptor tells where they are. Its count is read on the descriptor the copy reads.
        """
        if folder:
            fd = _open_folder(name, parent)
        else:
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
            fd = os.open(name, flags, dir_fd=parent)
        info = os.fstat(fd)
        if not (stat.S_ISDIR(info.st_mode) if folder else stat.S_ISREG(info.st_mode)):
            os.close(fd)
            raise self._error(f"changed while being copied (it is now a {_kind(info.st_mode)})")
        if not folder and self.one_name and info.st_nlink > 1:
            os.close(fd)
            raise self._error(
                f"is a file with {info.st_nlink} hard links: one may be a file outside the box, "
                "so it is not copied (a box's files have one name each: copy it instead of linking)"
            )
        return fd

    def _copy_file(self, fd: int, target_dir: int, name: str) -> None:
        """Copy the open regular file `fd` (closed after) to a new file `name` in `target_dir`."""
        with os.fdopen(fd, "rb") as source:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(name, flags, 0o600, dir_fd=target_dir)
            with os.fdopen(out, "wb") as sink:
                self._own(out, self.file_mode)
                while chunk := source.read(min(_CHUNK, self.budget + 1)):
                    self.budget -= len(chunk)
                    if self.budget < 0:
                        raise SnapshotError(
                            self.where,
                            f"box is over its {self.max_mb} MB size cap here (max_box_mb in box.toml)",
                        )
                    sink.write(chunk)

    def _own(self, fd: int, mode: int) -> None:
        """Give a copied file or folder its mode (whatever the umask), and its group under root."""
        if self.group is not None:
            os.fchown(fd, -1, self.group)
        os.fchmod(fd, mode)


def _grouped_root(base: Path, name: str) -> Path:
    """A root under root, with the lowest snapshot gid no other root in `base` holds."""
    import fcntl  # Unix only, as root is

    fd = _open_folder(base)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # servers pick their groups one at a time
        used = {gid for entry in os.listdir(fd) if (gid := _gid_at(fd, entry)) is not None}
        group = next(GROUP_BASE + n for n in range(GROUP_SPAN) if GROUP_BASE + n not in used)
        root = Path(tempfile.mkdtemp(prefix=f"mcp-box-{name}-", dir=base))
        os.chown(root, -1, group)
        os.chmod(root, PRIVATE_MODE)  # the group gives nothing here: it names the root's group
    finally:
        os.close(fd)  # and with it the lock
    return root


def _gid_at(folder: int, name: str) -> int | None:
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False).st_gid
    except FileNotFoundError:  # removed by its server meanwhile
        return None


def _lacking() -> list[str]:
    return [name for name in _POSIX_CALLS if not hasattr(os, name)]


def _require_posix(path: Path | str) -> None:
    """Fail closed where the calls a private, link-proof copy needs do not exist (Windows)."""
    if missing := _lacking():
        raise SnapshotError(path, f"no private snapshot on this OS (os lacks {', '.join(missing)})")


def _open_folder(path: Path | str, parent: int | None = None) -> int:
    """Open a folder (in `parent`, if given) that is not a link."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)


def _open_box(root: Path) -> int:
    """Open the (resolved) box folder walking from `/` one folder at a time, following no link.

    A folder on the way swapped for a link since `resolve()` fails the copy instead of
    redirecting it.
    """
    fd = _open_folder("/")
    for part in root.parts[1:]:
        try:
            child = _open_folder(part, fd)
        finally:
            os.close(fd)
        fd = child
    return fd


def _owned_by(path: str, uid: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a folder became a link or a file since it was seen
        return "changed while being copied"
    return f"cannot copy: {exc.strerror or exc}"


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    return "special file"
