"""What the sandbox attack tests share: the attacks (a box module's source), a listener, CPU ticks.

ATTACKS is served as the tools of a sandboxed box and also submitted as the top of a
code-mode program (tests/server/test_sandbox_attacks.py); each function tries one
forbidden thing and reports what happened, but its report is never the verdict: the
tests judge by the effect outside (a file, a byte received, a process, a limit).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

ATTACKS = '''
import ctypes
import ctypes.util
import errno
import os
import select
import signal
import socket
import subprocess

# ctypes.CDLL is refused by the audit hook; pythonapi (loaded before it) reaches libc all the same.
libc = ctypes.pythonapi


def _attempt(step) -> str:
    try:
        return repr(step())
    except BaseException as exc:  # the verdict is taken outside, never from here
        return f"{type(exc).__name__}: {exc}"


def write_file(path: str) -> str:
    """open() for writing."""
    return _attempt(lambda: open(path, "w").write("planted"))


def write_with_dir_fd(folder: str, name: str, text: str) -> str:
    """os.open relative to a directory descriptor (no path for a hook to see)."""

    def step():
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        out = os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        return os.write(out, text.encode())

    return _attempt(step)


def write_with_libc(path: str) -> str:
    """libc open + write through ctypes."""

    def step():
        fd = libc.open(path.encode(), os.O_CREAT | os.O_WRONLY, 0o644)
        return libc.write(fd, b"planted", 7), ctypes.get_errno()

    return _attempt(step)


def file_calls(marker_dir: str, victim: str) -> list:
    """Every other call that changes the file system, aimed outside the temp dir."""
    local = os.path.abspath("mine.txt")
    open(local, "w").write("mine")
    m = lambda name: os.path.join(marker_dir, name)  # noqa: E731
    steps = [
        lambda: os.replace(local, m("replaced")),
        lambda: os.rename(local, m("renamed")),
        lambda: os.link(local, m("linked")),
        lambda: os.symlink(local, m("symlinked")),
        lambda: os.mkdir(m("made_dir")),
        lambda: os.mkfifo(m("fifo")),
        lambda: os.chmod(victim, 0o777),
        lambda: os.truncate(victim, 0),
        lambda: os.remove(victim),
        lambda: os.utime(victim, (0, 0)),
        lambda: libc.rename(local.encode(), m("libc_renamed").encode()),
        lambda: libc.unlink(victim.encode()),
    ]
    return [_attempt(step) for step in steps]


def run_libc_system(marker: str) -> str:
    """libc system()."""
    return _attempt(lambda: libc.system(f"touch {marker}".encode()))


def run_fork_exec(marker: str) -> str:
    """libc fork() then exec, and os.fork, and _posixsubprocess.fork_exec."""

    def raw_fork():
        pid = libc.fork()
        if pid == 0:
            os.execv("/usr/bin/touch", ["touch", marker + ".fork"])
        return pid

    def posixsubprocess():
        import _posixsubprocess

        errors_read, errors_write = os.pipe()
        return _posixsubprocess.fork_exec(  # the arguments subprocess passes on Python 3.11
            ["/usr/bin/touch", marker + ".fe"], [b"/usr/bin/touch"], True, (), None, None,
            -1, -1, -1, -1, -1, -1, errors_read, errors_write, False, False, -1, None, None, None,
            -1, None, False,
        )

    return " | ".join(_attempt(s) for s in (
        raw_fork,
        lambda: os.fork(),
        posixsubprocess,
        lambda: subprocess.run(["touch", marker + ".sub"]),
        lambda: os.posix_spawn("/usr/bin/touch", ["touch", marker + ".spawn"], {}),
        lambda: libc.execl(b"/usr/bin/touch", b"touch", (marker + ".execl").encode(), None),
    ))


def run_memfd_exec(marker: str) -> str:
    """Write a script into a memfd and execveat it (no file to see, no path to check)."""

    def step():
        fd = os.memfd_create("x")
        os.write(fd, f"#!/bin/sh\\ntouch {marker}\\n".encode())
        execveat = {"x86_64": 322, "aarch64": 281}[os.uname().machine]
        argv = (ctypes.c_char_p * 2)(b"x", None)
        return libc.syscall(execveat, fd, b"", argv, None, 0x1000)

    return _attempt(step)


def run_multiprocessing(marker: str) -> str:
    """multiprocessing with the spawn context."""
    import multiprocessing

    def step():
        process = multiprocessing.get_context("spawn").Process(target=open, args=(marker, "w"))
        process.start()
        process.join(5)
        return process.exitcode

    return _attempt(step)


def connect_socket(port: int) -> str:
    """The socket module, then raw libc socket/connect."""

    def raw():
        fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
        raw_address = b"\\x02\\x00" + port.to_bytes(2, "big") + bytes([127, 0, 0, 1]) + bytes(8)
        address = (ctypes.c_char * 16)(*raw_address)
        return fd, libc.connect(fd, address, 16), libc.send(fd, b"leak", 4, 0), ctypes.get_errno()

    return _attempt(lambda: socket.create_connection(("127.0.0.1", port), 2).sendall(b"leak")) + _attempt(raw)


def connect_after_setns(server_pid: int, port: int) -> str:
    """Join the server's network namespace, then connect with libc."""

    def step():
        fd = os.open(f"/proc/{server_pid}/ns/net", os.O_RDONLY)
        return libc.setns(fd, 0x40000000), ctypes.get_errno()

    return _attempt(step) + _attempt(lambda: libc.unshare(0x10000000 | 0x40000000)) + connect_socket(port)


