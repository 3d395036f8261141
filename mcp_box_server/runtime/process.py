"""Worker processes seen from the server: the zygote that forks them, and one worker.

The zygote is started with `subprocess.Popen`, so it can be launched before an
event loop exists: the server starts it before importing FastMCP and the two
imports overlap. Workers are forked by the zygote on request (see `worker.py`).
Where forking a preloaded process is unsound (macOS), `Zygote(...)` is a
`Spawner`, which starts each worker as a fresh process (see `runtime.platform`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from mcp_box_server.box.content import Rich
from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.loader import tool_files
from mcp_box_server.box.spec import ToolSpec
from mcp_box_server.runtime import platform, protocol, result_budget
from mcp_box_server.runtime.conversation import ASK_TIMEOUT, ClientCannot, Conversation
from mcp_box_server.runtime.errors import (
    InputNeeded,
    InvalidArguments,
    MissingClientCapability,
    ResultTooLarge,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
    WorkerCrashed,
)
from mcp_box_server.runtime.output import OutputLog
from mcp_box_server.runtime.protocol import WorkerConfig

log = logging.getLogger("mcp_box.runtime")

PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
MB = 1024 * 1024
FRAME_LIMIT = MB  # the channel's read buffer: longer frames are read in pieces, up to their cap
READY_LIMIT = 16 * MB  # a box's tool descriptions (1,000 tools with 5 KB schemas: 10 MB)
CONFINED_LIMIT = 64 * 1024  # a confinement report: a few dozen layers and why each is missing
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
MAX_IMPORTED = 20_000  # library modules a worker may report it imported (for the zygote)
RESULT_LIMIT = 8 * MB  # the default result cap (max_result_mb in box.toml)
REPLY_SLACK = 64 * 1024  # a reply's envelope around its result
_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True)
class Ready:
    specs: list[ToolSpec]
    failures: list[LoadFailure]
    imported: tuple[str, ...] = ()
    modules: dict[str, Any] = field(default_factory=dict)
    confinement: dict[str, Any] = field(default_factory=dict)  # layers enforced and missing


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

    def __new__(cls, preload: list[str], sandboxed: bool, label: str) -> Zygote:
        """The platform's kind of zygote, as `pathlib.Path()` is a `PosixPath` or a `WindowsPath`."""
        if cls is Zygote and not platform.current().FORKS_WORKERS:
            from mcp_box_server.runtime.spawner import Spawner

            cls = Spawner
        return super().__new__(cls)

    def __init__(self, preload: list[str], sandboxed: bool, label: str) -> None:
        self.label = label
        self.sandboxed = sandboxed
        preload = self._importable(preload)
        self._preloaded: set[str] = set(preload)
        self._control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-P",  # no current directory on sys.path: it is nobody's library, and may hold secrets
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
        self._abandoned: set[int] = set()  # workers forked for a fork() that was cancelled
        self._reader: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._process.pid

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
        if exit_code.done():  # it exited before we got here: nobody else will claim the entry
            del self._exits[pid]
        worker = Worker(pid, label, exit_code)
        await worker.attach(ours, err_read)
        return worker

    def preload(self, modules: Sequence[str]) -> None:
        """Have the zygote import `modules` now, so later forks start with them loaded."""
        new = [name for name in self._importable(modules) if name not in self._preloaded]
        if new and self.alive:
            self._preloaded.update(new)
            with contextlib.suppress(OSError):
                self._control.send(protocol.encode({"op": protocol.PRELOAD, "modules": new}))

    def _importable(self, modules: Sequence[str]) -> list[str]:
        """What this zygote may import outside any sandbox.

        A sandboxed box's `requires` is the box author's word, and the zygote is
        not confined: only names of installed distributions are imported there
        (not, say, `antigravity`, which starts a browser at import).
        """
        if not self.sandboxed:
            return list(modules)
        return [name for name in modules if _installed(name)]

    async def close(self) -> None:
        """Close the control socket: the zygote kills its workers and exits (SIGKILL after 2 s)."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._control.close()
        try:
            await asyncio.wait_for(asyncio.to_thread(self._process.wait), 2)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            await asyncio.to_thread(self._process.wait)

    def _abandon(self, pid: int) -> None:
        """Kill a worker nobody will use; its pid stays ours until the zygote reports its exit."""
        self._abandoned.add(pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)

    async def _read_control(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._ready is not None
        try:
            while data := await loop.sock_recv(self._control, 65536):
                message = protocol.decode(data)
                if message["op"] == protocol.READY:
                    self._ready.set_result(None)
                elif message["op"] == "forked":
                    forked = self._forked.popleft()
                    if forked.done():  # its fork() was cancelled: nobody owns this worker
                        self._abandon(message["pid"])
                    else:
                        forked.set_result(message["pid"])
                elif message["op"] == "exit" and message["pid"] in self._abandoned:
                    self._abandoned.discard(message["pid"])
                elif message["op"] == "exit":
                    future = self._exits.pop(message["pid"], None)
                    if future is None:  # not claimed by `fork` yet: leave it, done, for the claim
                        future = self._exits[message["pid"]] = loop.create_future()
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


def _confinement(frame: bytes) -> dict[str, Any]:
    """The report of the worker's first frame, the runtime's before box code ran."""
    message = protocol.decode(frame)
    if not isinstance(message, dict) or message.get("op") != protocol.CONFINED:
        raise ValueError("the first frame is not the runtime's confinement report")
    report = message.get("confinement")
    if not isinstance(report, dict):
        raise ValueError("the confinement report is not an object")
    return report


def _imported(names: Any) -> tuple[str, ...]:
    """The library modules a worker reports: names only, a bounded number (the zygote imports them)."""
    if not isinstance(names, list) or len(names) > MAX_IMPORTED:
        raise ValueError(f"'imported' must be a list of at most {MAX_IMPORTED:,} module names")
    if not all(isinstance(name, str) and MODULE_NAME.fullmatch(name) for name in names):
        raise ValueError("'imported' holds something that is not a module name")
    return tuple(names)


def _modules(modules: Any, box_dir: Path, functions: set[str]) -> dict[str, Any]:
    """What a worker learnt of each tool module, kept for the next version: the box's own modules
    and tools only, so that a worker cannot make the server hold whatever it sends."""
    files = {path.name for path in tool_files(box_dir)}
    if not isinstance(modules, dict) or not set(modules) <= files:
        raise ValueError("'modules' names files that are not the box's tool modules")
    for entry in modules.values():
        if not (isinstance(entry, dict) and isinstance(entry.get("tools"), dict)):
            raise ValueError("'modules' entries must hold a 'tools' object")
        if not set(entry["tools"]) <= functions:
            raise ValueError("'modules' describes tools the box did not report")
    return modules


def _requests(asks: Any) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """The questions of an input_required reply, if they are well formed."""
    if not isinstance(asks, dict) or not asks:
        return None
    if not all(isinstance(ask, dict) and isinstance(ask.get("params", {}), dict) for ask in asks.values()):
        return None
    return {str(key): (str(ask.get("kind")), dict(ask.get("params", {}))) for key, ask in asks.items()}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (0 when it is gone or the OS does not say)."""
    return platform.current().cpu_seconds(pid)


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return True


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


