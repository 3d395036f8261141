"""Worker processes seen from the server: the zygote that forks them, and one worker.

The zygote is started with `subprocess.Popen`, so it can be launched before an
event loop exists: the server starts it before importing FastMCP and the two
imports overlap. Workers are forked by the zygote on request (see `worker.py`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.spec import ToolSpec
from mcp_box_server.runtime import protocol
from mcp_box_server.runtime.errors import (
    InvalidArguments,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
    WorkerCrashed,
)
from mcp_box_server.runtime.protocol import WorkerConfig

log = logging.getLogger("mcp_box.runtime")

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
FRAME_LIMIT = 64 * 1024 * 1024
STDERR_TAIL = 20
_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True)
class Ready:
    specs: list[ToolSpec]
    failures: list[LoadFailure]
    imported: tuple[str, ...] = ()
    modules: dict[str, Any] = field(default_factory=dict)


def worker_env(sandboxed: bool, workdir: Path | None = None) -> dict[str, str]:
    """A trusted box inherits the environment; a sandboxed one gets a scrubbed one."""
    if sandboxed:
        env = {key: os.environ[key] for key in _SAFE_ENV if key in os.environ}
        home = str(workdir) if workdir else "/nonexistent"
        env |= {"HOME": home, "TMPDIR": home, "PYTHONDONTWRITEBYTECODE": "1"}
    else:
        env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # no threads in the zygote: it forks
    return env


class Zygote:
    """A process that has imported a box's heavy dependencies and forks workers."""

    def __init__(self, preload: list[str], sandboxed: bool, label: str) -> None:
        self.label = label
        self.sandboxed = sandboxed
        self._preloaded: set[str] = set(preload)
        self._control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcp_box_server.runtime.worker",
                str(child_end.fileno()),
                json.dumps(preload),
            ],
            pass_fds=[child_end.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
            env=worker_env(sandboxed),
            start_new_session=True,
        )
        child_end.close()
        self._control.setblocking(False)
        self._lock: asyncio.Lock | None = None
        self._ready: asyncio.Future[None] | None = None
        self._forked: collections.deque[asyncio.Future[int]] = collections.deque()
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._reader: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    async def fork(self, config: WorkerConfig, label: str) -> Worker:
        """Fork a worker for `config`; its pipes are attached, its box not yet loaded."""
        loop = asyncio.get_running_loop()
        if self._reader is None:
            self._lock = asyncio.Lock()
            self._ready = loop.create_future()
            self._reader = asyncio.create_task(self._read_control())
        assert self._lock is not None and self._ready is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        err_read, err_write = os.pipe()
        async with self._lock:
            await self._ready
            forked: asyncio.Future[int] = loop.create_future()
            self._forked.append(forked)
            try:
                request = protocol.encode({"op": protocol.FORK, "config": json.loads(config.to_json())})
                socket.send_fds(self._control, [request], [theirs.fileno(), err_write])
            except OSError as exc:
                self._forked.remove(forked)
                raise WorkerCrashed(f"the zygote of {self.label} is gone: {exc}") from None
            finally:
                theirs.close()
                os.close(err_write)
            pid = await forked
        exit_code = self._exits.setdefault(pid, loop.create_future())
        worker = Worker(pid, label, exit_code)
        await worker.attach(ours, err_read)
        return worker

    def preload(self, modules: Sequence[str]) -> None:
        """Have the zygote import `modules` now, so later forks start with them loaded."""
        new = [name for name in modules if name not in self._preloaded]
        if new and self.alive:
            self._preloaded.update(new)
            with contextlib.suppress(OSError):
                self._control.send(protocol.encode({"op": protocol.PRELOAD, "modules": new}))

    async def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        await asyncio.to_thread(self._process.wait)
        self._control.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read_control(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._ready is not None
        try:
            while data := await loop.sock_recv(self._control, 65536):
                message = protocol.decode(data)
                if message["op"] == protocol.READY:
                    self._ready.set_result(None)
                elif message["op"] == "forked":
                    self._forked.popleft().set_result(message["pid"])
                elif message["op"] == "exit":
                    future = self._exits.setdefault(message["pid"], loop.create_future())
                    if not future.done():
                        future.set_result(message["code"])
        except OSError:
            pass
        problem = WorkerCrashed(f"the zygote of {self.label} exited")
        if not self._ready.done():
            self._ready.set_exception(problem)
        while self._forked:
            self._forked.popleft().set_exception(problem)
        for future in self._exits.values():
            if not future.done():
                future.set_result(-signal.SIGKILL)


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class Worker:
    """A forked worker running one box; it serves one call at a time."""

    def __init__(self, pid: int, label: str, exit_code: asyncio.Future[int]) -> None:
        self.pid = pid
        self.label = label
        self._exit_code = exit_code
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._call_id = 0
        self._killed = False

    @property
    def alive(self) -> bool:
        return not self._killed and not self._exit_code.done()

    async def attach(self, channel: socket.socket, stderr_fd: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(sock=channel, limit=FRAME_LIMIT)
        self._stderr_task = asyncio.create_task(self._forward_stderr(stderr_fd))

    async def ready(self, timeout: float, box_dir: str) -> Ready:
        """Wait for the box to load; a death or a hang here is a LoadFailure."""
        assert self._reader is not None
        try:
            line = await asyncio.wait_for(self._reader.readline(), timeout)
        except (TimeoutError, ValueError) as exc:
            self.kill()
            problem = "did not load the box in time" if isinstance(exc, TimeoutError) else "sent a bad frame"
            return Ready([], [LoadFailure(box_dir, None, f"worker {problem}")])
        if not line:
            reason = await self._death_reason()
            return Ready([], [LoadFailure(box_dir, None, f"worker died while loading the box: {reason}")])
        message = protocol.decode(line)
        return Ready(
            [ToolSpec.from_dict(s) for s in message["specs"]],
            [LoadFailure.from_dict(f) for f in message["failures"]],
            tuple(message.get("imported", ())),
            message.get("modules", {}),
        )

    async def call(self, function: str, arguments: dict[str, Any], timeout: float) -> Any:
        """Run one call; any failure raises the matching `BoxRuntimeError`."""
        assert self._reader is not None and self._writer is not None, "attach() first"
        self._call_id += 1
        try:
            self._writer.write(protocol.call_request(self._call_id, function, arguments))
            await self._writer.drain()
            line = await asyncio.wait_for(self._reader.readline(), timeout)
        except TimeoutError:
            self.kill()
            raise ToolTimeout(
                f"tool '{function}' timed out after {timeout:g} s; its worker was stopped and replaced"
            ) from None
        except asyncio.CancelledError:
            self.kill()  # the worker is still busy with a call nobody waits for
            raise
        except (ConnectionError, ValueError) as exc:
            self.kill()
            raise WorkerCrashed(f"lost the worker running tool '{function}': {exc}") from None
        if not line:
            reason = await self._death_reason()
            raise WorkerCrashed(
                f"tool '{function}' crashed its worker ({reason}); a fresh worker takes the next call"
            )
        reply = protocol.decode(line)
        if reply.get("ok"):
            return reply.get("result")
        kind, error = reply.get("kind"), reply.get("error", "unknown error")
        if kind == "arguments":
            raise InvalidArguments(error)
        if kind == "unknown":
            raise UnknownTool(error)
        if kind == "memory":
            self.kill()  # it exits by itself; make sure nobody reuses it meanwhile
            raise WorkerCrashed(f"tool '{function}' {error}; a fresh worker takes the next call")
        raise ToolFailed(error, reply.get("traceback", ""))

    def kill(self) -> None:
        """SIGKILL the worker's process group; safe to call twice."""
        self._killed = True
        if not self._exit_code.done():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        self.kill()
        if self._writer is not None:
            self._writer.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exit_code), 2)
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            await asyncio.gather(self._stderr_task, return_exceptions=True)

    async def _death_reason(self) -> str:
        try:
            code = await asyncio.wait_for(asyncio.shield(self._exit_code), 2)
        except TimeoutError:
            reason = "connection closed"
        else:
            reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if self._stderr_task is not None:  # the pipe closes with the process: take its last lines
            await asyncio.wait({self._stderr_task}, timeout=0.5)
        tail = [line for line in self._stderr_tail if line.strip()]
        return f"{reason}; last output: {tail[-1].strip()}" if tail else reason

    async def _forward_stderr(self, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=FRAME_LIMIT)
        pipe = os.fdopen(fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while line := await reader.readline():
                text = line.decode(errors="replace").rstrip("\n")
                self._stderr_tail.append(text)
                log.info("[%s] %s", self.label, text)
        finally:
            transport.close()
