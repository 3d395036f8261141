"""The worker process: loads one box and runs its tools, one call at a time.

Started by `runtime.process` as `python -m mcp_box_server.runtime.worker CONFIG`.
Results never raise across the process boundary: every outcome is a message.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from mcp_box_server.runtime import protocol, sandbox
from mcp_box_server.runtime.protocol import WorkerConfig


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


def _take_channel() -> BinaryIO:
    """Keep the real stdout for frames; send everything else printed to stderr."""
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _tool_traceback(exc: BaseException, box_dir: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(str(box_dir))]
    return "".join(traceback.format_list(frames[-5:]))


def serve(config: WorkerConfig) -> None:
    channel = _take_channel()
    workdir = Path(config.workdir)
    os.chdir(workdir)
    sandbox.limit_memory(config.memory_mb)
    if config.sandboxed:
        sandbox.isolate_network()
        sandbox.install_guard(workdir)

    from mcp_box_server.box.loader import load_box
    from mcp_box_server.box.schema import validate_arguments

    box_dir = Path(config.box_dir)
    box = load_box(box_dir)
    by_function = {tool.spec.function: tool for tool in box.tools.values()}
    channel.write(
        protocol.encode(
            {
                "op": protocol.READY,
                "specs": [spec.to_dict() for spec in box.specs],
                "failures": [failure.to_dict() for failure in box.failures],
            }
        )
    )
    for line in sys.stdin.buffer:
        request = protocol.decode(line)
        reply: dict[str, Any] = {"id": request["id"]}
        tool = by_function.get(request["tool"])
        exit_after = False
        if tool is None:
            reply |= {"ok": False, "kind": "unknown", "error": f"unknown tool '{request['tool']}'"}
        else:
            try:
                arguments = validate_arguments(tool.arguments, request["arguments"])
            except ValueError as exc:
                reply |= {"ok": False, "kind": "arguments", "error": str(exc)}
            else:
                try:
                    reply |= {"ok": True, "result": to_jsonable(tool.fn(**arguments))}
                except MemoryError:
                    reply |= {
                        "ok": False,
                        "kind": "memory",
                        "error": f"tool ran out of memory (cap {config.memory_mb} MB)",
                    }
                    exit_after = True
                except BaseException as exc:  # SystemExit and KeyboardInterrupt included
                    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    reply |= {
                        "ok": False,
                        "kind": "tool",
                        "error": message,
                        "traceback": _tool_traceback(exc, box_dir),
                    }
        try:
            frame = protocol.encode(reply)
        except (TypeError, ValueError) as exc:
            frame = protocol.encode(
                {
                    "id": request["id"],
                    "ok": False,
                    "kind": "tool",
                    "error": f"result is not serialisable: {exc}",
                }
            )
        channel.write(frame)
        if exit_after:
            os._exit(3)


if __name__ == "__main__":
    serve(WorkerConfig.from_json(sys.argv[1]))
