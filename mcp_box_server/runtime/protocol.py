"""Messages between the server and a worker: one JSON object per line.

The worker keeps a private copy of its original stdout for these frames and
points fd 1 at stderr, so `print` in tool code (or in a C extension) can never
corrupt the channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

READY = "ready"
CALL = "call"


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def call_request(call_id: int, function: str, arguments: dict[str, Any]) -> bytes:
    return encode({"op": CALL, "id": call_id, "tool": function, "arguments": arguments})


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    box_dir: str
    memory_mb: int
    sandboxed: bool
    workdir: str

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__})

    @classmethod
    def from_json(cls, text: str) -> WorkerConfig:
        return cls(**json.loads(text))
