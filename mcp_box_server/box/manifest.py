"""`box.toml`: the manifest that names a box and sets its limits.

Read in the server process, so it must stay cheap: tomllib and dataclasses only.
"""

from __future__ import annotations

import errno
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcp_box_server.box.errors import ManifestError
from mcp_box_server.box.files import open_no_follow

MANIFEST = "box.toml"
BOX_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,30}")  # fullmatch: "$" lets a final newline through
TRUST_LEVELS = ("trusted", "sandboxed")
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY_MB = 2048
DEFAULT_WORKERS = 4
DEFAULT_LOAD_TIMEOUT = 30.0
DEFAULT_MAX_RESULT_MB = 8
DEFAULT_MAX_BOX_MB = 100
MANIFEST_LIMIT = 1024 * 1024  # a box.toml is a few lines; more is a mistake or an attack

Trust = Literal["trusted", "sandboxed"]
# A tool that may run as an MCP task, or must; or that asks its first questions in the
# request and, once they are answered, goes on as a task.
TaskMode = Literal["optional", "required", "after_questions"]
TASK_MODES: tuple[TaskMode, ...] = ("optional", "required", "after_questions")
# A box.toml that says nothing is treated as hostile: only the boxes shipped with mcp-box
# and the user's own say `trust = "trusted"`, so a downloaded or distilled box is never
# trusted by omission.
DEFAULT_TRUST: Trust = "sandboxed"


@dataclass(frozen=True, slots=True)
class ToolOverride:
    """Per-tool settings from a `[tools.NAME]` table."""

    timeout: float | None = None
    task: TaskMode | None = None


@dataclass(frozen=True, slots=True)
class ResourceEntry:
    """A `[resources]` entry: a URI the box names for one of its files."""

    file: str
    name: str = ""
    description: str = ""
    mime_type: str | None = None  # by default from the file name


