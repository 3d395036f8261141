"""The few libc entry points the layers need, with errors turned into `OSError`.

Symbols are resolved on first use, not at import: `prctl`, `mount` and `unshare`
exist only in a Linux libc, and importing this module must not fail on macOS or
Windows. A symbol that is missing raises `OSError(ENOSYS)`, which the layers
report as "not enforced here".
"""

from __future__ import annotations

import ctypes
import errno as errnos
import functools
import os
import platform
from typing import Any

MACHINE = platform.machine()
_ARGTYPES: dict[str, list[Any]] = {
    "syscall": [],  # variadic: converted per call
    "prctl": [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong],
    "mount": [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p],
    "unshare": [ctypes.c_int],
}


@functools.cache
def _library() -> ctypes.CDLL | None:
    """The C library of this process (None where there is no such thing, as on Windows)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except (OSError, TypeError):
        return None


def function(name: str) -> Any:
    """The libc function `name`; `OSError(ENOSYS)` where this system's libc has none."""
    library = _library()
    try:
        found = getattr(library, name) if library is not None else None
    except AttributeError:
        found = None
    if found is None:
        raise OSError(errnos.ENOSYS, f"{name} is not available on this system")
    if _ARGTYPES.get(name):
        found.argtypes = _ARGTYPES[name]
    if name == "syscall":
        found.restype = ctypes.c_long
    return found


def check(result: int, what: str) -> int:
    """Raise `OSError` (with errno) for a -1 return."""
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def syscall(number: int, *args: int | ctypes.c_void_p | ctypes.Array[ctypes.c_char] | None) -> int:
    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return int(function("syscall")(ctypes.c_long(number), *converted))


def prctl(option: int, arg2: int = 0, arg3: int = 0, what: str = "prctl") -> int:
    return check(function("prctl")(option, arg2, arg3, 0, 0), what)


def unshare(flags: int) -> None:
    check(function("unshare")(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    check(function("mount")(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")
