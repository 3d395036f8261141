"""Import a box's tool modules and describe their tools.

This imports box code, so only worker processes (and tests) call it. Like
FastMCP's filesystem discovery it returns what loaded plus what failed, in sorted
order, and never raises for one bad file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, TypeAdapter

from mcp_box_server.box.decorator import META_ATTRIBUTE
from mcp_box_server.box.errors import LoadFailure, ManifestError
from mcp_box_server.box.manifest import Manifest, read_manifest
from mcp_box_server.box.schema import SchemaError, describe_function, describe_output
from mcp_box_server.box.spec import TOOL_NAME, ToolSpec, exposed_name

TOOLS_DIR = "tools"


# What a previous load learnt of one module: its digest and its tools' descriptions,
# by function name. A module whose digest matches is not described again (pydantic
# schema generation is most of a reload); its validators are built on first call.
KnownModules = dict[str, dict[str, Any]]


@dataclass(slots=True)
class LoadedTool:
    spec: ToolSpec
    fn: Callable[..., Any]
    arguments: type[BaseModel] | None = None
    output: TypeAdapter[Any] | None = None

    def arguments_model(self) -> type[BaseModel]:
        if self.arguments is None:
            self.arguments = describe_function(self.fn, self.spec.name).model
        return self.arguments

    def check_result(self, value: Any) -> None:
        """Raise `ValueError` when the result does not fit the declared return type."""
        if self.spec.output is None:
            return
        if self.output is None:
            described = describe_output(self.fn)
            if described is None:
                return
            self.output = described[1]
        self.output.validate_python(value)


@dataclass(slots=True)
class LoadedBox:
    manifest: Manifest | None
    path: Path
    tools: dict[str, LoadedTool] = field(default_factory=dict)
    failures: list[LoadFailure] = field(default_factory=list)
    modules: KnownModules = field(default_factory=dict)

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self.tools.values()]


def tool_files(box_dir: Path) -> list[Path]:
    """The tool modules of a box: `tools/*.py` not starting with '_', sorted."""
    folder = box_dir / TOOLS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def load_box(box_dir: Path, known: KnownModules | None = None) -> LoadedBox:
    """Read the manifest, import every tool module, build every tool's schema.

    `known` (from the previous version's `LoadedBox.modules`) spares describing
    modules whose source, and whose helpers' sources, did not change.
    """
    box_dir = box_dir.resolve()
    try:
        manifest = read_manifest(box_dir)
    except ManifestError as exc:
        return LoadedBox(None, box_dir, failures=[LoadFailure(exc.path, exc.line, exc.message)])
    box = LoadedBox(manifest, box_dir)
    for requirement in manifest.requires:
        try:
            metadata.version(requirement)
        except metadata.PackageNotFoundError:
            message = f"requires '{requirement}', which is not installed (pip install {requirement})"
            box.failures.append(LoadFailure(str(box_dir / "box.toml"), None, message))
    files = tool_files(box_dir)
    if not files:
        box.failures.append(LoadFailure(str(box_dir / TOOLS_DIR), None, "no tool modules (tools/*.py)"))
    helpers = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((box_dir / TOOLS_DIR).glob("_*.py"))))
    for path in files:
        digest = hashlib.sha256(helpers.digest() + path.read_bytes()).hexdigest()
        previous = (known or {}).get(path.name, {})
        reusable = previous.get("tools", {}) if previous.get("sha256") == digest else {}
        box.modules[path.name] = {"sha256": digest, "tools": {}}
        if path.stem in sys.stdlib_module_names:
            message = f"module name '{path.stem}' shadows the standard library module; rename the file"
            box.failures.append(LoadFailure(str(path), None, message))
            continue
        module = _import(path, manifest.name, box.failures)
        if module is not None:
            _collect(module, path, manifest, box, reusable)
    return box


def package_name(box: str) -> str:
    """The package a box's tool modules are imported under (never on sys.path as such)."""
    return f"mcp_box_tools_{box.replace('-', '_')}"


def import_tool_module(box_dir: Path, name: str, box: str | None = None) -> ModuleType:
    """Import `tools/<name>.py` of a box as its workers do; raises what the module raises.

    A tool module may import its helpers as `import _helper` (the tools dir is on
    sys.path) or `from ._helper import f` (it lives in a package over the tools dir).
    """
    tools_dir = str(box_dir / TOOLS_DIR)
    if tools_dir not in sys.path:
        sys.path.insert(0, tools_dir)
    package = package_name(box or read_manifest(box_dir).name)
    if getattr(sys.modules.get(package), "__path__", None) != [tools_dir]:
        module = ModuleType(package)
        module.__path__ = [tools_dir]
        module.__package__ = package
        sys.modules[package] = module
    module_name = f"{package}.{name}"
    path = box_dir / TOOLS_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path.name} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _import(path: Path, box: str, failures: list[LoadFailure]) -> ModuleType | None:
    try:
        return import_tool_module(path.parent.parent, path.stem, box)
    except SyntaxError as exc:
        failures.append(LoadFailure(str(path), exc.lineno, f"syntax error: {exc.msg}"))
    except BaseException as exc:  # import errors, and a module calling sys.exit
        failures.append(LoadFailure(str(path), _line_in(exc, path), f"import failed: {_short(exc)}"))
    return None


def _collect(
    module: ModuleType, path: Path, manifest: Manifest, box: LoadedBox, reusable: dict[str, Any]
) -> None:
    exported = getattr(module, "__all__", None)
    for attr, fn in vars(module).items():
        if not inspect.isfunction(fn):
            continue
        meta = getattr(fn, META_ATTRIBUTE, None) or {}
        if exported is not None:
            if attr not in exported:
                continue
        elif attr.startswith("_") or fn.__module__ != module.__name__ or meta.get("hidden"):
            continue
        line = fn.__code__.co_firstlineno
        function = meta.get("name") or attr
        name = exposed_name(manifest.name, function)
        if not TOOL_NAME.fullmatch(name):
            box.failures.append(
                LoadFailure(str(path), line, f"tool name '{name}' must match {TOOL_NAME.pattern}")
            )
            continue
        if name in box.tools:
            first = box.tools[name].spec
            box.failures.append(
                LoadFailure(
                    str(path),
                    line,
                    f"duplicate tool name '{name}' (first defined at {first.file}:{first.line})",
                )
            )
            continue
        model = None
        if attr in reusable:
            description, parameters = reusable[attr]["description"], reusable[attr]["parameters"]
            output = reusable[attr].get("output")
        else:
            try:
                signature = describe_function(fn, name)
            except SchemaError as exc:
                box.failures.append(LoadFailure(str(path), line, f"function '{attr}': {exc}"))
                continue
            model, description, parameters = signature.model, signature.description, signature.schema
            described = describe_output(fn)
            output = described[0] if described else None
        if not description:
            box.failures.append(LoadFailure(str(path), line, f"function '{attr}' has no docstring"))
            continue
        known = {"description": description, "parameters": parameters, "output": output}
        box.modules[path.name]["tools"][attr] = known
        spec = ToolSpec(
            name=name,
            function=function,
            box=manifest.name,
            description=description,
            parameters=parameters,
            timeout=manifest.timeout_for(function, meta.get("timeout")),
            file=str(path),
            line=line,
            annotations=dict(meta.get("annotations") or {}),
            output=output,
            task=manifest.task_for(function, meta.get("task")),
        )
        box.tools[name] = LoadedTool(spec, fn, model)


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The deepest traceback line inside `path`, i.e. where the module failed."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path:
            line = frame.lineno
    return line


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
