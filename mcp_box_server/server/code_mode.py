"""Code mode: clients write a Python program against the boxes; `execute` runs it in the sandbox.

One `execute` replaces many tool calls: the program loops, filters and combines, and
only what it prints or returns comes back (Anthropic's "code execution with MCP",
Cloudflare's Code Mode). Unlike an in-process runner, the program never runs in the
server: each one gets a fresh worker of a hidden sandboxed box (every kernel layer,
no network, no files but its temp dir), and the server kills that worker when the
program ends. Inside it each box is a module of stubs (`runtime.program`); a call
comes back here as a "tool" question on the worker's channel and is routed to the
box's own worker, under that box's trust and limits, as `call_tool` would.

Limits, each a clear error: wall time (the program and the tool calls it waits for),
memory (the worker's cap), tool calls, printed output, and the answer's size.
Counting happens here as well as in the worker: the worker runs hostile code.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastmcp.server.dependencies import get_context
from fastmcp.server.middleware import Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult
from mcp_types import ImageContent, TextContent

from mcp_box_server.box.content import Rich
from mcp_box_server.box.manifest import read_manifest
from mcp_box_server.box.pysignature import is_name, python_signature
from mcp_box_server.box.spec import ToolSpec
from mcp_box_server.runtime import (
    BoxPool,
    BoxRuntimeError,
    ClientCannot,
    InputNeeded,
    ResultTooLarge,
    ToolTimeout,
    WorkerCrashed,
    snapshot,
)
from mcp_box_server.runtime.budget import WorkerBudget
from mcp_box_server.runtime.program import TOOL_QUESTION
from mcp_box_server.server import results
from mcp_box_server.server.conversation import ClientConversation
from mcp_box_server.server.registry import BoxRegistry

CODE_MODE_TOOLS = ("execute", "get_schema")
ONLY_OFFERED = ("find_tools", "get_schema", "execute")  # serve --code-mode-only
PROGRAM_BOX = "code-mode"
PROGRAM_TOOL = '''
from mcp_box_server.runtime import program as _program


def run(code: str, boxes: dict, limits: dict) -> dict:
    """Run one code-mode program (see mcp_box_server.runtime.program)."""
    return _program.run(code, boxes, limits)
'''


@dataclass(frozen=True, slots=True)
class ProgramLimits:
    """What one program may use: seconds of wall time, MB of memory, tool calls, printed characters."""

    timeout: float = 30.0
    memory_mb: int = 512
    tool_calls: int = 50
    output: int = 1_000_000
    answer_mb: int = 16  # the runner's reply: output, value and pictures together
    workers: int = 4  # programs running at once


class ProgramLimit(Exception):
    """The server stopped a program past a limit its worker should have kept (a hostile runtime)."""


class CodeMode:
    """Runs programs for `execute`; the program box's pool starts on first use."""

    def __init__(self, registry: BoxRegistry, limits: ProgramLimits | None = None) -> None:
        self.registry = registry
        self.limits = limits or ProgramLimits()
        self._pool: BoxPool | None = None
        self._lock = asyncio.Lock()
        self._source: Path | None = None
        self._described: tuple[int, dict[str, Any]] | None = None  # (registry generation, boxes)

    def code_tools(self) -> dict[str, tuple[str, ToolSpec]]:
        """Every tool a program may call, by exposed name: (module name, spec)."""
        tools: dict[str, tuple[str, ToolSpec]] = {}
        for state in self.registry.states:
            pool = state.pool
            if pool is None or not state.serving or not pool.manifest.code_mode:
                continue
            module = pool.manifest.name.replace("-", "_")
            for spec in pool.specs:
                tools[spec.name] = (module, spec)
        return tools

    def describe(self) -> dict[str, Any]:
        """The boxes as the program sees them: {module: {"doc", "tools": {function: ...}}}.

        Rebuilt only when the registry's tool index changes (a reload, a box loading).
        """
        if self._described is not None and self._described[0] == self.registry.generation:
            return self._described[1]
        boxes: dict[str, Any] = {}
        states = self.registry.states
        descriptions = {state.name: state.pool.manifest.description for state in states if state.pool}
        for name, (module, spec) in self.code_tools().items():
            signature = python_signature(spec.function, spec.parameters, spec.output)
            if signature is None or not is_name(module):
                continue  # names Python cannot spell: reachable through call_tool only
            box = boxes.setdefault(module, {"doc": descriptions.get(spec.box, ""), "tools": {}})
            box["tools"][spec.function] = {"name": name, "signature": signature, "doc": spec.description}
        self._described = (self.registry.generation, boxes)
        return boxes

    async def pool(self) -> BoxPool:
        """The program box's pool: sandboxed, single-use workers, one kept warm."""
        async with self._lock:
            if self._pool is None or self._pool.failures:
                if self._pool is not None:
                    await self._pool.close()
                self._pool = await self._start_pool()
            return self._pool

    async def _start_pool(self) -> BoxPool:
        if self._source is None:
            self._source = snapshot.make_root("code-mode-src")
            await asyncio.to_thread(self._write_box, self._source / PROGRAM_BOX)
        manifest = read_manifest(self._source / PROGRAM_BOX)
        pool = BoxPool(
            manifest,
            max_timeout=max(self.limits.timeout, 1.0),
            # Slots of their own: programs waiting on box tools must never hold the slots those
            # boxes' workers need (five programs calling bio would starve bio of workers).
            budget=WorkerBudget(self.limits.workers),
            single_use=True,
        )
        await pool.start()
        if not pool.specs:
            problem = "; ".join(str(failure) for failure in pool.failures) or "no runner loaded"
            await pool.close()
            raise WorkerCrashed(f"code mode cannot start its sandboxed worker: {problem}")
        return pool

    def _write_box(self, folder: Path) -> None:
        limits = self.limits
        (folder / "tools").mkdir(parents=True)
        (folder / "box.toml").write_text(
            f'name = "{PROGRAM_BOX}"\ntrust = "sandboxed"\nkeep_warm = true\n'
            f"timeout = {limits.timeout}\nmemory_mb = {limits.memory_mb}\n"
            f"workers = {limits.workers}\nmax_result_mb = {limits.answer_mb}\n"
        )
        (folder / "tools" / "program.py").write_text(PROGRAM_TOOL)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._source is not None:
            await asyncio.to_thread(snapshot.remove, self._source)
            self._source = None

    async def run(self, code: str, client: ClientConversation | None) -> dict[str, Any]:
        """The runner's outcome for `code`; a limit the server enforces raises `ProgramLimit`."""
        limits = self.limits
        await self.registry.started()  # a box still loading at start is a module of the program too
        pool = await self.pool()
        conversation = ProgramConversation(self, client)
        arguments = {
            "code": code,
            "boxes": mentioned(self.describe(), code),
            "limits": {"output": limits.output, "tool_calls": limits.tool_calls},
        }
        try:
            async with asyncio.timeout(limits.timeout):
                outcome = await pool.call("run", arguments, limits.timeout, conversation)
        except (TimeoutError, ToolTimeout):
            raise ProgramLimit(
                f"time limit: the program ran past {limits.timeout:g} s (its tool calls included); "
                "its worker was stopped"
            ) from None
        except ResultTooLarge:
            raise ProgramLimit(
                f"answer limit: the program's output and value came to more than {limits.answer_mb} MB"
            ) from None
        if not isinstance(outcome, dict):
            raise WorkerCrashed("the program's worker sent an answer that is not an object")
        outcome["tool_calls"] = conversation.calls  # the server's count, not the worker's word
        outcome["memory_mb"] = limits.memory_mb
        return outcome


