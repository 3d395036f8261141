"""The server-wide budget of workers, shared by every box's pool.

A worker costs memory (8 MB for a stdlib box, 30 MB with sympy or Bio) whether
it works or not, so a server holds at most `limit` of them, whatever the number
of boxes. A pool takes a slot before it forks a worker and gives it back when
the worker ends. When none is free, the pool that asks reclaims the idle worker
of another box that has been idle longest, or waits; a freed slot goes to the
waiting pool that holds the fewest workers, and a pool holding more than its
share hands its next free worker over (max-min fairness): a flooded box cannot
starve the others. Idle workers retire after `idle` seconds.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Protocol

DEFAULT_IDLE = 30.0  # seconds an idle worker waits for a call before it retires
# Where the kernel states a CPU quota: cgroup v2, then v1 (quota and period in µs).
CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def default_limit() -> int:
    """Two workers per core: calls that wait on I/O overlap, CPU-bound ones do not thrash."""
    return max(2, 2 * usable_cpus())


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity, within a container's CPU quota.

    `os.cpu_count()` counts the host's: a server under `taskset -c 0` or `docker --cpus 1`
    on a 64-core host has one.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cpu_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def _cpu_quota() -> float | None:
    """Cores' worth of CPU time the cgroup allows per period; None when unlimited or unknown."""
    try:
        quota, period = CGROUP_V2_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota, period = CGROUP_V1_QUOTA.read_text().strip(), CGROUP_V1_PERIOD.read_text().strip()
        except OSError:
            return None
    try:
        limited = int(quota) > 0 and int(period) > 0
    except ValueError:  # "max": no quota
        return None
    return int(quota) / int(period) if limited else None


class Tenant(Protocol):
    """What the budget needs of a pool."""

    def granted(self) -> None:
        """A slot was counted for this tenant: use it, or `release` it."""

    def idle_rank(self) -> tuple[int, float] | None:
        """(pinned, idle since) of the worker it would give up first; None when none is idle."""

    def evict(self) -> None:
        """End that idle worker now; the budget has already taken its slot back."""


class WorkerBudget:
    """At most `limit` live workers across all pools; `idle` seconds before an idle one retires."""

    def __init__(self, limit: int | None = None, idle: float = DEFAULT_IDLE) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"a worker budget needs at least 1 worker, got {limit}")
        self.limit = limit or default_limit()
        self.idle = idle
        self._held: dict[Tenant, int] = {}
        self._wanting: dict[Tenant, None] = {}  # insertion-ordered set: ties go to the first

    @property
    def used(self) -> int:
        return sum(self._held.values())

    def held(self, tenant: Tenant) -> int:
        return self._held.get(tenant, 0)

    def take(self, tenant: Tenant) -> bool:
        """Count a slot for `tenant` now, reclaiming an idle worker of another if need be.

        False: none is free; `tenant.granted()` is called when one is.
        """
        if self.used >= self.limit:
            self._reclaim(tenant)
        if self.used < self.limit:
            self._held[tenant] = self.held(tenant) + 1
            self._wanting.pop(tenant, None)
            return True
        self._wanting[tenant] = None
        return False

    def release(self, tenant: Tenant) -> None:
        """A worker of `tenant` ended (or a slot went unused): hand the slot on."""
        left = self.held(tenant) - 1
        if left > 0:
            self._held[tenant] = left
        else:
            self._held.pop(tenant, None)
        self._hand_over()

    def withdraw(self, tenant: Tenant) -> None:
        """`tenant` no longer waits for a slot."""
        self._wanting.pop(tenant, None)

    def forget(self, tenant: Tenant) -> None:
        """`tenant` closed: every slot it held is free."""
        self._wanting.pop(tenant, None)
        if self._held.pop(tenant, None):
            self._hand_over()

    def owed(self, tenant: Tenant) -> bool:
        """True when another pool waits while holding fewer workers than `tenant` can spare."""
        mine = self.held(tenant)
        return any(
            other is not tenant and (self.held(other) == 0 or self.held(other) + 1 < mine)
            for other in self._wanting
        )

    def waiting(self, tenant: Tenant) -> bool:
        """True when a pool other than `tenant` waits for a slot."""
        return any(other is not tenant for other in self._wanting)

    def _reclaim(self, tenant: Tenant) -> None:
        """Free one slot by evicting the idle worker of another pool idle longest (unpinned first)."""
        ranked = [
            (rank, other) for other in self._held if other is not tenant and (rank := other.idle_rank())
        ]
        if not ranked:
            return
        _, victim = min(ranked, key=lambda item: item[0])
        left = self.held(victim) - 1
        if left > 0:
            self._held[victim] = left
        else:
            self._held.pop(victim, None)
        victim.evict()

    def _hand_over(self) -> None:
        while self.used < self.limit and self._wanting:
            tenant = min(self._wanting, key=self.held)
            del self._wanting[tenant]
            self._held[tenant] = self.held(tenant) + 1
            tenant.granted()
