"""Inside the worker processes: the zygote that forks workers, and the worker loop.

`python -m mcp_box_server.runtime.worker FD PRELOAD_JSON` starts a zygote: it imports
what every worker needs (pydantic, the box loader, the box's heavy `requires`)
once, then forks a worker per request. A fork costs milliseconds, so a reload,
a replacement after a timeout or a pool growing under load never waits for
sympy or Bio to import again. Each worker loads the box and runs one call at a
time. Results never raise across the process boundary: every outcome is a message.
Where workers are not forked (see `runtime.platform`), `--spawned FD` starts one
worker, which reads its config from its channel.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import math
import os
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

# Imported here, in the zygote, before any confinement: the package is out of a sandbox's reach.
from mcp_box_server.box import content, context
from mcp_box_server.box.loader import LoadedTool, load_box
from mcp_box_server.box.schema import SchemaError, validate_arguments
from mcp_box_server.runtime import confine, platform, protocol, sandbox
from mcp_box_server.runtime import program as _code_mode_runner  # noqa: F401 (imported for code mode's workers)
from mcp_box_server.runtime.confine import _libc
from mcp_box_server.runtime.confine.fds import close_inherited
from mcp_box_server.runtime.confine.namespaces import CLONE_NEWPID, Entered
from mcp_box_server.runtime.protocol import WorkerConfig

# Import names of distributions whose name differs from their module.
_PR_SET_CHILD_SUBREAPER = 36
_SPAWNED = "a spawned worker has a process group of its own, no namespaces"
_MODULE_OF = {"biopython": "Bio", "scikit-learn": "sklearn", "pyyaml": "yaml", "pillow": "PIL"}


def to_jsonable(value: Any) -> Any:
    """Tool results as plain JSON: numbers stay numbers, exotic objects become text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, Fraction):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__.startswith("numpy"):
        return to_jsonable(item())
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    return str(value)


def _tool_traceback(exc: BaseException, box_dir: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(box_dir))]
    return "".join(traceback.format_list(frames[-5:]))


def serve(
    config: WorkerConfig, channel: socket.socket, entered: Entered | None = None, reader: Any = None
) -> None:
    """The worker loop: confine, report it, load the box, report its tools, answer calls until EOF.

    `reader`: the channel's reader, where one already read from it (a spawned worker's config).
    """
    inherited = set(sys.modules)  # what the zygote had already imported
    workdir = Path(config.workdir)
    box_dir = Path(config.box_dir)
    send = channel.sendall
    entered = entered or Entered()
    if config.sandboxed:
        os.environ.clear()
        os.environ.update(config.env)
        report = platform.current().confine_worker(
            str(box_dir), str(workdir), config.memory_mb, entered, channel.fileno()
        )
        send(_confined(report))
        if report.required_missing and not config.unsafe_weak_sandbox:
            send(_refusal(box_dir, report))
            return
        if report.required_missing:
            print(f"UNSAFE: serving without {report.describe()}", file=sys.stderr)
        os.chdir(workdir)
        sandbox.install_guard(workdir, sandbox.importable(config.allow_imports, box_dir / "tools"))
    else:
        report = confine.Confinement.of_namespaces(entered)
        os.chdir(workdir)
        platform.current().limit_memory(config.memory_mb)
        send(_confined(report))

    box = load_box(box_dir, config.known_modules)  # box code runs from here on
    by_function = {tool.spec.function: tool for tool in box.tools.values()}
    send(
        protocol.encode(
            {
                "op": protocol.READY,
                "specs": [spec.to_dict() for spec in box.specs],
                "failures": [failure.to_dict() for failure in box.failures],
                "imported": [] if config.sandboxed else _library_imports(inherited, box_dir),
                "modules": box.modules,
            }
        )
    )
    reader = reader or channel.makefile("rb")
    while line := reader.readline():
        request = protocol.decode(line)
        tool = by_function.get(request["tool"])
        if tool is None:
            error = f"unknown tool '{request['tool']}'"
            reply: dict[str, Any] = {"id": request["id"], "ok": False, "kind": "unknown", "error": error}
        else:
            threads = threading.active_count()
            with context.calling(_Call(request, send, reader)):
                reply = _run(tool, request, box_dir, config.memory_mb)
            if config.sandboxed and threading.active_count() > threads:
                reply["retire"] = True  # a thread outlives its call: the worker goes with it
        send(_frame(reply, config.max_result_bytes))
        if reply.get("kind") == "memory":
            os._exit(3)


