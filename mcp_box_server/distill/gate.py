"""The static gate: teacher code is read, never run, before it reaches a worker.

The sandboxed worker is the real boundary (audit hook, rlimits, no network);
this gate exists so that obviously unsafe or out-of-policy code is rejected with
a precise reason the teacher can fix, and so that a box never ships code that
imports outside its declared allow-list. It is conservative: file writes are
allowed only to paths derived from `tempfile`, which puts them in the worker's
own temp directory.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

DEFAULT_ALLOW_IMPORTS = (
    "math",
    "cmath",
    "fractions",
    "decimal",
    "statistics",
    "itertools",
    "functools",
    "operator",
    "collections",
    "heapq",
    "bisect",
    "re",
    "string",
    "datetime",
    "calendar",
    "json",
    "typing",
    "dataclasses",
    "enum",
    "random",
    "tempfile",
)
# Never importable, whatever a box declares: process, network, interpreter escape hatches.
DENIED_MODULES = frozenset(
    {
        "os", "sys", "subprocess", "socket", "ssl", "select", "selectors", "asyncio", "ctypes",
        "cffi", "importlib", "imp", "multiprocessing", "threading", "_thread", "concurrent",
        "signal", "pty", "shutil", "builtins", "http", "urllib", "urllib3", "requests", "httpx",
        "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "xmlrpc", "socketserver",
        "webbrowser", "pickle", "marshal", "shelve", "code", "codeop", "runpy", "gc", "inspect",
        "pdb", "resource", "mmap", "fcntl", "posix",
    }
)  # fmt: skip
DENIED_CALLS = frozenset(
    {"eval", "exec", "compile", "__import__", "breakpoint", "input", "globals", "locals", "vars",
     "exit", "quit", "help"}
)  # fmt: skip
# Names that only reach the interpreter's internals; a tool has no business with them.
DENIED_NAMES = frozenset({"__builtins__", "__loader__", "__spec__"})
ALLOWED_DUNDERS = frozenset({"__name__", "__doc__", "__init__", "__len__", "__all__"})
WRITE_METHODS = frozenset({"write_text", "write_bytes", "touch", "unlink", "rmdir", "mkdir", "symlink_to"})
_WRITE_MODE_CHARS = set("wax+")
_DUNDER_TEXT = re.compile(r"__\w+?__")


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def check_source(source: str, allow_imports: tuple[str, ...] = DEFAULT_ALLOW_IMPORTS) -> list[Problem]:
    """Every reason `source` may not become a tool module; empty when it passes."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [Problem(exc.lineno or 0, f"syntax error: {exc.msg}")]
    problems: list[Problem] = []
    allowed = {name for name in allow_imports if name.split(".")[0] not in DENIED_MODULES}
    temp_names = _tempfile_names(tree)
    modules = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                _check_module(alias.name, node.lineno, allowed, problems)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                problems.append(Problem(node.lineno, "relative imports are not allowed"))
            else:
                _check_module(node.module or "", node.lineno, allowed, problems)
            for alias in node.names:
                if alias.name.startswith("_"):
                    problems.append(
                        Problem(node.lineno, f"importing private name '{alias.name}' is not allowed")
                    )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not _dunder(node.attr)
            and _root_name(node) in modules
        ):
            # `tempfile._os.system(...)`: an allowed module's private imports reach forbidden ones
            problems.append(Problem(node.lineno, f"private module attribute '{node.attr}' is not allowed"))
        elif isinstance(node, ast.Name) and node.id in DENIED_NAMES:
            problems.append(Problem(node.lineno, f"'{node.id}' is not allowed"))
        elif isinstance(node, ast.Attribute) and _dunder(node.attr) and node.attr not in ALLOWED_DUNDERS:
            problems.append(Problem(node.lineno, f"attribute '{node.attr}' is not allowed"))
        elif isinstance(node, ast.Call):
            _check_call(node, temp_names, problems)
    problems.extend(_check_shape(tree))
    return sorted(set(problems), key=lambda p: (p.line, p.message))