def signal_processes(pids: list[int]) -> str:
    """os.kill, libc kill, tgkill, pidfd_send_signal at the server and the zygotes."""
    results = []
    for pid in pids:
        results.append(_attempt(lambda: os.kill(pid, signal.SIGKILL)))
        results.append(_attempt(lambda: libc.kill(pid, 9)))
        results.append(_attempt(lambda: libc.syscall(234, pid, pid, 9)))
        results.append(_attempt(lambda: os.pidfd_open(pid)))
    results.append(_attempt(lambda: os.kill(-1, signal.SIGKILL)))
    return " | ".join(results)


def trace_process(pid: int) -> str:
    """ptrace(PTRACE_ATTACH) and process_vm_readv on another process."""
    return _attempt(lambda: (libc.ptrace(16, pid, None, None), ctypes.get_errno()))


def read_file(path: str) -> str:
    """Read a file outside the box."""
    return _attempt(lambda: open(path, "rb").read().decode(errors="replace"))


def lift_memory_cap(hold: float = 0.0) -> str:
    """setrlimit and prlimit back up to the hard limit (or to infinity), then stay `hold` s to be seen."""
    import resource
    import time

    def step():
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return resource.getrlimit(resource.RLIMIT_AS)

    results = [
        _attempt(step),
        _attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1))),
        _attempt(lambda: resource.prlimit(0, resource.RLIMIT_AS, (-1, -1))),
    ]
    time.sleep(hold)
    return " | ".join(results)


def abuse_descriptors() -> str:
    """Register a ready pipe on every inherited epoll; write garbage into every other descriptor."""
    import stat

    held = []
    for fd in range(3, 1024):
        try:
            held.append((fd, os.fstat(fd).st_mode))
        except OSError:
            continue
    reader, writer = os.pipe()
    os.write(writer, b"x")
    for fd, mode in held:
        _attempt(lambda: select.epoll.fromfd(os.dup(fd)).register(reader, select.EPOLLIN))
        if not stat.S_ISSOCK(mode):
            _attempt(lambda: os.write(fd, b"garbage"))
    held = [fd for fd, _ in held]
    return " ".join(map(str, held))


def hog_memory(megabytes: int, hold: float) -> str:
    """Memory the address-space cap does not count: memfd, SysV shm, temp files (tmpfs)."""
    import mmap
    import time

    kept = []

    def memfd():
        fd = os.memfd_create("hog")
        os.posix_fallocate(fd, 0, megabytes << 20)
        kept.append(fd)

    def shm():
        shmid = libc.shmget(0, megabytes << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
        address = libc.shmat(shmid, None, 0)
        return ctypes.memset(address, 1, megabytes << 20) if address not in (-1, 0) else shmid

    def temp_files():
        for index in range(3):
            with open(f"hog-{index}", "wb") as out:
                for _ in range(megabytes):
                    out.write(b"x" * (1 << 20))

    results = [_attempt(memfd), _attempt(shm), _attempt(temp_files)]
    time.sleep(hold)
    return " | ".join(results) + str(mmap.PAGESIZE)


def many_threads(count: int, hold: float) -> str:
    """Start as many threads as asked, all waiting: a host's pids are finite."""
    import threading

    threading.stack_size(65536)
    stop = threading.Event()
    started = 0
    try:
        for _ in range(count):
            threading.Thread(target=stop.wait, args=(hold,), daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    stop.wait(hold)
    stop.set()
    return str(started)


def datagram_to(path: str) -> str:
    """A socketpair of datagrams, then sendto a named socket outside."""

    def step():
        import struct

        pair = (ctypes.c_int * 2)()
        made = libc.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM, 0, pair)
        address = struct.pack("H108s", socket.AF_UNIX, path.encode())
        raw = (ctypes.c_char * len(address))(*address)
        return made, libc.sendto(pair[0], b"leak", 4, 0, raw, len(address))

    return _attempt(step)


def touch_metadata(path: str) -> list:
    """chmod, utimes and xattrs: what Landlock does not cover."""
    return [
        _attempt(lambda: os.chmod(path, 0o600)),
        _attempt(lambda: os.utime(path, (0, 0))),
        _attempt(lambda: libc.utimensat(-100, path.encode(), None, 0)),
        _attempt(lambda: os.setxattr(path, "user.planted", b"yes")),
        _attempt(lambda: libc.chown(path.encode(), 0, 0)),
    ]


def watch_folder(path: str) -> str:
    """inotify on a shared folder: learn the names of other boxes' files."""

    def step():
        fd = libc.inotify_init1(0)
        return fd, libc.inotify_add_watch(fd, path.encode(), 0x100)

    return _attempt(step)
'''


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection and byte it gets."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.received.append(b"<connected>" + conn.recv(1024))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def shmem_mb() -> int:
    line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("Shmem:"))
    return int(line.split()[1]) // 1024