class _Call:
    """The worker's side of one call's conversation with the server (see `box.context`).

    Notes go out within `protocol.NoteLimits`: a chatty tool cannot flood the channel.
    """

    def __init__(self, request: dict[str, Any], send: Callable[[bytes], None], reader: Any) -> None:
        self._id = request["id"]
        self._answers: dict[str, Any] = request.get("answers") or {}
        self._interactive = bool(request.get("interactive", True))
        self.capabilities = frozenset(str(kind) for kind in request.get("can", ()))
        self._send, self._reader = send, reader
        self._asked = 0
        self._notes = protocol.NoteLimits()

    def notify(self, kind: str, params: dict[str, Any]) -> None:
        if self._notes.allow(kind, params):
            note = {"op": protocol.EVENT, "id": self._id, "kind": kind, "params": params}
            self._send(protocol.encode(note))

    def ask(self, questions: Mapping[str | None, context.Question]) -> dict[str, dict[str, Any]]:
        answers: dict[str, dict[str, Any]] = {}
        missing: dict[str, context.Question] = {}
        for key, question in questions.items():
            if key is None:
                self._asked += 1
                key = str(self._asked)
            if key in self._answers:  # asked in an earlier round of a 2026-07-28 call
                answers[key] = self._answers[key]
            else:
                missing[key] = question
        if missing and not self._interactive:
            raise context.InputRequired(missing)
        for key, question in missing.items():
            frame = {"op": protocol.ASK, "id": self._id, "key": key, "kind": question.kind}
            data = protocol.encode(frame | {"params": question.params})
            if len(data) > protocol.QUESTION_BYTES:
                raise ValueError(
                    f"a {question.kind} request of {len(data):,} bytes; "
                    f"a question to the client is at most {protocol.QUESTION_BYTES:,}"
                )
            self._send(data)
            line = self._reader.readline()
            if not line:  # the server is gone
                os._exit(0)
            answer = protocol.decode(line)
            if "refused" in answer:
                raise context.ClientCannot(answer["refused"])
            answers[key] = answer["result"]
        return answers


def _run(tool: LoadedTool, request: dict[str, Any], box_dir: Path, memory_mb: int) -> dict[str, Any]:
    """One call's reply: its result (JSON or content blocks) or what went wrong, never a raise."""
    reply: dict[str, Any] = {"id": request["id"]}
    try:
        arguments = validate_arguments(tool.arguments_model(), request["arguments"])
    except SchemaError as exc:  # only if a reused description no longer builds
        return reply | {"ok": False, "kind": "tool", "error": f"cannot describe the tool: {exc}"}
    except ValueError as exc:
        return reply | {"ok": False, "kind": "arguments", "error": str(exc)}
    try:
        result = tool.fn(**arguments)
    except MemoryError:
        return reply | {"ok": False, "kind": "memory", "error": f"ran out of memory (cap {memory_mb} MB)"}
    except context.InputRequired as required:
        asks = {key: {"kind": q.kind, "params": q.params} for key, q in required.questions.items()}
        return reply | {"ok": False, "kind": "input_required", "error": str(required), "asks": asks}
    except context.ClientCannot as exc:
        return reply | {"ok": False, "kind": "capability", "error": str(exc)}
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return reply | {
            "ok": False,
            "kind": "tool",
            "error": message,
            "traceback": _tool_traceback(exc, box_dir),
        }
    if content.is_rich(result):
        return reply | {"ok": True, "content": content.to_wire(result, to_jsonable)}
    try:
        tool.check_result(result)
    except ValueError as exc:  # pydantic's ValidationError included
        problem = str(exc).splitlines()
        error = f"the result does not match the declared return type: {'; '.join(problem[:3])}"
        return reply | {"ok": False, "kind": "tool", "error": error}
    return reply | {"ok": True, "result": result}


def _frame(reply: dict[str, Any], limit: int = 8 * 1024 * 1024) -> bytes:
    """Encode a reply of at most `limit` bytes (`WorkerConfig.max_result_bytes`).

    Plain JSON results take the fast path, others are converted first. A result over the
    cap becomes a "size" error naming both sizes, so the server never reads a huge frame;
    an error whose text is huge is cut instead.
    """
    try:
        frame = protocol.encode_strict(reply)
    except (TypeError, ValueError):
        try:
            frame = protocol.encode_strict({**reply, "result": to_jsonable(reply.get("result"))})
        except (TypeError, ValueError) as exc:
            message = f"result could not be turned into JSON: {exc}"
            return protocol.encode({"id": reply["id"], "ok": False, "kind": "tool", "error": message})
    if len(frame) <= limit:
        return frame
    if not reply.get("ok"):
        cut = {key: str(reply.get(key, ""))[:4096] for key in ("error", "traceback")}
        return protocol.encode({**reply, **cut})
    megabytes = 1024 * 1024
    message = (
        f"result is {len(frame) / megabytes:.1f} MB, over the box's {limit / megabytes:g} MB cap "
        "(max_result_mb in box.toml)"
    )
    return protocol.encode({"id": reply["id"], "ok": False, "kind": "size", "error": message})


def _library_imports(inherited: set[str], box_dir: Path) -> list[str]:
    """Modules the box pulled in from installed libraries: the zygote may import them too.

    Box code itself (its tool modules, helpers, anything under the box) never is.
    """
    learned = []
    for name in sorted(set(sys.modules) - inherited):
        file = getattr(sys.modules.get(name), "__file__", None) or ""
        if not name.startswith("mcp_box_tools_") and not file.startswith(str(box_dir)):
            learned.append(name)
    return learned


