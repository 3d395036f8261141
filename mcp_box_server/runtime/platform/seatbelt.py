"""Seatbelt: the macOS sandbox, as a profile rendered from the same `Policy` as Landlock's rules.

The profile denies by default and then allows exactly what Landlock allows on
Linux: reading beneath the policy's read paths (the box snapshot, Python and its
libraries, a few system folders), reading and writing beneath its write paths
(the worker's temp dir, /dev/null), and nothing on the network. Like Landlock,
it leaves metadata reads (`stat`) open, which path resolution needs. It is
applied in the worker with `sandbox_init` (libsystem_sandbox, part of
libSystem), as Codex CLI's `seatbelt.rs` applies its profile through
`sandbox-exec`; once applied it holds for the process and anything it starts.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterable

from mcp_box_server.runtime.confine import _libc
from mcp_box_server.runtime.confine.policy import Policy

# Beside the policy's own paths: what the dynamic loader, time zones and randomness need on macOS.
SYSTEM_READ = (
    "/usr/lib",
    "/usr/share/zoneinfo",
    "/System/Library",
    "/Library/Apple",
    "/private/var/db/timezone",
    "/private/etc/localtime",
    "/dev/urandom",
    "/dev/random",
    # Homebrew and python.org Pythons link libraries (OpenSSL, libffi) from here.
    "/opt/homebrew/opt",
    "/opt/homebrew/Cellar",
    "/usr/local/opt",
    "/usr/local/Cellar",
    "/Library/Frameworks/Python.framework",
)
_BASE = """\
(version 1)
(deny default)
; the worker itself: its own process, signals to itself, system facts libraries ask for
(allow process-info* (target self))
(allow signal (target self))
(allow sysctl-read)
(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))
; metadata (stat) anywhere, as under Landlock: path resolution needs it, contents stay closed
(allow file-read-metadata)
; no network, no programs, no processes: also what deny default says, stated for the reader
(deny network*)
(deny process-exec)
(deny process-fork)
"""


def profile(policy: Policy) -> str:
    """The SBPL text for `policy`: deny default, its reads, its writes, no network."""
    lines = [_BASE]
    read = _subpaths(policy.read)
    write = _subpaths(policy.write)
    lines.append(f"(allow file-read* file-map-executable\n{read})")
    lines.append(f"(allow file-read* file-write*\n{write})")
    return "\n".join(lines) + "\n"


def enforce(text: str) -> None:
    """Apply the profile to this process for good; `OSError` where Seatbelt is missing or refuses it."""
    sandbox_init = _libc.function("sandbox_init")
    sandbox_init.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_char_p)]
    sandbox_init.restype = ctypes.c_int
    error = ctypes.c_char_p()
    if sandbox_init(text.encode(), 0, ctypes.byref(error)) != 0:
        why = error.value.decode(errors="replace") if error.value else "no reason given"
        raise OSError(errno.EPERM, f"sandbox_init refused the profile: {why}")


def quote(path: str) -> str:
    """An SBPL string literal (backslash and double quote escaped)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _subpaths(paths: Iterable[str]) -> str:
    """`(subpath ...)` for each path, and for its resolved form: Seatbelt matches real paths
    (`/tmp` is `/private/tmp` on macOS)."""
    forms: dict[str, None] = {}
    for path in paths:
        forms[os.path.abspath(path)] = None
        forms[os.path.realpath(path)] = None
    return "\n".join(f"  (subpath {quote(path)})" for path in forms)
