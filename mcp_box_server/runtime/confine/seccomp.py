"""seccomp-BPF: the system calls a sandboxed worker may not make, enforced by the kernel.

The filter denies (EPERM) whatever would let code leave its confinement: running
programs, creating processes (threads stay allowed), opening sockets (its
channel to the server is inherited, so it needs none; only a connected
stream socketpair may be made), joining or creating namespaces, mounting,
tracing or signalling other processes, raising limits, changing identity,
loading kernel code, kernel interfaces that bypass seccomp (io_uring) or other
layers (file handles), memory outside the address-space cap (memfd, SysV
shared memory), watching other folders (inotify), and the metadata writes
Landlock does not cover (chmod, chown, utimes and xattrs by path; the
descriptor forms only reach files Landlock let it open). A foreign architecture or the
x32 ABI kills the process. Numbers are kept per architecture; an architecture
not listed here cannot be confined, and sandboxed boxes do not serve there.
"""

from __future__ import annotations

import ctypes
import errno as errnos
from dataclasses import dataclass

from mcp_box_server.runtime.confine import _libc

# Names every architecture shares; numbers from the kernel's unistd tables.
_DENIED = (
    "socket", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
    "setns", "unshare", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "bpf", "keyctl", "add_key",
    "request_key", "setrlimit", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
    "quotactl_fd", "name_to_handle_at", "open_by_handle_at", "kcmp", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "process_madvise", "process_mrelease", "migrate_pages", "move_pages",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setgroups", "capset", "sethostname", "setdomainname", "syslog", "vhangup", "personality",
    "fanotify_init", "lookup_dcookie", "nfsservctl", "mknodat", "tkill", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "connect", "bind", "listen", "memfd_create",
    "memfd_secret", "shmget", "shmat", "shmctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "semget", "semop", "semctl", "semtimedop", "inotify_init1", "inotify_add_watch", "fchmodat",
    "fchmodat2", "fchownat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
    "fremovexattr", "setxattrat", "removexattrat",
)  # fmt: skip
# Only where the architecture still has them (x86_64's legacy calls).
_DENIED_LEGACY = (
    "fork", "vfork", "mknod", "uselib", "ustat", "sysfs", "_sysctl", "iopl", "ioperm",
    "modify_ldt", "create_module", "get_kernel_syms", "query_module", "inotify_init", "chmod", "chown",
    "lchown", "utime", "utimes", "futimesat",
)  # fmt: skip

