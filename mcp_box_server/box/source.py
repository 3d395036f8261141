"""A box's tools described from their source text alone, for where no box code may run.

Where the OS runs no worker (Windows: see `runtime.platform.windows`), `ls`, `show` and
`pack mcpb` still say what a box offers: its tool modules are parsed, never imported.
The tools found are the ones `loader` would find (public top-level functions, `__all__`
when it is a literal, `@tool(name=..., hidden=...)` when its arguments are literals),
each with its docstring's description and parameters. Types are read as written: the
common ones (int, str, list[int], X | None, Literal[...]) become the JSON schema pydantic
would give; any other is left open (`{}`), since only importing the box could say more.
"""

from __future__ import annotations

import ast
import contextlib
import sys
from pathlib import Path
from typing import Any

from mcp_box_server.box.docstrings import parse_docstring
from mcp_box_server.box.errors import LoadFailure
from mcp_box_server.box.loader import TOOLS_DIR, tool_files
from mcp_box_server.box.manifest import TASK_MODES, Manifest
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name

MAX_SOURCE = 4 * 1024 * 1024  # a tool module larger than this is not read
_SCALARS = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "None": "null"}
_ARRAYS = {"list", "List", "Sequence", "set", "Set", "frozenset", "tuple", "Tuple", "Iterable"}
_OBJECTS = {"dict", "Dict", "Mapping"}


def read_tools(manifest: Manifest) -> tuple[list[ToolSpec], list[LoadFailure]]:
    """The tools of the box `manifest` describes, and what could not be read, from source only."""
    specs: list[ToolSpec] = []
    failures: list[LoadFailure] = []
    files = tool_files(manifest.path)
    if not files:
        failures.append(LoadFailure(str(manifest.path / TOOLS_DIR), None, "no tool modules (tools/*.py)"))
    for path in files:
        if path.stem in sys.stdlib_module_names:
            message = f"module name '{path.stem}' shadows the standard library module; rename the file"
            failures.append(LoadFailure(str(path), None, message))
            continue
        try:
            tree = ast.parse(_read(path), str(path))
        except SyntaxError as exc:
            failures.append(LoadFailure(str(path), exc.lineno, f"syntax error: {exc.msg}"))
            continue
        except (OSError, ValueError) as exc:
            failures.append(LoadFailure(str(path), None, f"cannot read: {exc}"))
            continue
        _collect(tree, path, manifest, specs, failures)
    return specs, failures


def _read(path: Path) -> str:
    """A regular file's text (never a FIFO or a device, which could block or never end)."""
    if not path.is_file():
        raise ValueError("not a regular file")
    if path.stat().st_size > MAX_SOURCE:
        raise ValueError(f"over {MAX_SOURCE // (1024 * 1024)} MB")
    return path.read_text(encoding="utf-8")


def _collect(
    tree: ast.Module, path: Path, manifest: Manifest, specs: list[ToolSpec], failures: list[LoadFailure]
) -> None:
    exported = _exported(tree)
    types = _Types(tree)
    seen = {spec.name: spec for spec in specs}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        meta = _meta(node)
        if exported is not None and node.name not in exported:
            continue
        if exported is None and (node.name.startswith("_") or meta.get("hidden")):
            continue
        line = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        function = meta.get("name") if isinstance(meta.get("name"), str) else node.name
        name = exposed_name(manifest.name, function)
        if not TOOL_NAME.fullmatch(name):
            message = f"tool name '{name}' must match {TOOL_NAME.pattern}"
            failures.append(LoadFailure(str(path), line, message))
            continue
        if name in seen:
            first = seen[name]
            message = f"duplicate tool name '{name}' (first defined at {first.file}:{first.line})"
            failures.append(LoadFailure(str(path), line, message))
            continue
        docstring = parse_docstring(ast.get_docstring(node))
        if not docstring.description:
            failures.append(LoadFailure(str(path), line, f"function '{node.name}' has no docstring"))
            continue
        if node.args.vararg or node.args.kwarg:
            message = f"function '{node.name}': *args and **kwargs cannot be described as tool parameters"
            failures.append(LoadFailure(str(path), line, message))
            continue
        timeout = meta.get("timeout") if isinstance(meta.get("timeout"), int | float) else None
        task = meta.get("task") if meta.get("task") in TASK_MODES else None
        spec = ToolSpec(
            name=name,
            function=function,
            box=manifest.name,
            description=docstring.description,
            parameters=_parameters(node.args, docstring.params, types),
            timeout=manifest.timeout_for(function, timeout),
            file=str(path),
            line=line,
            task=manifest.task_for(function, task),
        )
        specs.append(spec)
        seen[name] = spec


