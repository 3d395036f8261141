"""A server-wide budget of result bytes in flight: huge results pass a few at a time.

A box may allow itself results up to the server's ceiling (`serve --max-result-mb`), and
eight such results read, decoded, serialised and framed at once would hold gigabytes.
So a reply frame that grows past one read of the channel first takes room in the
budget: the call's whole result cap, since a frame's size is known only at its end;
once read, what it holds shrinks to the frame's size. It is given back when the server
is done with the result: over streamable HTTP once the response is written (the HTTP
request holds the lease), otherwise when the call returns. A frame waits for room
meanwhile, and its worker waits in its send; the wait counts against the call's timeout.
A lease that holds room already takes more without waiting, past the limit if need be:
what it would wait for is its own (a code-mode program's second big tool result).

Small replies (one read, `process.FRAME_LIMIT`) take nothing: the worker budget already
bounds how many there are at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar


class ResultBudget:
    """At most `limit` bytes held at once; waiting takers are served in turn."""

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError(f"a result budget needs a positive size, got {limit}")
        self.limit = limit
        self.held = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def take(self, size: int) -> int:
        """Wait for `size` bytes (at most the whole budget); returns what was taken."""
        size = min(size, self.limit)
        if not self._waiting and self.held + size <= self.limit:
            self.held += size
            return size
        entry = (size, asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        try:
            await entry[1]
        except BaseException:
            if entry[1].done() and not entry[1].cancelled():  # granted as it was cancelled
                self.give(size)
            else:
                self._waiting.remove(entry)
                self._wake()  # it may have held back smaller takers behind it
            raise
        return size

    def grant(self, size: int) -> int:
        """`size` bytes (at most the whole budget) at once, past the limit if need be."""
        size = min(size, self.limit)
        self.held += size
        return size

    def give(self, size: int) -> None:
        self.held -= size
        self._wake()

    def _wake(self) -> None:
        while self._waiting and self.held + self._waiting[0][0] <= self.limit:
            size, granted = self._waiting.popleft()
            self.held += size
            granted.set_result(None)


class Lease:
    """What one call, or one HTTP request, holds of a budget.

    A call's lease within a request's passes what it holds on to the request's when it
    closes (held until the response is written), or gives it back if that request is over
    already (a call run as a background task outlives the request that started it).
    """

    def __init__(self, budget: ResultBudget, parent: Lease | None = None) -> None:
        self.budget = budget
        self.parent = parent
        self.held = 0
        self.closed = False

    async def take(self, size: int) -> int:
        """Room for `size` bytes. A lease that holds room already, itself or through its request,
        does not wait: the room it would wait for may be its own (a program calling two tools
        with big results in one request)."""
        parent = self.parent
        own = self.held or (parent is not None and not parent.closed and parent.held)
        taken = self.budget.grant(size) if own else await self.budget.take(size)
        self.held += taken
        return taken

    def give(self, size: int) -> None:
        size = min(size, self.held)
        self.held -= size
        self.budget.give(size)

    def close(self) -> None:
        self.closed = True
        if self.parent is not None and not self.parent.closed:
            self.parent.held, self.held = self.parent.held + self.held, 0
        else:
            self.give(self.held)


_current: ContextVar[Lease | None] = ContextVar("mcp_box_result_lease", default=None)


@contextlib.contextmanager
def holding(budget: ResultBudget | None) -> Iterator[None]:
    """Within this block (a call), big reply frames take room in `budget`, through a lease of
    its own, closed at its end (see `Lease`). `None`: no budget."""
    if budget is None:
        yield
        return
    enclosing = _current.get()
    lease = Lease(budget, enclosing if enclosing is not None and not enclosing.closed else None)
    token = _current.set(lease)
    try:
        yield
    finally:
        _current.reset(token)
        lease.close()


@contextlib.contextmanager
def leased(lease: Lease) -> Iterator[None]:
    """Make `lease` the one big frames take from within this block; its owner closes it."""
    token = _current.set(lease)
    try:
        yield
    finally:
        _current.reset(token)


async def reserve(size: int) -> int:
    """Room for a reply frame of up to `size` bytes, from the current lease (0 if none)."""
    lease = _current.get()
    return await lease.take(size) if lease is not None and not lease.closed else 0


def settle(reserved: int, size: int) -> None:
    """A frame `reserve`d for is read: keep only its `size` of what was reserved."""
    lease = _current.get()
    if lease is not None and reserved > size:
        lease.give(reserved - size)