@dataclass(frozen=True, slots=True)
class TemplateEntry:
    """A `[templates]` entry: a URI template whose reads call a tool function of the box.

    The function takes the template's variables as keyword arguments (strings);
    `values` lists known values per variable, offered as completions.
    """

    function: str
    name: str = ""
    description: str = ""
    mime_type: str | None = None  # by default from what the function returns
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed `box.toml` of one box."""

    name: str
    path: Path
    version: str = "0.0.0"
    description: str = ""
    trust: Trust = DEFAULT_TRUST
    requires: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int = DEFAULT_MEMORY_MB
    workers: int = DEFAULT_WORKERS
    keep_warm: bool = False  # keep one worker when idle: no fork and box import on the next call
    code_mode: bool = True  # its tools are offered to code-mode programs (`execute`)
    allow_imports: tuple[str, ...] = ()
    load_timeout: float = DEFAULT_LOAD_TIMEOUT
    max_result_mb: int = DEFAULT_MAX_RESULT_MB
    max_box_mb: int = DEFAULT_MAX_BOX_MB
    tools: dict[str, ToolOverride] = field(default_factory=dict)
    resources: dict[str, ResourceEntry] = field(default_factory=dict)
    templates: dict[str, TemplateEntry] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def timeout_for(self, function: str, declared: float | None = None) -> float:
        """Effective timeout: `[tools.NAME]` beats the decorator beats the box default."""
        override = self.tools.get(function)
        if override and override.timeout is not None:
            return override.timeout
        return declared if declared is not None else self.timeout

    def task_for(self, function: str, declared: str | None = None) -> str | None:
        """Whether a tool runs as an MCP task: `[tools.NAME] task` beats the decorator; None: never."""
        override = self.tools.get(function)
        return override.task if override and override.task is not None else declared


def read_manifest(box_dir: Path) -> Manifest:
    """Parse `box_dir/box.toml`; a wrong field raises `ManifestError` with its line.

    A box.toml with other hard links may be a file outside the box (see runtime/snapshot.py):
    only a trusted box's is read, and a bad one says nothing of what it holds.
    """
    path = box_dir / MANIFEST
    text, links = _read_text(path)
    try:
        manifest = _parse(path, text)
    except ManifestError:
        if links > 1:
            raise _hard_linked(path, links) from None
        raise
    if links > 1 and manifest.trust != "trusted":
        raise _hard_linked(path, links)
    return manifest


def _parse(path: Path, text: str) -> Manifest:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ManifestError(
            str(path), f"invalid TOML: {exc}", int(match.group(1)) if match else None
        ) from None
    return _build(path, text, data)


def _hard_linked(path: Path, links: int) -> ManifestError:
    return ManifestError(str(path), f"cannot read: it has {links} hard links, and its box is not trusted")


def _build(path: Path, text: str, data: dict[str, Any]) -> Manifest:
    def fail(key: str, message: str) -> ManifestError:
        return ManifestError(str(path), f"'{key}': {message}", _line_of(text, key))

    name = data.get("name", path.parent.name)
    if not isinstance(name, str) or not BOX_NAME.fullmatch(name):
        raise fail("name", f"must match {BOX_NAME.pattern} (letters, digits, '-'), got {name!r}")
    trust = data.get("trust", DEFAULT_TRUST)
    if trust not in TRUST_LEVELS:
        raise fail("trust", f"must be one of {', '.join(TRUST_LEVELS)}, got {trust!r}")
    known = {
        "name",
        "version",
        "description",
        "trust",
        "requires",
        "timeout",
        "memory_mb",
        "workers",
        "keep_warm",
        "code_mode",
        "allow_imports",
        "load_timeout",
        "max_result_mb",
        "max_box_mb",
        "tools",
        "resources",
        "templates",
        "provenance",
    }
    for key in data:
        if key not in known:
            raise fail(key, f"unknown key; expected one of {', '.join(sorted(known))}")
    tools: dict[str, ToolOverride] = {}
    for function, table in (data.get("tools") or {}).items():
        if not isinstance(table, dict):
            raise fail(f"tools.{function}", "must be a table")
        timeout = table.get("timeout")
        if timeout is not None and not _positive(timeout):
            raise fail("timeout", f"tools.{function}.timeout must be a positive number")
        task = table.get("task")
        if task is not None and task not in TASK_MODES:
            modes = '"optional", "required" or "after_questions"'
            raise fail("task", f"tools.{function}.task must be {modes}, got {task!r}")
        tools[function] = ToolOverride(timeout=float(timeout) if timeout is not None else None, task=task)
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if not _positive(timeout):
        raise fail("timeout", f"must be a positive number of seconds, got {timeout!r}")
    load_timeout = data.get("load_timeout", DEFAULT_LOAD_TIMEOUT)
    if not _positive(load_timeout):
        raise fail("load_timeout", f"must be a positive number of seconds, got {load_timeout!r}")
    max_result_mb = _megabytes(data, "max_result_mb", DEFAULT_MAX_RESULT_MB, fail)
    max_box_mb = _megabytes(data, "max_box_mb", DEFAULT_MAX_BOX_MB, fail)
    memory_mb = data.get("memory_mb", DEFAULT_MEMORY_MB)
    if not isinstance(memory_mb, int) or memory_mb < 64:
        raise fail("memory_mb", f"must be an integer >= 64, got {memory_mb!r}")
    workers = data.get("workers", DEFAULT_WORKERS)
    if not isinstance(workers, int) or not 1 <= workers <= 64:
        raise fail("workers", f"must be an integer from 1 to 64, got {workers!r}")
    keep_warm = data.get("keep_warm", False)
    if not isinstance(keep_warm, bool):
        raise fail("keep_warm", f"must be true or false, got {keep_warm!r}")
    code_mode = data.get("code_mode", True)
    if not isinstance(code_mode, bool):
        raise fail("code_mode", f"must be true or false, got {code_mode!r}")
    return Manifest(
        name=name,
        path=path.parent,
        version=str(data.get("version", "0.0.0")),
        description=str(data.get("description", "")),
        trust=trust,
        requires=_strings(data.get("requires", []), fail("requires", "must be a list of strings")),
        timeout=float(timeout),
        memory_mb=memory_mb,
        workers=workers,
        keep_warm=keep_warm,
        code_mode=code_mode,
        allow_imports=_strings(
            data.get("allow_imports", []), fail("allow_imports", "must be a list of module names")
        ),
        load_timeout=float(load_timeout),
        max_result_mb=max_result_mb,
        max_box_mb=max_box_mb,
        tools=tools,
        resources=_resources(data.get("resources"), fail, name),
        templates=_templates(data.get("templates"), fail, name),
        provenance=dict(data.get("provenance") or {}),
    )


_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S*$")
_ENTRY_KEYS = {"name", "description", "mime_type"}


def _own_uri(uri: str, box: str) -> bool:
    """A `box://` URI belongs to the box it names: no box may serve under another's name."""
    return not uri.startswith("box://") or uri.startswith(f"box://{box}/")


