"""A box folder's writer racing the snapshot: a sub-folder swapped for a link, again and again."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE): a folder and a link trade places."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(a))


def root_only_folder(path: Path, secret: str, names: tuple[str, ...]) -> Path:
    """A folder only its owner (root, in these tests) may enter, each of `names` holding `secret`."""
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    for name in names:
        (path / name).write_text(secret)
        os.chmod(path / name, 0o600)
    return path


class FolderSwapper:
    """Keeps swapping the real folder `folder` with `spare`, a link to `target`, until stopped.

    `spare` lies outside the box on the same file system, so the box sees `folder` as a
    folder or as a link, never both and never neither. On exit the real folder is back.
    """

    def __init__(self, folder: Path, spare: Path, target: Path, pause: float = 0.0) -> None:
        spare.symlink_to(target)
        self.folder, self.spare, self.pause = folder, spare, pause
        self.swaps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            exchange(self.folder, self.spare)
            self.swaps += 1
            if self.pause:
                self._stop.wait(self.pause)

    def __enter__(self) -> FolderSwapper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.folder.is_symlink():
            exchange(self.folder, self.spare)