_COMMON_NUMBERS = {
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_open": 434, "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440,
    "mount_setattr": 442, "quotactl_fd": 443, "process_mrelease": 448, "pidfd_send_signal": 424,
    "memfd_secret": 447, "fchmodat2": 452, "setxattrat": 463, "removexattrat": 466,
}  # fmt: skip
_X86_64 = _COMMON_NUMBERS | {
    "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62,
    "ptrace": 101, "syslog": 103, "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114,
    "setgroups": 116, "setresuid": 117, "setresgid": 119, "setfsuid": 122, "setfsgid": 123,
    "capset": 126, "rt_sigqueueinfo": 129, "mknod": 133, "uselib": 134, "personality": 135,
    "ustat": 136, "sysfs": 139, "vhangup": 153, "modify_ldt": 154, "pivot_root": 155, "_sysctl": 156,
    "adjtimex": 159, "setrlimit": 160, "chroot": 161, "acct": 163, "settimeofday": 164,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170,
    "setdomainname": 171, "iopl": 172, "ioperm": 173, "create_module": 174, "init_module": 175,
    "delete_module": 176, "get_kernel_syms": 177, "query_module": 178, "quotactl": 179,
    "nfsservctl": 180, "tkill": 200, "lookup_dcookie": 212, "clock_settime": 227, "tgkill": 234,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "migrate_pages": 256,
    "mknodat": 259, "unshare": 272, "move_pages": 279, "rt_tgsigqueueinfo": 297,
    "perf_event_open": 298, "fanotify_init": 300, "prlimit64": 302, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "execveat": 322, "userfaultfd": 323, "connect": 42, "bind": 49, "listen": 50, "memfd_create": 319,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "msgget": 68, "msgsnd": 69, "msgrcv": 70,
    "msgctl": 71, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220, "inotify_init": 253,
    "inotify_init1": 294, "inotify_add_watch": 254, "chmod": 90, "fchmodat": 268, "chown": 92,
    "lchown": 94, "fchownat": 260, "utime": 132, "utimes": 235, "futimesat": 261, "utimensat": 280,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198,
    "fremovexattr": 199,
}  # fmt: skip
_AARCH64 = _COMMON_NUMBERS | {
    "socket": 198, "socketpair": 199, "clone": 220, "execve": 221, "kill": 129, "ptrace": 117,
    "syslog": 116, "setuid": 146, "setgid": 144, "setreuid": 145, "setregid": 143,
    "setgroups": 159, "setresuid": 147, "setresgid": 149, "setfsuid": 151, "setfsgid": 152,
    "capset": 91, "rt_sigqueueinfo": 138, "personality": 92, "setrlimit": 164, "chroot": 51,
    "acct": 89, "settimeofday": 170, "mount": 40, "umount2": 39, "swapon": 224, "swapoff": 225,
    "reboot": 142, "sethostname": 161, "setdomainname": 162, "init_module": 105,
    "delete_module": 106, "quotactl": 60, "nfsservctl": 42, "tkill": 130, "lookup_dcookie": 18,
    "clock_settime": 112, "adjtimex": 171, "tgkill": 131, "kexec_load": 104, "add_key": 217,
    "request_key": 218, "keyctl": 219, "migrate_pages": 238, "mknodat": 33, "unshare": 97,
    "move_pages": 239, "perf_event_open": 241, "rt_tgsigqueueinfo": 240, "fanotify_init": 262,
    "prlimit64": 261, "name_to_handle_at": 264, "open_by_handle_at": 265, "clock_adjtime": 266,
    "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
    "finit_module": 273, "kexec_file_load": 294, "bpf": 280, "execveat": 281, "userfaultfd": 282,
    "pivot_root": 41, "vhangup": 58, "connect": 203, "bind": 200, "listen": 201, "memfd_create": 279,
    "shmget": 194, "shmat": 196, "shmctl": 195, "shmdt": 197, "msgget": 186, "msgsnd": 189,
    "msgrcv": 188, "msgctl": 187, "semget": 190, "semop": 193, "semctl": 191, "semtimedop": 192,
    "inotify_init1": 26, "inotify_add_watch": 27, "fchmodat": 53, "fchownat": 54, "utimensat": 88,
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
    "fremovexattr": 16,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Arch:
    audit: int
    numbers: dict[str, int]
    x32_bit: int = 0  # x86_64: syscall numbers with this bit are the x32 ABI


ARCHITECTURES = {
    "x86_64": _Arch(0xC000003E, _X86_64, 0x40000000),
    "aarch64": _Arch(0xC00000B7, _AARCH64),
}

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET, _ALU_AND = 0x20, 0x15, 0x35, 0x45, 0x06, 0x54
_RET_ALLOW, _RET_KILL_PROCESS, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_DENY = _RET_ERRNO | errnos.EPERM
_NO_SYS = _RET_ERRNO | errnos.ENOSYS
_NR, _ARCH = 0, 4
CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_AF_UNIX, _SOCK_STREAM, _SOCK_TYPE_MASK = 1, 1, 0xF
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2

Instruction = tuple[int, int, int, int]


def _arg(index: int, high: bool = False) -> int:
    return 16 + 8 * index + (4 if high else 0)


def _load(offset: int) -> Instruction:
    return (_LD_W_ABS, 0, 0, offset)


def _ret(value: int) -> Instruction:
    return (_RET, 0, 0, value)


def _when(number: int, block: list[Instruction]) -> list[Instruction]:
    """Run `block` (which always returns) for syscall `number`; fall through otherwise.

    The block may clobber the accumulator: it never falls through.
    """
    return [(_JEQ, 0, len(block), number), *block]


def _only_if_arg_is(index: int, value: int) -> list[Instruction]:
    """Allow when the 32-bit argument `index` equals `value` (pids, families are ints)."""
    return [_load(_arg(index)), (_JEQ, 0, 1, value), _ret(_RET_ALLOW), _ret(_DENY)]


def program(arch: _Arch, own_pid: int) -> list[Instruction]:
    """The filter for a process whose pid (in its own namespace) is `own_pid`."""
    numbers = arch.numbers
    code: list[Instruction] = [_load(_ARCH), (_JEQ, 1, 0, arch.audit), _ret(_RET_KILL_PROCESS), _load(_NR)]
    if arch.x32_bit:
        code += [(_JGE, 0, 1, arch.x32_bit), _ret(_RET_KILL_PROCESS)]
    for name in _DENIED + _DENIED_LEGACY:
        if name in numbers:
            code += [(_JEQ, 0, 1, numbers[name]), _ret(_DENY)]
    code += [(_JEQ, 0, 1, numbers["clone3"]), _ret(_NO_SYS)]  # flags hidden in memory: use clone
    clone = [
        _load(_arg(0)),
        (_JSET, 2, 0, _CLONE_NAMESPACES),
        (_JSET, 0, 1, CLONE_THREAD),
        _ret(_RET_ALLOW),
        _ret(_DENY),
    ]
    code += _when(numbers["clone"], clone)
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        code += _when(numbers[name], _only_if_arg_is(0, own_pid))
    stream_pair = [
        _load(_arg(0)),
        (_JEQ, 0, 4, _AF_UNIX),
        _load(_arg(1)),
        (_ALU_AND, 0, 0, _SOCK_TYPE_MASK),  # SOCK_CLOEXEC and SOCK_NONBLOCK may be set
        (_JEQ, 0, 1, _SOCK_STREAM),
        _ret(_RET_ALLOW),
        _ret(_DENY),
    ]
    code += _when(numbers["socketpair"], stream_pair)  # datagrams could be sent to any named socket
    by_descriptor = [_load(_arg(1)), (_JEQ, 0, 3, 0), _load(_arg(1, high=True)), (_JEQ, 0, 1, 0)]
    by_descriptor += [_ret(_RET_ALLOW), _ret(_DENY)]
    code += _when(numbers["utimensat"], by_descriptor)  # futimens(fd) only, never by path
    new_limit = [
        _load(_arg(2)),
        (_JEQ, 0, 3, 0),
        _load(_arg(2, high=True)),
        (_JEQ, 0, 1, 0),
        _ret(_RET_ALLOW),
        _ret(_DENY),
    ]
    code += _when(numbers["prlimit64"], new_limit)  # reading limits is fine, setting is not
    code.append(_ret(_RET_ALLOW))
    return code


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def supported() -> str | None:
    """Why this machine cannot be filtered, or None when it can."""
    if _libc.MACHINE not in ARCHITECTURES:
        return f"no seccomp syscall table for architecture {_libc.MACHINE}"
    try:
        with open("/proc/self/status") as status:
            if not any(line.startswith("Seccomp:") for line in status):
                return "the kernel has no seccomp"
    except OSError:
        pass
    return None


def install(own_pid: int) -> None:
    """Load the filter for good; `no_new_privs` must already be set."""
    problem = supported()
    if problem:
        raise OSError(problem)
    code = program(ARCHITECTURES[_libc.MACHINE], own_pid)
    filters = (_SockFilter * len(code))(*(_SockFilter(*instruction) for instruction in code))
    prog = _SockFprog(len(code), filters)
    _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), what="seccomp")