class ProgramConversation:
    """A program's channel, seen from the server: tool calls answered here, notes to the client."""

    interactive = True  # a tool call is answered by the server, in either protocol era
    capabilities = frozenset({TOOL_QUESTION})

    def __init__(self, code_mode: CodeMode, client: ClientConversation | None) -> None:
        self.answers: dict[str, Any] = {}
        self.code_mode = code_mode
        self.client = client
        self.calls = 0

    async def note(self, kind: str, params: dict[str, Any]) -> None:
        if self.client is not None:
            await self.client.note(kind, params)

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        if kind != TOOL_QUESTION:
            raise ClientCannot("a program cannot ask the client anything; the tools it calls may")
        self.calls += 1
        limit = self.code_mode.limits.tool_calls
        if self.calls > limit:
            raise ProgramLimit(f"tool call limit: the program made more than {limit} tool calls")
        name, arguments = params.get("name"), params.get("arguments")
        if not isinstance(name, str) or not isinstance(arguments, dict):
            return {"ok": False, "error": "a tool call needs a tool name and an object of arguments"}
        if name not in self.code_mode.code_tools():
            return {"ok": False, "error": f"no tool '{name}' in code mode"}
        nested = NestedConversation(self.client)
        try:
            value = await self.code_mode.registry.call(name, arguments, nested)
        except InputNeeded:
            return {"ok": False, "error": "the tool needs the client's answer; a program cannot wait for one"}
        except BoxRuntimeError as error:
            return {"ok": False, "error": results.failure(error).content[0].text}  # type: ignore[union-attr]
        await self.note("progress", {"progress": self.calls, "total": None, "message": f"called {name}"})
        if isinstance(value, Rich):
            return split_rich(value)
        return {"ok": True, "value": value}