def _resources(
    table: object, fail: Callable[[str, str], ManifestError], box: str
) -> dict[str, ResourceEntry]:
    """`"uri" = "file"` or `"uri" = { file = ..., name, description, mime_type }`."""
    entries: dict[str, ResourceEntry] = {}
    for uri, value in _table(table, "resources", fail).items():
        item = _entry(value, "file", "resources", uri, fail)
        if not _URI.match(uri) or "{" in uri:
            raise fail("resources", f"{uri!r} is not a URI (scheme://...; templates go in [templates])")
        if not _own_uri(uri, box):
            raise fail("resources", f"{uri!r}: this box's box:// URIs start with box://{box}/")
        file = item["file"]
        if file.startswith("/") or ".." in file.split("/"):
            raise fail("resources", f"{uri!r}: file {file!r} must be a path inside the box")
        entries[uri] = ResourceEntry(file, **{k: item[k] for k in _ENTRY_KEYS if k in item})
    return entries


def _templates(
    table: object, fail: Callable[[str, str], ManifestError], box: str
) -> dict[str, TemplateEntry]:
    """`"scheme://x/{var}" = "function"` or a table with `function`, `values = { var = [...] }`, ..."""
    entries: dict[str, TemplateEntry] = {}
    for template, value in _table(table, "templates", fail).items():
        item = _entry(value, "function", "templates", template, fail, frozenset({"values"}))
        variables = set(re.findall(r"\{[+#./;?&]?([a-zA-Z0-9_]+)\*?\}", template))
        if not _URI.match(template) or not variables:
            raise fail("templates", f"{template!r} is not a URI template (scheme://.../{{name}}...)")
        if not _own_uri(template, box):
            raise fail("templates", f"{template!r}: this box's box:// URIs start with box://{box}/")
        values = item.pop("values", {})
        if not isinstance(values, dict) or not all(
            name in variables and isinstance(v, list) and all(isinstance(x, str) for x in v)
            for name, v in values.items()
        ):
            raise fail("templates", f"{template!r}: 'values' maps its variables to lists of strings")
        entries[template] = TemplateEntry(
            item["function"],
            **{k: item[k] for k in _ENTRY_KEYS if k in item},
            values={name: tuple(v) for name, v in values.items()},
        )
    return entries


def _table(table: object, key: str, fail: Callable[[str, str], ManifestError]) -> dict[str, Any]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise fail(key, "must be a table")
    return table


def _entry(
    value: object,
    main: str,
    section: str,
    key: str,
    fail: Callable[[str, str], ManifestError],
    extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One entry of `[section]` as a dict: a plain string is its `main` field."""
    item = {main: value} if isinstance(value, str) else value
    if not isinstance(item, dict) or not isinstance(item.get(main), str):
        raise fail(section, f"{key!r} needs a '{main}' (text)")
    for name, field_value in item.items():
        if name not in {main, *_ENTRY_KEYS, *extra}:
            raise fail(section, f"{key!r}: unknown key '{name}'")
        if name in _ENTRY_KEYS and not isinstance(field_value, str):
            raise fail(section, f"{key!r}: '{name}' must be text")
    return dict(item)


def _read_text(path: Path) -> tuple[str, int]:
    """Read a regular box.toml, never through a link and never past MANIFEST_LIMIT; and its link count.

    The server reads every manifest itself: a link to /dev/zero or a FIFO must not hang it.
    """
    try:
        fd = open_no_follow(path)
    except OSError as exc:
        reason = "it is a link" if exc.errno == errno.ELOOP else exc.strerror or exc
        raise ManifestError(str(path), f"cannot read: {reason}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ManifestError(str(path), "cannot read: not a regular file")
        data = handle.read(MANIFEST_LIMIT + 1)
    if len(data) > MANIFEST_LIMIT:
        raise ManifestError(str(path), f"larger than {MANIFEST_LIMIT // 1024} KB")
    return data.decode("utf-8", errors="replace"), info.st_nlink


def _positive(value: object) -> bool:
    """A positive, finite number: `inf` and `nan` are refused, so every limit really ends."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _megabytes(
    data: dict[str, Any], key: str, default: int, fail: Callable[[str, str], ManifestError]
) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise fail(key, f"must be a whole number of megabytes >= 1, got {value!r}")
    return value


def _strings(value: object, error: ManifestError) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error
    return tuple(value)


def _line_of(text: str, key: str) -> int | None:
    leaf = key.rsplit(".", 1)[-1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*\[?\s*(tools\.)?{re.escape(leaf)}\s*[=\]]", line):
            return number
    return None
