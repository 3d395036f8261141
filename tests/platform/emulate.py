"""Stand-ins for the machines we do not have: a Python whose every process sees macOS's or
Windows's Python-level APIs, run on Linux as an unprivileged user.

`emulated_python(root, "darwin")` makes a virtual environment over this one whose
`sitecustomize` runs first in every process it starts (the server, each worker,
sandboxed ones with a scrubbed environment included, since it rides on the
interpreter and not on PYTHONPATH). For macOS it sets `sys.platform`, hides the
Linux-only libc symbols (`prctl`, `mount`, `unshare`, `capset`, `syscall`: Linux
syscall numbers mean other calls on XNU), makes `/proc` and `/sys` unreadable,
removes what macOS's `os` lacks, selects with poll (no epoll), refuses SOCK_SEQPACKET with
EPROTONOSUPPORT, raises ValueError for RLIMIT_AS as Apple Silicon does, and
reports `ru_maxrss` in bytes as macOS does. `sandbox_init` does not exist on
Linux, so Seatbelt is missing, as on a Mac where it cannot be applied. For
Windows it removes the POSIX-only modules and calls the runtime would need.

Libraries whose own macOS or Windows branches call that OS itself (truststore, rich,
platformdirs, anyio's and the SDK's Windows parts) are imported before the switch: the
emulation is of the platform the package meets, not of the libraries' ports.

The code under test picks its platform the way production does, from `sys.platform`.
`UNPRIVILEGED` runs a command as uid 65534 in a user namespace of its own: no capability
on the host, and `os.geteuid() != 0` for the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

UNPRIVILEGED = ["unshare", "--user", "--map-user=65534", "--map-group=65534"]

_COMMON = """
import builtins, errno, io, os, sys

def _hidden(path):
    if isinstance(path, int):
        return False
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    return any(text == root or text.startswith(root + "/") for root in HIDDEN)

def _guard(function):
    def guarded(path, *args, **kwargs):
        if _hidden(path):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", os.fsdecode(os.fspath(path)))
        return function(path, *args, **kwargs)
    return guarded

for _module, _name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "readlink"),
                       (os, "listdir"), (os, "scandir"), (os, "stat"), (os, "lstat")):
    setattr(_module, _name, _guard(getattr(_module, _name)))
for _name in REMOVED_OS:
    if hasattr(os, _name):
        delattr(os, _name)
"""

_DARWIN = (
    """
HIDDEN = ("/proc", "/sys")
REMOVED_OS = ("sched_getaffinity", "sched_setaffinity", "O_PATH", "pidfd_open", "memfd_create",
              "eventfd", "pipe2", "O_TMPFILE", "unshare", "setns")
"""
    + _COMMON
    + """
import ctypes, platform, resource, selectors, socket, sysconfig, types

sysconfig.get_config_vars()  # read while its data module is still named for Linux
import truststore  # its macOS branch calls the Security framework: the real one only

LINUX_ONLY = {"prctl", "mount", "umount2", "unshare", "setns", "capset", "capget", "syscall"}
_getitem = ctypes.CDLL.__getitem__

def _getitem_darwin(self, name):
    if name in LINUX_ONLY:
        raise AttributeError(f"dlsym(RTLD_DEFAULT, {name}): symbol not found")
    return _getitem(self, name)

ctypes.CDLL.__getitem__ = _getitem_darwin
selectors.DefaultSelector = selectors.PollSelector  # macOS's is kqueue, which Linux lacks: no epoll

_socketpair, _socket_init = socket.socketpair, socket.socket.__init__

def _refuse(kind):
    if kind is not None and int(kind) & 0xF == socket.SOCK_SEQPACKET:
        raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported")

def socketpair(family=None, type=socket.SOCK_STREAM, proto=0):
    _refuse(type)
    return _socketpair(family, type, proto)

def _init(self, family=-1, type=-1, proto=-1, fileno=None):
    if fileno is None:
        _refuse(type)
    _socket_init(self, family, type, proto, fileno)

socket.socketpair, socket.socket.__init__ = socketpair, _init
_setrlimit, _getrusage = resource.setrlimit, resource.getrusage

def setrlimit(limit, values):
    if limit == resource.RLIMIT_AS:
        raise ValueError("current limit exceeds maximum limit")
    return _setrlimit(limit, values)

def getrusage(who):
    usage = list(_getrusage(who))
    usage[2] *= 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.struct_rusage(usage)

resource.setrlimit, resource.getrusage = setrlimit, getrusage
sys.modules["_scproxy"] = types.SimpleNamespace(_get_proxy_settings=lambda: {}, _get_proxies=lambda: {})
platform.system = lambda: "Darwin"
sys.platform = "darwin"
"""
)

_WINDOWS = (
    """
import asyncio, platform, selectors, signal, socket, subprocess, sysconfig, urllib.request
# Libraries whose Windows branches need Windows itself (msvcrt, _winapi, its DLLs) are
# imported while this is still Linux: the emulation is of the platform the package meets.
import anyio, fastmcp, mcp, mcp.client.stdio, platformdirs, rich.console, truststore, uvicorn, watchfiles

sysconfig.get_config_vars()  # read (and the modules above imported) while still on Linux
HIDDEN = ("/proc", "/sys")
REMOVED_OS = ("fork", "forkpty", "killpg", "getpgid", "setsid", "setpgid", "getuid", "geteuid",
              "getgid", "getegid", "setuid", "setgid", "setresuid", "setresgid", "setgroups",
              "getresuid", "sched_getaffinity", "O_NOFOLLOW", "O_PATH", "O_NONBLOCK",
              "pidfd_open", "memfd_create", "pipe2", "set_blocking", "get_blocking")
"""
    + _COMMON
    + """
for _module in ("resource", "fcntl", "termios", "pwd", "grp", "_posixsubprocess"):
    sys.modules[_module] = None  # import fails, as on Windows
# AF_UNIX stays: asyncio's loop needs a socketpair, which Windows's Python makes over TCP.
for _name in ("SOCK_SEQPACKET", "send_fds", "recv_fds", "CMSG_LEN", "SCM_RIGHTS"):
    if hasattr(socket, _name):
        delattr(socket, _name)
for _name in ("SIGKILL", "SIGCHLD", "SIGHUP", "SIGQUIT", "setitimer"):
    if hasattr(signal, _name):
        delattr(signal, _name)
platform.system = lambda: "Windows"
sys.platform = "win32"
"""
)


def emulated_python(root: Path, system: str) -> Path:
    """The `python` of a virtual environment over this one in which every process runs as on `system`."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
    ours = sysconfig.get_path("purelib")
    (purelib / "_mcp_box_env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    source = {"darwin": _DARWIN, "windows": _WINDOWS}[system]
    (purelib / "sitecustomize.py").write_text(textwrap.dedent(source))
    return root / "bin" / "python"


def clean_env(home: Path) -> dict[str, str]:
    """An environment with no PYTHONPATH of ours (the emulated interpreter finds the package) and
    a home of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "MCP_BOX"))}
    return env | {"HOME": str(home)}
