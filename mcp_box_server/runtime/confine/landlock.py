"""Landlock: the file system (and TCP, and signal) allow-list, enforced by the kernel.

Once `restrict()` returns, this process and anything it could ever start may
only read beneath the read paths and write beneath the write paths; every other
open, create, rename, link or truncate fails with EACCES, whatever the caller's
uid. ABI 4 adds TCP bind/connect (none allowed), ABI 6 adds scopes: no signal to
a process outside this domain, no connecting to abstract UNIX sockets outside it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
from collections.abc import Iterable

from mcp_box_server.runtime.confine import _libc

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE
READ = READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | MAKE_FIFO
WRITE |= REFER | TRUNCATE


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# Why the version probe fails, by errno. A container's seccomp profile refuses with its default
# errno: EPERM in Docker's, which no kernel answers here; ENOSYS in podman's, which a kernel
# without Landlock answers too, so that one names both.
_UNAVAILABLE = {
    errno.ENOSYS: "the kernel lacks it, or a seccomp profile refuses it as podman's does (ENOSYS)",
    errno.EOPNOTSUPP: "disabled at boot (EOPNOTSUPP): add landlock to the kernel's lsm= list",
    errno.EPERM: "blocked by seccomp (EPERM): the seccomp profile in use refuses landlock_create_ruleset; "
    "run with one that allows the three landlock_* calls (see deploy/seccomp.py)",
}


def abi() -> int:
    """The Landlock ABI version this kernel offers; 0 where it offers none."""
    return probe()[0]


def probe() -> tuple[int, str]:
    """The ABI version, and where it is 0, why: the errno of the probe, in words."""
    version = _libc.syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    if version >= 1:
        return version, ""
    code = ctypes.get_errno()
    return 0, _UNAVAILABLE.get(code, f"the probe failed: {os.strerror(code)} (errno {code})")


def handled_fs(version: int) -> int:
    """Every file system right this ABI knows: what is not granted below is denied."""
    rights = (1 << 13) - 1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    return rights


def prepare(read: Iterable[str], write: Iterable[str]) -> int:
    """Build a ruleset (as the still-privileged caller) and return its descriptor.

    Paths that do not exist are skipped: a rule can only name what is there.
    """
    version, why = probe()
    if version < 1:
        raise OSError(f"Landlock is not available: {why}")
    handled = handled_fs(version)
    attr = _RulesetAttr(handled, 0, 0)
    fields = 1
    if version >= 4:
        attr.handled_access_net, fields = NET_BIND_TCP | NET_CONNECT_TCP, 2
    if version >= 6:
        attr.scoped, fields = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL, 3
    size = fields * ctypes.sizeof(ctypes.c_uint64)
    ruleset = _libc.check(
        _libc.syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0), "landlock_create_ruleset"
    )
    try:
        for paths, rights in ((read, READ), (write, WRITE)):
            for path in paths:
                _allow(ruleset, path, rights & handled)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def restrict(ruleset: int) -> None:
    """Enforce the ruleset on this process for good (needs `no_new_privs` first)."""
    try:
        _libc.check(_libc.syscall(_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    with contextlib.ExitStack() as stack:
        stack.callback(os.close, fd)
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        _libc.check(
            _libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0),
            f"landlock_add_rule {path}",
        )
