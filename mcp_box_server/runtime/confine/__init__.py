"""Kernel confinement of worker processes: one module per layer, the policy as data.

A sandboxed worker is confined in two steps, both before any box code runs:

1. `isolate()`, in the process the zygote forked: new PID, network, IPC and mount
   namespaces where the kernel allows them. With a PID namespace the worker is
   forked once more and becomes its init, so killing it kills all it started.
2. `confine()`, in the worker: close inherited descriptors, mount a size-bounded
   tmpfs on its temp dir, (as root) bind what its uid must read and drop to a uid
   of its own, fix rlimits, set `no_new_privs`, enforce Landlock, load the seccomp
   filter.

Descriptors, rlimits, `no_new_privs`, Landlock, seccomp and (under root) the
unprivileged uid are required: where one cannot be enforced the worker loads
nothing and reports why, unless the server's user set MCP_BOX_UNSAFE_WEAK_SANDBOX
(`--unsafe-weak-sandbox`). A box cannot opt itself out. Namespaces are a further
layer where the kernel has them. Trusted workers get the PID namespace only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp_box_server.runtime.confine import _libc, fds, landlock, limits, namespaces, seccomp
from mcp_box_server.runtime.confine.policy import Policy, sandbox_policy

__all__ = ["UNSAFE_ENV", "Confinement", "Policy", "confine", "isolate", "sandbox_policy", "unsafe_allowed"]

UNSAFE_ENV = "MCP_BOX_UNSAFE_WEAK_SANDBOX"
_PR_SET_NO_NEW_PRIVS = 38
# The mount namespace binds what the worker's uid must read (under root) and holds the
# size-bounded tmpfs of its temp dir.
_SANDBOX_NAMESPACES = (
    namespaces.CLONE_NEWPID,
    namespaces.CLONE_NEWNET,
    namespaces.CLONE_NEWIPC,
    namespaces.CLONE_NEWNS,
)


@dataclass(slots=True)
class Confinement:
    """Which layers hold for this worker, and why the missing ones do not."""

    enforced: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    required_missing: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_namespaces(cls, entered: namespaces.Entered) -> Confinement:
        """A trusted worker's report: only its namespaces."""
        report = cls()
        for flag, name in namespaces.NAMES.items():
            if entered.has(flag):
                report.enforced.append(f"{name} namespace")
            elif name in entered.refused:
                report.missing[f"{name} namespace"] = entered.refused[name]
        return report

    def attempt(self, name: str, step: Callable[..., object], *args: object, required: bool = True) -> None:
        """Apply one layer; where it fails, note why (and, if `required`, that the worker may not run)."""
        try:
            step(*args)
        except OSError as exc:
            self.missing[name] = str(exc)
            if required:
                self.required_missing[name] = str(exc)
        else:
            self.enforced.append(name)

    def describe(self) -> str:
        return "; ".join(f"{layer}: {why}" for layer, why in self.required_missing.items())

    def to_dict(self) -> dict[str, Any]:
        return {"enforced": self.enforced, "missing": self.missing, "required_missing": self.required_missing}


def unsafe_allowed() -> bool:
    """The server's user chose to serve sandboxed boxes even where a layer is missing."""
    return os.environ.get(UNSAFE_ENV, "").lower() in {"1", "true", "yes"}


def isolate(sandboxed: bool) -> namespaces.Entered:
    """Enter new namespaces: PID for every worker, more for a sandboxed one."""
    if not sandboxed:
        return namespaces.enter((namespaces.CLONE_NEWPID,))
    return namespaces.enter(_SANDBOX_NAMESPACES)


def confine(policy: Policy, entered: namespaces.Entered, channel_fd: int) -> Confinement:
    """Apply every layer to this (single-threaded) process; report what holds.

    Every layer is tried even after one failed (so an unsafe run keeps the rest);
    a worker with a required layer missing runs no box code unless the user
    allowed it (see `unsafe_allowed`). Namespaces are reported, not required.
    """
    report = Confinement.of_namespaces(entered)
    layer = report.attempt
    layer("descriptors", fds.close_inherited, [channel_fd])
    as_root = os.geteuid() == 0
    paths = (*policy.read, *policy.write)
    temp_dir = policy.write[0]
    if as_root and entered.has(namespaces.CLONE_NEWNS):
        layer("private mounts", namespaces.expose, paths, policy.uid, policy.gid, policy.write)
    if entered.has(namespaces.CLONE_NEWNS):
        size = policy.temp_mb or policy.memory_mb
        uid, gid = (policy.uid, policy.gid) if as_root else (os.getuid(), os.getgid())
        layer("bounded temp dir", namespaces.mount_temp_dir, temp_dir, size, uid, gid, required=False)
    if as_root:
        layer("temp dir owner", _give, temp_dir, policy.uid, policy.gid)
        layer("reachable by its uid", namespaces.check_reachable, paths, policy.uid, policy.gid)
    layer("rlimits", limits.apply, policy.memory_mb, policy.threads, policy.open_files)
    ruleset = _prepare_landlock(policy, report)
    if as_root:
        layer("unprivileged uid", namespaces.drop_identity, policy.uid, policy.gid, policy.groups)
    elif entered.user:
        layer("no capabilities", namespaces.drop_capabilities)
    layer("no_new_privs", _libc.prctl, _PR_SET_NO_NEW_PRIVS, 1)
    if ruleset is not None:
        layer("landlock", landlock.restrict, ruleset)
    layer("seccomp", seccomp.install, os.getpid())
    return report


def _prepare_landlock(policy: Policy, report: Confinement) -> int | None:
    """Build the ruleset while paths can still be opened with the server's rights."""
    try:
        return landlock.prepare(policy.read, policy.write)
    except OSError as exc:
        report.missing["landlock"] = report.required_missing["landlock"] = str(exc)
        return None


def _give(path: str, uid: int, gid: int) -> None:
    """Hand the private temp dir to the uid the worker is about to become."""
    os.chown(path, uid, gid)
    os.chmod(path, 0o700)
