"""One worker process seen from the server: spawn, wait ready, call, kill.

The process is started with `subprocess.Popen` so that it can be spawned before
an event loop exists (the server starts workers before it imports FastMCP, so
the two imports overlap); its pipes are attached to asyncio on first use.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
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
_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")


@dataclass(frozen=True, slots=True)
class Ready:
    specs: list[ToolSpec]
    failures: list[LoadFailure]


def worker_env(sandboxed: bool, workdir: Path) -> dict[str, str]:
    """A trusted worker inherits the environment; a sandboxed one gets a scrubbed one."""
    if sandboxed:
        env = {key: os.environ[key] for key in _SAFE_ENV if key in os.environ}
        env |= {"HOME": str(workdir), "TMPDIR": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
    else:
        env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


class Worker:
    """A worker process running one box; it serves one call at a time."""

    _ids = itertools.count(1)

    def __init__(self, config: WorkerConfig, label: str) -> None:
        self.label = label
        self.config = config
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mcp_box_server.runtime.worker", config.to_json()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=config.workdir,
            env=worker_env(config.sandboxed, Path(config.workdir)),
            start_new_session=True,  # its own process group: a kill takes its children too
        )
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._call_ids = itertools.count(1)
        self._killed = False

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self._killed and self._process.poll() is None

    async def ready(self, timeout: float) -> Ready:
        """Attach the pipes and wait for the box to load; a death here is a LoadFailure."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=FRAME_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), self._process.stdout)
        transport, proto = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, self._process.stdin
        )
        self._writer = asyncio.StreamWriter(transport, proto, None, loop)
        self._reader = reader
        self._stderr_task = asyncio.create_task(self._forward_stderr())
        try:
            line = await asyncio.wait_for(reader.readline(), timeout)
        except (TimeoutError, ValueError) as exc:
            self.kill()
            problem = "did not load in time" if isinstance(exc, TimeoutError) else "sent an oversized frame"
            return Ready([], [LoadFailure(self.config.box_dir, None, f"worker {problem} ({timeout:.0f} s)")])
        if not line:
            reason = await self._death_reason()
            return Ready(
                [], [LoadFailure(self.config.box_dir, None, f"worker died while loading the box: {reason}")]
            )
        message = protocol.decode(line)
        return Ready(
            [ToolSpec.from_dict(s) for s in message["specs"]],
            [LoadFailure.from_dict(f) for f in message["failures"]],
        )

    async def call(self, function: str, arguments: dict[str, Any], timeout: float) -> Any:
        """Run one call; any failure raises the matching `BoxRuntimeError`."""
        assert self._reader is not None and self._writer is not None, "ready() first"
        call_id = next(self._call_ids)
        try:
            self._writer.write(protocol.call_request(call_id, function, arguments))
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
        """SIGKILL the worker's whole process group; safe to call twice."""
        self._killed = True
        if self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)

    async def close(self) -> None:
        self.kill()
        await asyncio.to_thread(self._process.wait)
        if self._writer is not None:
            self._writer.close()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            await asyncio.gather(self._stderr_task, return_exceptions=True)

    async def _death_reason(self) -> str:
        code = await asyncio.to_thread(self._process.wait)
        reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if self._stderr_task is not None:  # the pipe closes with the process: take its last lines
            await asyncio.wait({self._stderr_task}, timeout=0.5)
        tail = [line for line in self._stderr_tail if line.strip()]
        return f"{reason}; last output: {tail[-1].strip()}" if tail else reason

    async def _forward_stderr(self) -> None:
        assert self._process.stderr is not None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=FRAME_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), self._process.stderr)
        while line := await reader.readline():
            text = line.decode(errors="replace").rstrip("\n")
            self._stderr_tail.append(text)
            log.info("[%s] %s", self.label, text)
