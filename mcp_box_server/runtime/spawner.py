"""Workers started as fresh processes: the zygote of platforms where a fork is unsound.

`Zygote(...)` is a `Spawner` where `runtime.platform` says workers are not forked
(macOS: see `platform.darwin`). Each `fork()` starts `python -m
mcp_box_server.runtime.worker --spawned FD`, in a session of its own (the server
kills its group), and hands it its config over its channel; the worker imports
what its box needs itself, so `preload` has nothing to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from mcp_box_server.runtime import protocol
from mcp_box_server.runtime.errors import WorkerCrashed
from mcp_box_server.runtime.process import Worker, Zygote, worker_env
from mcp_box_server.runtime.protocol import WorkerConfig


class Spawner(Zygote):
    """Starts one process per worker; closing it ends every worker it started."""

    def __init__(self, preload: list[str], sandboxed: bool, label: str) -> None:
        del preload  # each worker imports what its box needs
        self.label = label
        self.sandboxed = sandboxed
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._waits: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def alive(self) -> bool:
        return not self._closed

    @property
    def pid(self) -> int:
        return os.getpid()  # no zygote process: the workers are the server's children

    async def fork(self, config: WorkerConfig, label: str) -> Worker:
        """Start a worker for `config`; its pipes are attached, its box not yet loaded."""
        if self._closed:
            raise WorkerCrashed(f"the workers of {self.label} were stopped")
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        err_read, err_write = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",  # no current directory on sys.path, as for the zygote
                "-m",
                "mcp_box_server.runtime.worker",
                "--spawned",
                str(theirs.fileno()),
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=err_write,
                stderr=err_write,
                env=worker_env(self.sandboxed),
                start_new_session=True,
            )
        except BaseException as exc:
            ours.close()
            os.close(err_read)
            if isinstance(exc, OSError):
                raise WorkerCrashed(f"could not start a worker for {self.label}: {exc}") from None
            raise
        finally:
            theirs.close()
            os.close(err_write)
        self._processes[process.pid] = process
        exit_code: asyncio.Future[int] = loop.create_future()
        waiting = asyncio.create_task(self._wait(process, exit_code))
        self._waits.add(waiting)
        waiting.add_done_callback(self._waits.discard)
        worker = Worker(process.pid, label, exit_code)
        ours.setblocking(False)
        request = protocol.encode({"op": protocol.FORK, "config": json.loads(config.to_json())})
        try:
            with contextlib.suppress(OSError):  # it died at start: `ready()` reports how
                await loop.sock_sendall(ours, request)
            await worker.attach(ours, err_read)
        except BaseException:  # cancelled: nobody will own this worker
            worker.kill()
            raise
        return worker

    def preload(self, modules: Sequence[str]) -> None:
        """Nothing to keep: a spawned worker imports its box's dependencies itself."""

    async def close(self) -> None:
        """Kill every worker still running (as a group) and wait for them."""
        self._closed = True
        for pid in list(self._processes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self._waits:
            await asyncio.wait(set(self._waits), timeout=5)

    async def _wait(self, process: asyncio.subprocess.Process, exit_code: asyncio.Future[int]) -> None:
        try:
            code = await process.wait()
        finally:
            self._processes.pop(process.pid, None)
        if not exit_code.done():
            exit_code.set_result(code)