def public_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """Module-level functions not starting with '_': what the loader turns into tools."""
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def _check_module(name: str, line: int, allowed: set[str], problems: list[Problem]) -> None:
    top = name.split(".")[0]
    if top in DENIED_MODULES:
        problems.append(Problem(line, f"import of '{name}' is forbidden in a distilled tool"))
    elif top not in allowed and name not in allowed:
        shown = ", ".join(sorted(allowed)) or "nothing"
        problems.append(Problem(line, f"import of '{name}' is outside the allow-list ({shown})"))


def _check_call(node: ast.Call, temp_names: set[str], problems: list[Problem]) -> None:
    func = node.func
    for arg in [*node.args, *(k.value for k in node.keywords)]:
        # `operator.attrgetter("__globals__")` and friends: dunder names passed as text
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            hidden = set(_DUNDER_TEXT.findall(arg.value)) - ALLOWED_DUNDERS
            if hidden:
                problems.append(Problem(node.lineno, f"'{sorted(hidden)[0]}' is not allowed, even as text"))
    if isinstance(func, ast.Name) and func.id in DENIED_CALLS:
        problems.append(Problem(node.lineno, f"call to '{func.id}' is not allowed"))
    elif isinstance(func, ast.Name) and func.id in {"getattr", "setattr", "delattr", "hasattr"}:
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            problems.append(Problem(node.lineno, f"'{func.id}' needs a literal attribute name"))
        elif _dunder(name.value) and name.value not in ALLOWED_DUNDERS:
            problems.append(Problem(node.lineno, f"'{func.id}' of '{name.value}' is not allowed"))
    elif isinstance(func, ast.Name) and func.id == "open":
        mode = node.args[1] if len(node.args) > 1 else _keyword(node, "mode")
        if mode is None:
            return
        if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
            problems.append(Problem(node.lineno, "open() needs a literal mode"))
        elif _WRITE_MODE_CHARS & set(mode.value) and not _from_temp(node.args[:1], temp_names):
            problems.append(Problem(node.lineno, "file writes are allowed only under a tempfile directory"))
    elif (
        isinstance(func, ast.Attribute)
        and func.attr in WRITE_METHODS
        and not _from_temp([func.value], temp_names)
    ):
        problems.append(Problem(node.lineno, f"'.{func.attr}()' works only under a tempfile directory"))


def _check_shape(tree: ast.Module) -> list[Problem]:
    """One public function per module: the box exposes it as the tool."""
    functions = public_functions(tree)
    if len(functions) != 1:
        names = ", ".join(f.name for f in functions) or "none"
        return [Problem(1, f"define exactly one public function (helpers start with '_'); found: {names}")]
    fn = functions[0]
    problems = []
    if ast.get_docstring(fn) is None:
        problems.append(Problem(fn.lineno, f"function '{fn.name}' needs a docstring"))
    args = fn.args
    if args.vararg or args.kwarg:
        problems.append(Problem(fn.lineno, "*args/**kwargs are not allowed: list the parameters"))
    missing = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.annotation is None]
    if missing:
        problems.append(Problem(fn.lineno, f"parameters without type hints: {', '.join(missing)}"))
    if fn.returns is None:
        problems.append(Problem(fn.lineno, f"function '{fn.name}' needs a return type hint"))
    return problems


def _tempfile_names(tree: ast.Module) -> set[str]:
    """Names bound (directly or through other such names) to something made by `tempfile`."""
    names: set[str] = set()
    bindings: list[tuple[list[ast.expr], ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            bindings.append((node.targets, node.value))
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
            bindings.append(([node.target], node.value))
        elif isinstance(node, ast.With):
            bindings.extend(([i.optional_vars], i.context_expr) for i in node.items if i.optional_vars)
    changed = True
    while changed:
        changed = False
        for targets, value in bindings:
            if not _from_temp([value], names):
                continue
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name) and leaf.id not in names:
                        names.add(leaf.id)
                        changed = True
    return names


def _from_temp(exprs: list[ast.expr], temp_names: set[str]) -> bool:
    for expr in exprs:
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and node.id in temp_names:
                return True
            base = node.value if isinstance(node, ast.Attribute) else None
            if isinstance(base, ast.Name) and base.id == "tempfile":
                return True
    return False


def _root_name(node: ast.Attribute) -> str | None:
    value: ast.expr = node.value
    while isinstance(value, ast.Attribute):
        value = value.value
    return value.id if isinstance(value, ast.Name) else None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")
