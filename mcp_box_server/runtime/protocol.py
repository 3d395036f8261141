"""Messages between the server and a worker: one JSON object per line.

Each worker talks over its own socket; its fd 1 points at stderr, so `print`
in tool code (or in a C extension) can never corrupt the channel. The zygote's
control socket is a SOCK_SEQPACKET pair: one message per datagram, with the
new worker's file descriptors attached to fork requests.

A worker's first frame is `confined`, written before any box code runs: all the server
believes of the worker (how it is confined). Box code can write to the channel once it
is imported, so what comes later (`ready`: specs, failures, modules) is checked as the
box's own word, and a sandboxed worker's `imported` list is never read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

CONFINED = "confined"  # worker -> server, first, before box code runs: its confinement report
READY = "ready"
CALL = "call"
FORK = "fork"
PRELOAD = "preload"
EVENT = "event"  # worker -> server during a call: progress, log
ASK = "ask"  # worker -> server during a call: a question for the client; the server answers
ANSWER = "answer"  # server -> worker: the client's answer ({"result": ...}) or {"refused": why}


# Bound once, at import: tool code that replaces `json.dumps` or `json.loads` in its
# worker must not change how the worker speaks (what else it breaks, the server sees
# as a bad reply and replaces the worker).
_ENCODE = json.JSONEncoder(separators=(",", ":"), default=str).encode
_ENCODE_STRICT = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
_DECODE = json.JSONDecoder().decode


def encode(message: dict[str, Any]) -> bytes:
    return _ENCODE(message).encode() + b"\n"


def encode_strict(message: dict[str, Any]) -> bytes:
    """Encode plain JSON only: raises on sets, NaN, objects (the caller converts those)."""
    return _ENCODE_STRICT(message).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    return _DECODE(line.decode() if isinstance(line, bytes) else line)


# What the server accepts from a worker, checked on the raw frame before it is decoded: a
# worker's box code may write frames of its own past the runtime's helpers.
NOTE_PREFIX = b'{"op":"' + EVENT.encode() + b'"'  # how the worker's runtime writes a note...
ASK_PREFIX = b'{"op":"' + ASK.encode() + b'"'  # ... and a question
QUESTION_BYTES = 1024 * 1024  # one question for the client, as sent
CONTAINERS = 1_000_000  # JSON objects and arrays in one frame: 8 MB of "[{},{}..." is 300 MB decoded


def too_complex(line: bytes) -> bool:
    """More objects and arrays than `CONTAINERS` (braces in strings count too: an upper bound)."""
    return line.count(b"{") + line.count(b"[") > CONTAINERS


def call_request(
    call_id: int,
    function: str,
    arguments: dict[str, Any],
    answers: dict[str, Any] | None = None,
    interactive: bool = True,
    capabilities: frozenset[str] = frozenset(),
) -> bytes:
    """A call; `answers` from earlier rounds, `interactive` False when questions end the call,
    `capabilities` the kinds of question the client can answer."""
    request: dict[str, Any] = {"op": CALL, "id": call_id, "tool": function, "arguments": arguments}
    if capabilities:
        request["can"] = sorted(capabilities)
    if answers:
        request["answers"] = answers
    if not interactive:
        request["interactive"] = False
    return encode(request)


class NoteLimits:
    """What one call may send the client unasked: progress at most every 50 ms (and the last
    one, once), at most 200 log lines, texts cut at 4 KB, 1 MB of notes (as JSON) in all.

    Both ends apply them: the worker so a chatty tool does not flood its channel, the
    server because a hostile worker can write raw frames past its own helpers. The
    server also stops a worker whose note frames, raw, pass `FRAMES` bytes in one call:
    the worker's own limits keep a tool far below it.
    """

    LOG_LINES = 200
    PROGRESS_EVERY = 0.05
    TEXT = 4096
    TOTAL = 1024 * 1024
    FRAMES = 4 * TOTAL  # the notes' parameters, their envelopes (a progress note every 50 ms)

    def __init__(self) -> None:
        self._logged = 0
        self._bytes = 0
        self._last_progress = float("-inf")
        self._finished = False

    def allow(self, kind: str, params: dict[str, Any]) -> bool:
        """Whether to pass this note on; long texts in `params` are cut in place."""
        text = params.get("message")
        if isinstance(text, str) and len(text) > self.TEXT:
            params["message"] = text[: self.TEXT] + " [cut]"
        self._bytes += len(_ENCODE(params))
        if self._bytes > self.TOTAL:
            return False
        if kind == "log":
            self._logged += 1
            return self._logged <= self.LOG_LINES
        if kind == "progress":
            now = time.monotonic()
            done, total = params.get("progress"), params.get("total")
            last = isinstance(done, int | float) and isinstance(total, int | float) and done >= total
            if last and not self._finished:
                self._finished = True
            elif now - self._last_progress < self.PROGRESS_EVERY:
                return False
            self._last_progress = now
            return True
        return False


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What a forked worker needs: which box, where to work, which limits."""

    box_dir: str
    workdir: str
    memory_mb: int
    sandboxed: bool
    env: dict[str, str]
    allow_imports: list[str]
    known_modules: dict[str, Any]  # the previous version's module descriptions (see box.loader)
    max_result_bytes: int = 8 * 1024 * 1024  # a bigger reply is refused before it is sent
    unsafe_weak_sandbox: bool = False  # the server's user lets a partly confined sandbox serve

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in self.__slots__})

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        return cls(**json.loads(text))