class NestedConversation:
    """The conversation of a tool a program calls: notes reach the client; questions only where
    the client waits for them (a handshake-era session)."""

    def __init__(self, client: ClientConversation | None) -> None:
        self.answers: dict[str, Any] = {}
        self.client = client
        self.interactive = client is not None and client.interactive
        self.capabilities = client.capabilities if client is not None and self.interactive else frozenset()

    async def note(self, kind: str, params: dict[str, Any]) -> None:
        if self.client is not None:
            await self.client.note(kind, params)

    async def ask(self, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.client is None or kind not in self.capabilities:
            raise ClientCannot(f"a tool called from a program cannot ask the client ({kind})")
        return await self.client.ask(kind, params)


def mentioned(boxes: dict[str, Any], code: str) -> dict[str, Any]:
    """The boxes whose module name the program's text uses: only those are built in its worker
    (every box's stubs and docstrings would cost each program tens of milliseconds)."""
    words = set(re.findall(r"[A-Za-z_]\w*", code))
    return {name: box for name, box in boxes.items() if name in words}


def split_rich(value: Rich) -> dict[str, Any]:
    """A rich result for a program: its texts as the value, its pictures kept for the answer."""
    texts = [block.get("text", "") for block in value.blocks if block.get("type") == "text"]
    images = [block for block in value.blocks if block.get("type") == "image"]
    return {"ok": True, "value": texts[0] if len(texts) == 1 else texts, "images": images}


def answer(outcome: dict[str, Any]) -> ToolResult:
    """The runner's outcome as a tool result: printed output, then the value; pictures after."""
    output = str(outcome.get("output", ""))
    if not outcome.get("ok"):
        kind = outcome.get("kind")
        prefix = "program error" if kind in ("error", "syntax") else "limit"
        if kind == "memory":
            text = f"memory limit: the program ran out of memory (a cap of {outcome.get('memory_mb')} MB)"
        else:
            text = f"{prefix}: {outcome.get('error')}" if prefix != "limit" else str(outcome.get("error"))
        trace = str(outcome.get("traceback") or "")
        if trace:
            text += "\n" + trace.rstrip()
        if output:
            text += "\n--- output before the error ---\n" + output[-4000:]
        return results.failure(text)
    value = outcome.get("value")
    structured = {
        "output": output,
        "value": value,
        "final": bool(outcome.get("final")),  # ended by final_answer(...)
        "tool_calls": outcome.get("tool_calls", 0),
    }
    text = output
    if value is not None:
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text += ("" if not text or text.endswith("\n") else "\n") + f"result: {shown}"
    blocks: list[Any] = [TextContent(type="text", text=text or "(no output)")]
    for image in outcome.get("images", []):
        if isinstance(image, dict) and _is_base64(image.get("data")):
            blocks.append(ImageContent(type="image", data=image["data"], mimeType=str(image.get("mimeType"))))
    return ToolResult(content=blocks, structured_content=structured)


def _is_base64(data: Any) -> bool:
    try:
        base64.b64decode(str(data), validate=True)
    except ValueError:
        return False
    return isinstance(data, str)


def schema_text(code_mode: CodeMode, names: Sequence[str]) -> tuple[str, list[str]]:
    """Python stubs for the named tools (`math_solve_24` or `math.solve_24`), and the unknown names."""
    tools = code_mode.code_tools()
    by_dotted = {f"{module}.{spec.function}": name for name, (module, spec) in tools.items()}
    parts, unknown = [], []
    for asked in names:
        name = by_dotted.get(asked, asked)
        if name not in tools:
            unknown.append(asked)
            continue
        module, spec = tools[name]
        signature = python_signature(spec.function, spec.parameters, spec.output)
        if signature is None:
            unknown.append(asked)
            continue
        doc = spec.description.replace('"""', "'''")
        body = "\n".join(("    " + line).rstrip() for line in doc.splitlines())
        header = f"# {module}.{spec.function} (the MCP tool {name})\n{signature}:"
        parts.append(f'{header}\n    """\n{body}\n    """')
    return "\n\n".join(parts), unknown


class CodeModeOnly(Middleware):
    """serve --code-mode-only: `find_tools`, `get_schema` and `execute`, nothing else."""

    async def on_list_tools(self, context: MiddlewareContext[Any], call_next: Any) -> Sequence[Tool]:
        return [tool for tool in await call_next(context) if tool.name in ONLY_OFFERED]

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        if context.message.name not in ONLY_OFFERED:
            return results.failure(
                f"this server offers code mode only: call '{context.message.name}' from a program "
                "through execute (get_schema gives its Python signature)"
            )
        return await call_next(context)


def client_conversation(registry: BoxRegistry, code: str) -> ClientConversation | None:
    """The calling client's conversation, for progress notes (None outside a request)."""
    try:
        return ClientConversation(get_context(), "execute", {"code": code}, registry)
    except RuntimeError:
        return None
