"""Run a command as if the kernel lacked some system calls (a real seccomp filter: ENOSYS).

This is how a machine without Landlock looks to mcp-box, made on a machine that has it;
with `errno=1` (EPERM), how a container whose seccomp profile refuses the calls looks.
"""

from __future__ import annotations

import json
import sys

LANDLOCK = (444, 445, 446)  # landlock_create_ruleset, _add_rule, _restrict_self: same on every arch

_LAUNCHER = """
import ctypes, json, os, sys

numbers, errno = json.loads(sys.argv[1])
code = [(0x20, 0, 0, 0)]  # load the syscall number
for number in numbers:
    code += [(0x15, 0, 1, number), (0x06, 0, 0, 0x00050000 | errno)]  # == number: that errno
code.append((0x06, 0, 0, 0x7FFF0000))  # allow


class Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8)]
    _fields_ += [("k", ctypes.c_uint32)]


class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Filter))]


filters = (Filter * len(code))(*(Filter(*c) for c in code))
program = Program(len(code), filters)
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0  # no_new_privs
assert libc.prctl(22, 2, ctypes.byref(program), 0, 0) == 0, ctypes.get_errno()
os.execv(sys.argv[2], sys.argv[2:])
"""


def without_syscalls(numbers: tuple[int, ...], argv: list[str], errno: int = 38) -> list[str]:
    """`argv` run under a filter that answers `errno` (ENOSYS unless told) to `numbers`."""
    return [sys.executable, "-c", _LAUNCHER, json.dumps([list(numbers), errno]), *argv]