class FrameTooLarge(Exception):
    """A worker's frame ran past its cap before its end: the channel cannot be resynchronised."""


class Worker:
    """A forked worker running one box; it serves one call at a time.

    Everything it sends is untrusted: a frame past its cap, a reply that is not JSON, or
    one for another call kills it, and its output reaches the log only in bounded amounts.
    """

    def __init__(self, pid: int, label: str, exit_code: asyncio.Future[int]) -> None:
        self.pid = pid
        self.label = label
        self._exit_code = exit_code
        self._output = OutputLog(label)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._call_id = 0
        self._notes = protocol.NoteLimits()
        self._asked_for = 0.0
        self._killed = False

    @property
    def alive(self) -> bool:
        return not self._killed and not self._exit_code.done()

    async def attach(self, channel: socket.socket, stderr_fd: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(sock=channel, limit=FRAME_LIMIT)
        self._stderr_task = asyncio.create_task(self._output.forward(stderr_fd))

    async def ready(self, timeout: float, box_dir: str, sandboxed: bool) -> Ready:
        """Wait for the box to load; a death, a hang or a bad message here is a LoadFailure.

        The confinement report is the first frame, written before the box's code ran; the
        `ready` frame after it may be the box's own forgery, so a sandboxed worker's
        `imported` (modules for the unconfined zygote) is never read, and the rest is checked.
        """
        try:
            async with asyncio.timeout(timeout):
                confined = await self._read_frame(CONFINED_LIMIT)
                line = await self._read_frame(READY_LIMIT) if confined else b""
        except (TimeoutError, FrameTooLarge, ConnectionError) as exc:
            self.kill()
            problem = (
                f"did not load the box within its {timeout:g} s load timeout (load_timeout in box.toml)"
                if isinstance(exc, TimeoutError)
                else f"sent a bad first message: {exc}"
            )
            return Ready([], [LoadFailure(box_dir, None, f"worker {problem}")])
        if not line:
            reason = await self._death_reason()
            return Ready([], [LoadFailure(box_dir, None, f"worker died while loading the box: {reason}")])
        try:
            confinement = _confinement(confined)
            if protocol.too_complex(line):
                raise ValueError(f"more than {protocol.CONTAINERS:,} JSON objects and arrays")
            message = protocol.decode(line)
            specs = [ToolSpec.from_dict(s) for s in message["specs"]]
            return Ready(
                specs,
                [LoadFailure.from_dict(f) for f in message["failures"]],
                () if sandboxed else _imported(message.get("imported", [])),
                _modules(message.get("modules", {}), Path(box_dir), {spec.function for spec in specs}),
                confinement,
            )
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            self.kill()
            return Ready([], [LoadFailure(box_dir, None, f"worker sent a bad first message: {exc!r:.200}")])

    async def call(
        self,
        function: str,
        arguments: dict[str, Any],
        timeout: float,
        limit: int = RESULT_LIMIT,
        conversation: Conversation | None = None,
    ) -> Any:
        """Run one call within `timeout` s, its reply at most `limit` bytes of result.

        Notes and questions the tool sends on the way go to `conversation`; time spent
        waiting for the client's answer does not count against the timeout. Any
        failure raises the matching `BoxRuntimeError`.
        """
        assert self._reader is not None and self._writer is not None, "attach() first"
        self._call_id += 1
        self._output.new_call()
        self._notes = protocol.NoteLimits()
        self._note_bytes = 0  # the raw note frames of this call
        self._asked_for = 0.0  # seconds this call has waited for the client's answers
        answers = conversation.answers if conversation else {}
        interactive = conversation.interactive if conversation else True
        can = conversation.capabilities if conversation else frozenset()
        request = protocol.call_request(self._call_id, function, arguments, answers, interactive, can)
        try:
            async with asyncio.timeout(timeout) as deadline:
                self._writer.write(request)
                await self._writer.drain()
                while True:
                    line = await self._read_frame(limit + REPLY_SLACK)
                    if not line:
                        break
                    self._check(function, line)
                    message = self._decode(function, line)
                    if message.get("op") not in (protocol.EVENT, protocol.ASK):
                        return self._outcome(function, message)
                    prefix = protocol.NOTE_PREFIX if message["op"] == protocol.EVENT else protocol.ASK_PREFIX
                    if not line.startswith(prefix):  # written past the runtime: `_check` did not count it
                        self._broken(function, "a note or question in a form its runtime never writes")
                    await self._converse(function, message, conversation, deadline)
        except TimeoutError:
            self.kill()
            raise ToolTimeout(
                f"tool '{function}' timed out after {timeout:g} s; its worker was stopped and replaced"
            ) from None
        except asyncio.CancelledError:
            self.kill()  # the worker is still busy with a call nobody waits for
            raise
        except FrameTooLarge:
            self.kill()
            raise ResultTooLarge(
                f"tool '{function}' sent a reply over the box's {limit / MB:g} MB result cap "
                "(max_result_mb in box.toml); its worker was stopped and replaced"
            ) from None
        except ConnectionError as exc:
            self.kill()
            raise WorkerCrashed(f"lost the worker running tool '{function}': {exc}") from None
        reason = await self._death_reason()
        raise WorkerCrashed(
            f"tool '{function}' crashed its worker ({reason}); a fresh worker takes the next call"
        )

    async def _converse(
        self,
        function: str,
        message: dict[str, Any],
        conversation: Conversation | None,
        deadline: asyncio.Timeout,
    ) -> None:
        """Deliver a note, or get the client's answer to a question and send it back."""
        kind, params = str(message.get("kind")), message.get("params")
        if not isinstance(params, dict):
            self.kill()
            raise WorkerCrashed(f"the worker running tool '{function}' sent a malformed {kind} message")
        if message["op"] == protocol.EVENT:
            if conversation is not None and self._notes.allow(kind, params):
                await conversation.note(kind, params)
            return
        loop = asyncio.get_running_loop()
        left = (deadline.when() or loop.time()) - loop.time()
        deadline.reschedule(None)  # the client's time is not the tool's...
        cpu_before = _cpu_seconds(self.pid)
        waited = loop.time()
        try:
            if conversation is None:
                raise ClientCannot(f"this call cannot ask the client anything ({kind})")
            if self._asked_for >= ASK_TIMEOUT:
                raise ClientCannot(f"this call has waited {ASK_TIMEOUT:g} s for the client already")
            wait = ASK_TIMEOUT - self._asked_for
            answer: dict[str, Any] = {"result": await asyncio.wait_for(conversation.ask(kind, params), wait)}
        except ClientCannot as exc:
            answer = {"refused": str(exc)}
        except TimeoutError:
            answer = {"refused": f"the client did not answer the {kind} request in time"}
        except BaseException:  # the call is over (an error for the client, a cancel): so is the worker
            self.kill()
            raise
        self._asked_for += loop.time() - waited
        # ... but what the worker computed meanwhile is: a tool cannot run on past its timeout
        # by keeping a question open.
        left -= _cpu_seconds(self.pid) - cpu_before
        if left <= 0:
            raise TimeoutError  # the call's handler stops the worker
        deadline.reschedule(loop.time() + left)
        assert self._writer is not None
        self._writer.write(protocol.encode({"op": protocol.ANSWER, "key": message.get("key"), **answer}))
        await self._writer.drain()

    def _check(self, function: str, line: bytes) -> None:
        """Before a frame is decoded: notes within their budget, a question within its size,
        no frame that would decode into millions of objects. Past any of them the worker goes."""
        if line.startswith(protocol.NOTE_PREFIX):
            self._note_bytes += len(line)
            if self._note_bytes > protocol.NoteLimits.FRAMES:
                self._broken(function, f"more than {protocol.NoteLimits.FRAMES // MB} MB of notes")
        elif line.startswith(protocol.ASK_PREFIX) and len(line) > protocol.QUESTION_BYTES + REPLY_SLACK:
            self._broken(function, f"a question over {protocol.QUESTION_BYTES // MB} MB")
        if protocol.too_complex(line):
            self.kill()
            raise ResultTooLarge(
                f"tool '{function}' sent more than {protocol.CONTAINERS:,} JSON objects and arrays "
                "in one message; its worker was stopped and replaced"
            )

    def _decode(self, function: str, line: bytes) -> dict[str, Any]:
        """A frame of this call as a dict; anything else kills the worker."""
        try:
            message = protocol.decode(line)
        except (ValueError, RecursionError):  # deeply nested JSON raises RecursionError
            message = None
        if not isinstance(message, dict):
            self._broken(function, "a reply that is not a JSON object")
        if message.get("id") != self._call_id:
            self._broken(function, f"a reply to call {message.get('id')!r} instead of {self._call_id}")
        return message

    def _broken(self, function: str, what: str) -> NoReturn:
        """The worker broke the protocol: it goes, and the call fails with what it sent."""
        self.kill()
        raise WorkerCrashed(
            f"the worker running tool '{function}' sent {what} (did the tool replace part of "
            "the runtime?); it was stopped and a fresh worker takes the next call"
        )

    def _outcome(self, function: str, reply: dict[str, Any]) -> Any:
        """The call's result, or the error its reply names."""
        if reply.get("retire"):
            self.kill()  # a thread outlived the call: no later call runs beside it
        if reply.get("ok"):
            if "content" in reply:
                blocks = reply["content"]
                if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks):
                    self.kill()
                    raise WorkerCrashed(f"the worker running tool '{function}' sent malformed content")
                return Rich(blocks)
            return reply.get("result")
        kind, error = reply.get("kind"), str(reply.get("error", "unknown error"))
        if kind == "arguments":
            raise InvalidArguments(error)
        if kind == "unknown":
            raise UnknownTool(error)
        if kind == "size":
            raise ResultTooLarge(f"tool '{function}': {error}")
        if kind == "input_required" and (requests := _requests(reply.get("asks"))):
            raise InputNeeded(requests)
        if kind == "capability":
            raise MissingClientCapability(f"tool '{function}': {error}")
        if kind == "memory":
            self.kill()  # it exits by itself; make sure nobody reuses it meanwhile
            raise WorkerCrashed(f"tool '{function}' {error}; a fresh worker takes the next call")
        raise ToolFailed(error, str(reply.get("traceback", "")))

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

    async def _read_frame(self, limit: int) -> bytes:
        """One newline-ended frame (b"" at end of stream), read in pieces: never more than `limit`."""
        assert self._reader is not None
        pieces: list[bytes] = []
        size = reserved = 0
        while True:
            try:
                piece = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:  # the worker closed the channel
                return b""
            except asyncio.LimitOverrunError as exc:
                piece = await self._reader.readexactly(exc.consumed)
                if not pieces:  # a long frame: room in the server's result budget first
                    reserved = await result_budget.reserve(limit)
            size += len(piece)
            if size > limit:
                raise FrameTooLarge(limit)
            pieces.append(piece)
            if piece.endswith(b"\n"):
                result_budget.settle(reserved, size)
                return b"".join(pieces)

    async def _death_reason(self) -> str:
        try:
            code = await asyncio.wait_for(asyncio.shield(self._exit_code), 2)
        except TimeoutError:
            reason = "connection closed"
        else:
            reason = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if self._stderr_task is not None:  # the pipe closes with the process: take its last lines
            await asyncio.wait({self._stderr_task}, timeout=0.5)
        tail = [line for line in self._output.tail if line.strip()]
        return f"{reason}; last output: {tail[-1].strip()}" if tail else reason
