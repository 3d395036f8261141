"""Inside a code-mode worker: run one program against the served boxes.

The program runs in a sandboxed worker of its own (see `server.code_mode`), which
the server kills after this one program. Each served box is a module of stub
functions with the tools' signatures and docstrings; a stub holds no box code, it
sends the call back over the worker's channel (a "tool" question, see
`box.context`) and the server runs it in the box's own worker. A box named like a
standard module keeps that module's names (`math.sqrt` beside `math.solve_24`).

What comes back is plain data: printed output, the value of the last expression
or of `final_answer(...)`, the pictures tools returned, or which limit stopped it.
Imported by the zygote (`runtime.worker`), before any confinement.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import linecache
import sys
import traceback
import types
from typing import Any, Literal

from mcp_box_server.box import context

PROGRAM = "<program>"
TOOL_QUESTION = "tool"  # the kind of question a stub asks the server


class ProgramStop(BaseException):
    """A limit ended the program; a BaseException, so that `except Exception` cannot swallow it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class FinalAnswer(BaseException):
    """Raised by `final_answer(value)`: the program ends here with `value`."""

    def __init__(self, value: Any) -> None:
        super().__init__("final_answer")
        self.value = value


class ToolError(Exception):
    """A tool called from the program failed; the message is the tool's error."""


def final_answer(value: Any) -> None:
    """End the program with `value` as its answer."""
    raise FinalAnswer(value)


class _Output(io.TextIOBase):
    """What the program prints, up to `limit` characters; past it the program stops."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[str] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self._size
        self._parts.append(text[: max(room, 0)])
        self._size += len(text)
        if self._size > self.limit:
            message = f"output limit: the program printed more than {self.limit:,} characters"
            raise ProgramStop("output", message)
        return len(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)


class _Calls:
    """The stubs' way to the server: counts calls, keeps the pictures tools return."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.images: list[dict[str, Any]] = []

    def __call__(self, tool: str, arguments: dict[str, Any]) -> Any:
        self.count += 1
        if self.count > self.limit:
            raise ProgramStop(
                "tool_calls", f"tool call limit: the program made more than {self.limit} tool calls"
            )
        question = context.Question(TOOL_QUESTION, {"name": tool, "arguments": arguments})
        (answer,) = context.ask({None: question}).values()
        if not answer.get("ok"):
            raise ToolError(f"{tool}: {answer.get('error', 'failed')}")
        self.images += [block for block in answer.get("images", []) if isinstance(block, dict)]
        return answer.get("value")


def run(code: str, boxes: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """Run `code`; never raises. `boxes`: {module: {"doc", "tools": {function: {"name",
    "signature", "doc"}}}} as the server describes them; `limits`: "output", "tool_calls"."""
    output = _Output(int(limits["output"]))
    calls = _Calls(int(limits["tool_calls"]))
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__builtins__": builtins,
        "final_answer": final_answer,
        "ToolError": ToolError,
        "progress": context.progress,
        "log": context.log,
    }
    for name, description in boxes.items():
        module = box_module(name, description, calls)
        namespace[name] = sys.modules[name] = module  # `import math` finds the box too
    try:
        tree = ast.parse(code, PROGRAM)
    except SyntaxError as exc:
        error = f"SyntaxError: {exc.msg} (line {exc.lineno})"
        return {"ok": False, "kind": "syntax", "error": error, "output": ""}
    linecache.cache[PROGRAM] = (len(code), None, code.splitlines(True), PROGRAM)
    outcome: dict[str, Any] = {"ok": True, "value": None}
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            outcome["value"] = _execute(tree, namespace)
        except FinalAnswer as answer:
            outcome |= {"value": answer.value, "final": True}
        except ProgramStop as stop:
            outcome = {"ok": False, "kind": stop.kind, "error": str(stop)}
        except MemoryError:
            outcome = {"ok": False, "kind": "memory", "error": "MemoryError"}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the program's error
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            outcome = {"ok": False, "kind": "error", "error": message, "traceback": _traceback(exc)}
    return outcome | {"output": output.text, "tool_calls": calls.count, "images": calls.images}


def _execute(tree: ast.Module, namespace: dict[str, Any]) -> Any:
    """Run the module; the value of its last statement when that is an expression."""
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, PROGRAM, "exec", dont_inherit=True), namespace)  # not this module's __future__
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), PROGRAM, "eval", dont_inherit=True), namespace)


def box_module(name: str, description: dict[str, Any], call: Any) -> types.ModuleType:
    """A module of stubs for one box; a standard module of the same name lends its names first."""
    module = types.ModuleType(name, str(description.get("doc", "")))
    if name in sys.stdlib_module_names:
        with contextlib.suppress(ImportError):
            standard = importlib.import_module(name)
            module.__dict__.update({k: v for k, v in vars(standard).items() if not k.startswith("__")})
    tools = description.get("tools", {})
    for function, stub in _stubs(name, tools, call).items():
        stub.__doc__ = tools[function].get("doc") or None
        stub.__module__ = name
        setattr(module, function, stub)
    return module


def _stubs(module: str, tools: dict[str, Any], call: Any) -> dict[str, Any]:
    """Functions with the tools' signatures (their headers as the server wrote them) that call
    them; one compile for the whole box."""
    scope: dict[str, Any] = {"Any": Any, "Literal": Literal, "_mcp_box_call": call}
    body = "    return _mcp_box_call({name!r}, dict(locals()))\n"
    lines = [f"{tool['signature']}:\n" + body.format(name=tool["name"]) for tool in tools.values()]
    exec(compile("\n".join(lines), f"<{module}>", "exec", dont_inherit=True), scope)
    return {function: scope[function] for function in tools}


def _traceback(exc: BaseException) -> str:
    """The program's own frames of a traceback, the last five."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == PROGRAM]
    return "".join(traceback.format_list(frames[-5:]))