def _exported(tree: ast.Module) -> set[str] | None:
    """The module's `__all__`, where it is a literal list or tuple of names."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            try:
                names = ast.literal_eval(node.value)
            except ValueError:
                return None
            return {name for name in names if isinstance(name, str)}
    return None


def _meta(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """The literal keyword arguments of a `@tool(...)` decorator."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        if _dotted(target).rsplit(".", 1)[-1] != "tool" or call is None:
            continue
        meta: dict[str, Any] = {}
        for keyword in call.keywords:
            try:
                meta[str(keyword.arg)] = ast.literal_eval(keyword.value)
            except ValueError:
                continue
        return meta
    return {}


def _parameters(args: ast.arguments, described: dict[str, str], types: _Types) -> dict[str, Any]:
    """The input schema: each parameter's type as written, its default and its description."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in pairs:
        schema = types.schema(arg.annotation)
        if default is None:
            required.append(arg.arg)
        else:
            with contextlib.suppress(ValueError):  # else computed at import: only the box knows it
                schema["default"] = ast.literal_eval(default)
        if arg.arg in described:
            schema["description"] = described[arg.arg]
        properties[arg.arg] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        parameters["required"] = required
    return parameters


class _Types:
    """JSON schemas for types as written in one module, its type aliases (`Matrix = list[...]`) followed."""

    MAX_DEPTH = 20  # aliases of aliases, nested generics: deeper is left open

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict[str, ast.expr] = {}
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                self.aliases[node.targets[0].id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                self.aliases[node.target.id] = node.value
            elif sys.version_info >= (3, 12) and isinstance(node, ast.TypeAlias):
                self.aliases[node.name.id] = node.value

    def schema(self, annotation: ast.expr | None, depth: int = 0) -> dict[str, Any]:
        """A JSON schema for a type as written; `{}` (any value) for what only an import could say."""
        if annotation is None or depth > self.MAX_DEPTH:
            return {}
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:  # a string annotation (`from __future__ import annotations`, or quoted)
                return self.schema(ast.parse(annotation.value, mode="eval").body, depth + 1)
            except SyntaxError:
                return {}
        if isinstance(annotation, ast.Constant) and annotation.value is None:
            return {"type": "null"}
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self._any_of([annotation.left, annotation.right], depth)
        if isinstance(annotation, ast.Name) and annotation.id in self.aliases:
            return self.schema(self.aliases[annotation.id], depth + 1)
        name = _dotted(annotation.value if isinstance(annotation, ast.Subscript) else annotation)
        name = name.rsplit(".", 1)[-1]
        if not isinstance(annotation, ast.Subscript):
            if name in _SCALARS:
                return {"type": _SCALARS[name]}
            return {"type": "array"} if name in _ARRAYS else {"type": "object"} if name in _OBJECTS else {}
        items = list(annotation.slice.elts) if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        if name == "Optional":
            return self._any_of([items[0], ast.Constant(None)], depth)
        if name == "Union":
            return self._any_of(items, depth)
        if name == "Annotated":
            return self.schema(items[0], depth + 1)
        if name == "Literal":
            return _literal(items)
        if name in _ARRAYS:
            return (
                {"type": "array", "items": self.schema(items[0], depth + 1)} if items else {"type": "array"}
            )
        if name in _OBJECTS and len(items) == 2:
            return {"type": "object", "additionalProperties": self.schema(items[1], depth + 1)}
        return {}

    def _any_of(self, options: list[ast.expr], depth: int) -> dict[str, Any]:
        schemas: list[dict[str, Any]] = []
        for option in options:
            schema = self.schema(option, depth + 1)
            schemas += schema["anyOf"] if list(schema) == ["anyOf"] else [schema]
        return {} if {} in schemas else {"anyOf": schemas}


def _literal(items: list[ast.expr]) -> dict[str, Any]:
    """`Literal[...]` as pydantic writes it: an enum, with its type when all values share one."""
    try:
        values = [ast.literal_eval(item) for item in items]
    except ValueError:
        return {}
    kinds = {_SCALARS.get(type(value).__name__) for value in values}
    return (
        {"enum": values, "type": kinds.pop()} if len(kinds) == 1 and None not in kinds else {"enum": values}
    )


def _dotted(node: ast.expr) -> str:
    """`typing.Optional` or `Optional` as text; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""
