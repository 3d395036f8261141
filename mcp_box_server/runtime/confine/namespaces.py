"""Namespaces and identity: a worker's own PID, network, IPC and mount namespaces, and
an unprivileged uid when the server runs as root.

A new PID namespace is what lets the runtime kill everything a tool started: the
worker is its init, and when init dies the kernel kills every process in it, even
one that called `setsid()`. A new network namespace has only a downed loopback.
As root the worker drops to a uid of its own; files it must still read but cannot
reach as that uid (a Python under `/root`, a private snapshot folder) are bound
into a private mount namespace on a tmpfs that hides everything else around them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from mcp_box_server.runtime.confine import _libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMES = {CLONE_NEWPID: "pid", CLONE_NEWNET: "network", CLONE_NEWNS: "mount", CLONE_NEWIPC: "ipc"}

_MS_NOSUID, _MS_NODEV, _MS_RDONLY = 0x2, 0x4, 0x1
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000


@dataclass(slots=True)
class Entered:
    """Which namespaces this process now has of its own, and why the others are missing."""

    user: bool = False
    flags: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)


def enter(wanted: Iterable[int]) -> Entered:
    """Unshare each wanted namespace, as far as the kernel lets this process.

    Root unshares directly; anyone else first gets a user namespace in which
    their own uid and gid map to themselves (so files keep their owners).
    """
    entered = Entered()
    if os.geteuid() != 0:
        uid, gid = os.geteuid(), os.getegid()
        try:
            _libc.unshare(CLONE_NEWUSER)
        except OSError as exc:
            entered.refused = {NAMES[flag]: f"no user namespace ({exc.strerror})" for flag in wanted}
            return entered
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        entered.user = True
    for flag in wanted:
        try:
            _libc.unshare(flag)
        except OSError as exc:
            entered.refused[NAMES[flag]] = exc.strerror or str(exc)
        else:
            entered.flags |= flag
    return entered


def expose(paths: Iterable[str], uid: int, gid: int, writable: Iterable[str] = ()) -> None:
    """Make `paths` reachable for `uid` where a folder above them is closed to it.

    Needs a private mount namespace. The closed folder is covered by an empty
    tmpfs holding only bind mounts of the paths below it (read-only, except
    `writable`), so nothing else under it can be seen.
    """
    _libc.mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    writable = set(writable)
    covered: dict[str, list[str]] = {}
    for path in paths:
        closed = _outermost_closed(path, uid, gid)
        if closed is not None and os.path.lexists(path):
            covered.setdefault(closed, []).append(path)
    for closed, inside in sorted(covered.items()):
        outermost = [p for p in inside if not any(p.startswith(q + "/") for q in inside if q != p)]
        handles = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in outermost}
        try:
            _libc.mount("tmpfs", closed, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k")
            for path, fd in handles.items():
                _bind(fd, path, read_only=path not in writable)
        finally:
            for fd in handles.values():
                os.close(fd)


def mount_temp_dir(path: str, megabytes: int, uid: int, gid: int) -> None:
    """Put a tmpfs of at most `megabytes` on the temp dir: files written there are bounded."""
    _libc.mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    options = f"size={megabytes}m,nr_inodes=65536,mode=0700,uid={uid},gid={gid}"
    _libc.mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, options)


def check_reachable(paths: Iterable[str], uid: int, gid: int) -> None:
    """Fail where `uid` could not reach a path it needs (no mount namespace to bind it)."""
    for path in paths:
        closed = _outermost_closed(path, uid, gid) if os.path.lexists(path) else None
        if closed is not None:
            raise OSError(f"{path} is behind {closed}, closed to uid {uid}, and no mount namespace binds it")


def drop_identity(uid: int, gid: int, groups: tuple[int, ...] = ()) -> None:
    """Become `uid`/`gid` with only `groups` besides: root's capabilities go with it."""
    os.setgroups(list(groups))
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid):
        raise OSError(f"could not drop to uid {uid}")


def drop_capabilities() -> None:
    """Clear every capability (those a user namespace gave us included)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # two zeroed {effective, permitted, inheritable} sets
    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    _libc.check(_libc.function("capset")(ctypes.byref(header), data), "capset")


def _bind(fd: int, target: str, read_only: bool) -> None:
    """Recreate `target` on the tmpfs and bind the original (held open as `fd`) onto it."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.makedirs(target, exist_ok=True)
    else:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    source = f"/proc/self/fd/{fd}"
    _libc.mount(source, target, None, _MS_BIND | _MS_REC)
    if read_only:
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV
        with contextlib.suppress(OSError):  # the layers above forbid writes anyway
            _libc.mount(None, target, None, flags)


def _outermost_closed(path: str, uid: int, gid: int) -> str | None:
    """The highest folder above `path` that `uid` may not pass through, if any."""
    parts = os.path.abspath(path).split("/")[1:-1]
    current = ""
    for part in parts:
        current += "/" + part
        try:
            info = os.stat(current)
        except OSError:
            return None
        if not _can_search(info, uid, gid):
            return current
    return None


def _can_search(info: os.stat_result, uid: int, gid: int) -> bool:
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == gid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)