def _preload(modules: list[str]) -> None:
    """Import what workers will need; a missing module is the worker's problem, not ours.

    Then freeze the heap: the collector never visits those objects again, in the
    zygote or in a worker, so forks keep sharing their pages instead of copying them.
    """
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(_MODULE_OF.get(name.lower(), name))
    gc.collect()
    gc.freeze()


def _confined(report: confine.Confinement) -> bytes:
    """The worker's first message, sent before any box code runs: the one the server believes."""
    return protocol.encode({"op": protocol.CONFINED, "confinement": report.to_dict()})


def _refusal(box_dir: Path, report: confine.Confinement) -> bytes:
    """The ready message of a sandboxed worker that will not load its box, and why."""
    message = f"sandbox not enforced here ({report.describe()}); the box is not served (see mcp-box doctor)"
    hint = f"; set {confine.UNSAFE_ENV}=1 (serve --unsafe-weak-sandbox) to serve it anyway"
    failure = {"file": str(box_dir), "line": None, "message": message + hint}
    return protocol.encode({"op": protocol.READY, "specs": [], "failures": [failure]})


def _start_worker(control: socket.socket, config: WorkerConfig, fds: list[int], report: int) -> None:
    """In the forked child: new namespaces, then (as their init where there is a PID one) the worker.

    Writes the worker's pid to `report`; an intermediate process exits at once and
    the zygote, a child subreaper, adopts the worker.
    """
    try:
        control.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        entered = confine.isolate(config.sandboxed)
        if entered.has(CLONE_NEWPID):
            pid = os.fork()
            if pid:
                os.write(report, str(pid).encode())
                os._exit(0)
        else:
            os.write(report, str(os.getpid()).encode())
        os.close(report)
        _become_worker(config, fds, entered)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


def _become_worker(config: WorkerConfig, fds: list[int], entered: Entered) -> None:
    """Own session, own stderr, no other descriptor of the zygote, then the worker loop."""
    channel_fd, stderr_fd = fds
    os.setsid()  # its own process group: the server kills the group
    os.dup2(stderr_fd, 2)
    os.dup2(2, 1)  # tool prints go to stderr, never into the channel
    os.close(stderr_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    close_inherited([channel_fd])
    serve(config, socket.socket(fileno=channel_fd), entered)


def zygote(control_fd: int, preload: list[str]) -> None:
    """Fork a worker per request on the control socket; report each worker's exit.

    When the server goes away (the control socket closes) every worker goes too.
    """
    control = socket.socket(fileno=control_fd)
    _preload(preload)
    with contextlib.suppress(OSError):
        _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1)
    workers: set[int] = set()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    control.sendall(protocol.encode({"op": protocol.READY}))
    while True:
        for key, _ in selector.select():
            if key.data == "child":
                os.read(wake_read, 512)
                _reap(control, workers)
                continue
            try:
                data, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
            except OSError:
                data, fds = b"", []
            if not data:  # the server is gone: so are we, and our workers
                for pid in workers:
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                os._exit(0)
            message = protocol.decode(data)
            if message["op"] == protocol.PRELOAD:
                _preload(message["modules"])
                continue
            config = WorkerConfig.from_json(json.dumps(message["config"]))
            pid = _fork_worker(control, config, fds)
            workers.add(pid)
            control.sendall(protocol.encode({"op": "forked", "pid": pid}))
        _reap(control, workers)


def _fork_worker(control: socket.socket, config: WorkerConfig, fds: list[int]) -> int:
    """Start one worker; its pid (the intermediate's if that died before telling)."""
    report_read, report_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(report_read)
        _start_worker(control, config, fds, report_write)
    os.close(report_write)
    for fd in fds:
        os.close(fd)
    with os.fdopen(report_read, "rb") as report:
        told = report.read()
    if not told.isdigit() or int(told) == child:
        return child
    os.waitpid(child, 0)  # the intermediate, done: the worker is now ours as subreaper
    return int(told)


def _reap(control: socket.socket, workers: set[int]) -> None:
    """Collect exited children; tell the server of its workers' exits (others are orphans)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid not in workers:
            continue
        workers.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        with contextlib.suppress(OSError):
            control.sendall(protocol.encode({"op": "exit", "pid": pid, "code": code}))


def spawned(channel_fd: int) -> None:
    """A worker started as a fresh process: its config is the first frame on its channel.

    It ends when the server does: a spawned worker has no zygote to kill it.
    """
    channel = socket.socket(fileno=channel_fd)
    reader = channel.makefile("rb")
    line = reader.readline()
    if not line:
        return
    config = WorkerConfig.from_json(json.dumps(protocol.decode(line)["config"]))
    _exit_with_parent(os.getppid())
    close_inherited([channel_fd])
    serve(config, channel, Entered(refused={"pid": _SPAWNED}), reader)


def _exit_with_parent(parent: int) -> None:
    """End this process once its parent (the server) is gone, even in the middle of a call."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="mcp-box parent watch", daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1] == "--spawned":
        spawned(int(sys.argv[2]))
    else:
        zygote(int(sys.argv[1]), json.loads(sys.argv[2]))
