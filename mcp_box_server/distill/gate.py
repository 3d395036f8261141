"""The static gate: teacher code is read, never run, before it reaches a worker.

The kernel sandbox of a sandboxed worker is the boundary, and candidates run in it
during validation whatever this gate says. The gate is a filter: it rejects obviously
unsafe or out-of-policy code with a precise reason the teacher can fix, and keeps a box
from shipping code that imports outside its declared allow-list. It is conservative:
attribute names it cannot read (computed `getattr`, `attrgetter`, format templates)
are refused, and file writes are allowed only to paths derived from `tempfile`, which
puts them in the worker's own temp directory.
"""

from __future__ import annotations

import _string
import ast
import re
import string
import types
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_ALLOW_IMPORTS = (
    "math", "cmath", "fractions", "decimal", "statistics", "itertools", "functools", "operator",
    "collections", "heapq", "bisect", "re", "string", "datetime", "calendar", "json", "typing",
    "dataclasses", "enum", "random", "tempfile",
)  # fmt: skip
# Never importable, whatever a box declares: process, network, interpreter escape hatches.
DENIED_MODULES = frozenset({
    "os", "sys", "subprocess", "socket", "ssl", "select", "selectors", "asyncio", "ctypes", "cffi",
    "importlib", "imp", "multiprocessing", "threading", "_thread", "concurrent", "signal", "pty", "shutil",
    "builtins", "http", "urllib", "urllib3", "requests", "httpx", "ftplib", "smtplib", "telnetlib",
    "poplib", "imaplib", "xmlrpc", "socketserver", "webbrowser", "pickle", "marshal", "shelve", "code",
    "codeop", "runpy", "gc", "inspect", "pdb", "resource", "mmap", "fcntl", "posix", "types",
})  # fmt: skip
# Escape hatches that allowed modules import under their public name (`fractions.sys`, `typing.sys`,
# `dataclasses.inspect`, `typing.types.CodeType`, `json.codecs.open`); words like `select` or
# `signal` stay usable as library attributes.
REACHABLE_MODULES = frozenset(
    {"os", "sys", "subprocess", "ctypes", "importlib", "builtins", "socket", "shutil", "pickle", "marshal",
     "multiprocessing", "threading", "_thread", "gc", "inspect", "runpy", "posix", "pty", "types", "codecs"}
)  # fmt: skip
DENIED_CALLS = frozenset({"eval", "exec", "compile", "__import__", "breakpoint", "input", "globals", "locals",
                          "vars", "exit", "quit", "help"})  # fmt: skip
# Names that only reach the interpreter's internals; a tool has no business with them.
DENIED_NAMES = frozenset({"__builtins__", "__loader__", "__spec__"})
ALLOWED_DUNDERS = frozenset({"__name__", "__doc__", "__init__", "__len__", "__all__"})
WRITE_METHODS = frozenset({"write_text", "write_bytes", "touch", "unlink", "rmdir", "mkdir", "symlink_to"})
# Frame, code, traceback, generator and coroutine attributes lead to globals, builtins and
# bytecode, around every other check: `(i for i in [0]).gi_frame.f_builtins["__import__"]`.
_INTERNAL_KINDS = (types.FrameType, types.CodeType, types.TracebackType, types.GeneratorType,
                   types.CoroutineType, types.AsyncGeneratorType)  # fmt: skip
INTERNAL_ATTRS = frozenset(
    {"f_back", "f_builtins", "f_globals", "f_locals", "f_generator", "tb_frame", "gi_frame", "co_code"}
    | {n for kind in _INTERNAL_KINDS for n in dir(kind) if re.fullmatch(r"(f|gi|cr|ag|tb|co)_\w+", n)}
)  # fmt: skip
# Callables that fetch attributes by name: the gate reads their names only at a direct call.
NAMED_GETTERS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
OPERATOR_GETTERS = frozenset({"attrgetter", "methodcaller"})
FORMAT_METHODS = frozenset({"format", "format_map"})
# `string.Formatter().get_field("0.__globals__", ...)` walks attributes with no template at all;
# `get_field` alone is also a sympy domain method, so the class is what is refused.
FORMATTER_ATTRS = frozenset({"Formatter", "vformat"})
# Names a getter may not fetch either: the gate could not check their use afterwards.
GUARDED_NAMES = (NAMED_GETTERS | OPERATOR_GETTERS | FORMAT_METHODS | FORMATTER_ATTRS | DENIED_CALLS
                 | {"get_field"})  # fmt: skip
_WRITE_MODE_CHARS = set("wax+")
_DUNDER_TEXT = re.compile(r"__\w+?__")
_FORMATTER = "(string.Formatter) is not allowed: it reads fields by name"
# The parts of an expression whose value it may be: `[m][0]` may be `m`, `f(m)` is not followed.
_HOLDERS: dict[type, tuple[str, ...]] = {
    ast.Attribute: ("value",), ast.Subscript: ("value",), ast.Starred: ("value",), ast.NamedExpr: ("value",),
    ast.IfExp: ("body", "orelse"), ast.BoolOp: ("values",), ast.Dict: ("values",), ast.List: ("elts",),
    ast.Tuple: ("elts",), ast.Set: ("elts",),
}  # fmt: skip
_MAX_FOLDED = 64  # most values (and 16 times that in characters) a folded string may have


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class _Module:
    """What the whole module says about its names, for checks that look at one node."""

    imported: set[str]  # names bound to imports, and plain copies of them (`m = tempfile`)
    aliases: dict[str, str]  # local name -> where it came from: 'ag' -> 'operator.attrgetter'
    bound: Counter[str]  # how often each name is bound in the module
    getters: set[str]  # names that may hold an attrgetter or methodcaller
    literals: dict[str, frozenset[str]]  # names only ever bound to string literals
    temp_names: set[str]
    calls: dict[int, ast.Call]  # id(callee) -> its call


def check_source(source: str, allow_imports: tuple[str, ...] = DEFAULT_ALLOW_IMPORTS) -> list[Problem]:
    """Every reason `source` may not become a tool module; empty when it passes."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [Problem(exc.lineno or 0, f"syntax error: {exc.msg}")]
    problems: list[Problem] = []
    allowed = {name for name in allow_imports if name.split(".")[0] not in DENIED_MODULES}
    module = _read_module(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                _check_module(alias.name, node.lineno, allowed, problems)
        elif isinstance(node, ast.ImportFrom):
            _check_import_from(node, allowed, problems)
        elif isinstance(node, ast.Attribute):
            _check_attribute(node, module, problems)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            _check_name(node, module, problems)
        elif isinstance(node, ast.Call):
            _check_call(node, module, problems)
        elif isinstance(node, ast.MatchClass):
            # `case object(__globals__=g)` is getattr(subject, "__globals__")
            for attr in node.kwd_attrs:
                if what := _refused_name(attr, strict=True):
                    problems.append(Problem(node.lineno, f"match pattern on {what} is not allowed"))
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


def _check_import_from(node: ast.ImportFrom, allowed: set[str], problems: list[Problem]) -> None:
    if node.module == "__future__" and not node.level:
        return  # compiler directives (`annotations`), which teachers write often
    if node.level:
        problems.append(Problem(node.lineno, "relative imports are not allowed"))
    else:
        _check_module(node.module or "", node.lineno, allowed, problems)
    for alias in node.names:
        if alias.name.startswith("_"):
            problems.append(Problem(node.lineno, f"importing private name '{alias.name}' is not allowed"))
        elif alias.name in REACHABLE_MODULES or alias.name == "Formatter":
            why = f"importing '{alias.name}' from '{node.module}' is forbidden"
            problems.append(Problem(node.lineno, why))


def _refused_name(name: str, *, strict: bool) -> str | None:
    """Why attribute `name` may not be reached, as a phrase, or None. `strict`: for names seen as
    text (getattr, format fields, match), where a module cannot be told from a value."""
    if name in INTERNAL_ATTRS:
        return f"frame, code or generator attribute '{name}'"
    if _dunder(name):
        return None if name in ALLOWED_DUNDERS else f"attribute '{name}'"
    if not strict:
        return None
    if name.startswith("_"):
        return f"private attribute '{name}'"
    if name in REACHABLE_MODULES:
        return f"module '{name}'"
    if name in GUARDED_NAMES:
        return f"'{name}'"
    return None


def _check_attribute(node: ast.Attribute, module: _Module, problems: list[Problem]) -> None:
    attr, line = node.attr, node.lineno
    on_import = _holds(node.value, module.imported)
    if what := _refused_name(attr, strict=False):
        problems.append(Problem(line, f"{what} is not allowed"))
    elif attr.startswith("_") and not _dunder(attr) and on_import:
        # `tempfile._os.system(...)`: an allowed module's private imports reach forbidden ones
        problems.append(Problem(line, f"private module attribute '{attr}' is not allowed"))
    elif attr in REACHABLE_MODULES and on_import:
        problems.append(Problem(line, f"module '{attr}' reached through an import is forbidden"))
    elif attr in FORMATTER_ATTRS:
        problems.append(Problem(line, f"'{attr}' {_FORMATTER}"))
    elif attr in OPERATOR_GETTERS and id(node) not in module.calls:
        problems.append(Problem(line, f"'{attr}' may only be called directly, with literal names"))
    elif attr in FORMAT_METHODS and isinstance(node.ctx, ast.Load):
        _check_format(node, module, problems)


def _check_name(node: ast.Name, module: _Module, problems: list[Problem]) -> None:
    origin = module.aliases.get(node.id, node.id)
    short = origin.rsplit(".", 1)[-1]
    if node.id in DENIED_NAMES:
        problems.append(Problem(node.lineno, f"'{node.id}' is not allowed"))
    elif origin == "string.Formatter":
        problems.append(Problem(node.lineno, f"'Formatter' {_FORMATTER}"))
    elif id(node) in module.calls:
        return  # a direct call: _check_call reads it
    elif origin in DENIED_CALLS and node.id not in module.bound:  # `f = eval`, `map(eval, ...)`
        problems.append(Problem(node.lineno, f"'{origin}' is not allowed"))
    elif origin in NAMED_GETTERS or short in OPERATOR_GETTERS:
        # `g = getattr`, `map(getattr, ...)`, `partial(attrgetter, ...)`: names the gate never sees
        problems.append(Problem(node.lineno, f"'{short}' may only be called directly, with literal names"))


def _check_call(node: ast.Call, module: _Module, problems: list[Problem]) -> None:
    func, line = node.func, node.lineno
    for arg in [*node.args, *(k.value for k in node.keywords)]:
        # `operator.attrgetter("__globals__")` and friends: dunder names passed as text
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            hidden = set(_DUNDER_TEXT.findall(arg.value)) - ALLOWED_DUNDERS
            if hidden:
                problems.append(Problem(line, f"'{sorted(hidden)[0]}' is not allowed, even as text"))
    origin = _origin(func, module) or ""
    short = origin.rsplit(".", 1)[-1]
    if isinstance(func, ast.Name) and func.id in DENIED_CALLS:
        problems.append(Problem(line, f"call to '{func.id}' is not allowed"))
    elif origin in NAMED_GETTERS:
        names = _fold(node.args[1], module.literals) if len(node.args) > 1 else None
        _check_names(short, names, "a literal attribute name", line, problems)
    elif short == "attrgetter":
        folded = [_fold(a, module.literals) for a in node.args]
        names = None if not folded or None in folded or node.keywords else frozenset().union(*folded)
        parts = None if names is None else frozenset(p for n in names for p in n.split("."))
        _check_names(short, parts, "literal attribute names", line, problems)
    elif short == "methodcaller":
        names = _fold(node.args[0], module.literals) if node.args else None
        _check_names(short, names, "a literal method name", line, problems)
    elif origin == "type" and len(node.args) == 1 and _holds(node.args[0], module.getters, getters=True):
        # `type(attrgetter("real"))("_os")` builds a getter the gate never sees the name of
        problems.append(Problem(line, "'type' of an attrgetter or methodcaller is not allowed"))
    elif isinstance(func, ast.Name) and func.id == "open":
        mode = _arg(node, 1, "mode")
        if mode is None:
            return
        if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
            problems.append(Problem(line, "open() needs a literal mode"))
        elif _WRITE_MODE_CHARS & set(mode.value) and not _from_temp(_arg(node, 0, "file"), module.temp_names):
            problems.append(Problem(line, "file writes are allowed only under a tempfile directory"))
    elif (
        isinstance(func, ast.Attribute)
        and func.attr in WRITE_METHODS
        and not _from_temp(func.value, module.temp_names)
    ):
        problems.append(Problem(line, f"'.{func.attr}()' works only under a tempfile directory"))


def _check_names(fn: str, names: frozenset[str] | None, needs: str, line: int, out: list[Problem]) -> None:
    if names is None:
        out.append(Problem(line, f"'{fn}' needs {needs}"))
    for name in sorted(names or ()):
        if what := _refused_name(name, strict=True):
            out.append(Problem(line, f"'{fn}' of {what} is not allowed"))


def _check_format(node: ast.Attribute, module: _Module, problems: list[Problem]) -> None:
    """`"{0.__dict__[_os]}".format(tempfile)`: a template's fields are attribute access."""
    call = module.calls.get(id(node))
    args, keywords = (call.args, call.keywords) if call else ([], [])
    template: ast.expr | None = node.value
    if isinstance(node.value, ast.Name) and node.value.id == "str":  # str.format(template, ...)
        template, args = (args[0], args[1:]) if args else (None, [])
    templates = _fold(template, module.literals) if template is not None else None
    if templates is not None:
        problems.extend(Problem(node.lineno, why) for t in sorted(templates) if (why := _template_problem(t)))
        return
    # a computed receiver may be another type's method (Biopython's `record.format("fasta")`);
    # with only literal arguments, no field can reach anything but those literals
    constants = all(isinstance(a, ast.Constant) for a in [*args, *(k.value for k in keywords)])
    if call is None or template is not node.value or not constants:
        why = f"'.{node.attr}' needs a literal template (its fields read attributes); use an f-string"
        problems.append(Problem(node.lineno, why))


def _template_problem(template: str) -> str | None:
    """Why a format template may not be used, naming the field, or None."""
    pending = [template]
    try:
        while pending:
            for _, name, spec, _ in string.Formatter().parse(pending.pop()):
                pending.append(spec or "")  # fields nested in a spec: `{0:{1.x}}`
                for is_attr, key in _string.formatter_field_name_split(name or "")[1]:
                    what = _refused_name(str(key), strict=True) if is_attr or _dunder(str(key)) else None
                    if what:
                        return f"format field '{{{name}}}' reaches {what}: use an f-string"
    except ValueError as exc:
        return f"format template does not parse: {exc}"
    return None


def _fold(expr: ast.expr, literals: dict[str, frozenset[str]]) -> frozenset[str] | None:
    """Every value a string expression can have when the gate can tell (literals, +, *, if-else)."""
    if isinstance(expr, ast.Constant):
        return frozenset({expr.value}) if isinstance(expr.value, str) else None
    if isinstance(expr, ast.Name):
        return literals.get(expr.id)
    if isinstance(expr, ast.IfExp):  # `"{} root" if n == 1 else "{} roots"`
        body, orelse = _fold(expr.body, literals), _fold(expr.orelse, literals)
        return body | orelse if body is not None and orelse is not None else None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = _fold(expr.left, literals), _fold(expr.right, literals)
        if left is not None and right is not None and len(left) * len(right) <= _MAX_FOLDED:
            return frozenset(a + b for a in left for b in right)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        for text, count in ((expr.left, expr.right), (expr.right, expr.left)):
            values = _fold(text, literals)
            if values is not None and isinstance(count, ast.Constant) and type(count.value) is int:
                long = any(len(v) * count.value > _MAX_FOLDED * 16 for v in values)
                return None if long else frozenset(v * count.value for v in values)
    return None


def _read_module(tree: ast.Module) -> _Module:
    aliases: dict[str, str] = {}  # local name -> what it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                        for a in node.names}  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:  # `*`: the guarded names it may bring in, under their own names
                names = OPERATOR_GETTERS | {"Formatter"} if alias.name == "*" else {alias.name}
                aliases |= {alias.asname or n: f"{node.module}.{n}" for n in names}
    # `m = tempfile; m._os`, `m = [tempfile][0]`: names that may hold a module (not call results)
    imported = _spread(tree, set(aliases), _holds, deep=False)
    calls = {id(n.func): n for n in ast.walk(tree) if isinstance(n, ast.Call)}
    bound, literals = _bindings(tree)
    getters = {name for name, origin in aliases.items() if origin.rsplit(".", 1)[-1] in OPERATOR_GETTERS}
    getters = _spread(
        tree, getters | OPERATOR_GETTERS, lambda value, names: _holds(value, names, getters=True)
    )
    temp_names = _spread(tree, set(), _from_temp)
    return _Module(imported, aliases, bound, getters, literals, temp_names, calls)


def _bindings(tree: ast.Module) -> tuple[Counter[str], dict[str, frozenset[str]]]:
    """How often each name is bound (assignments, loops, parameters, defs, imports, except, match),
    and the names bound only by `NAME = <string literal>`, with the values they can hold."""
    bound: Counter[str] = Counter()
    assigned: Counter[str] = Counter()
    values: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound[node.id] += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)  # bound in another scope too
        elif isinstance(node, ast.alias):
            bound[node.asname or node.name.split(".")[0]] += 1
        elif not isinstance(node, ast.keyword):
            bound.update(
                n for key in ("arg", "name", "rest") if isinstance(n := getattr(node, key, None), str)
            )
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            folded = _fold(node.value, {})
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets if folded is not None else []:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, set()).update(folded or ())
                    assigned[target.id] += 1
    return bound, {name: frozenset(v) for name, v in values.items() if assigned[name] == bound[name]}


def _origin(expr: ast.expr, module: _Module) -> str | None:
    """Dotted origin of a name or attribute chain: `op.attrgetter` -> 'operator.attrgetter'."""
    if isinstance(expr, ast.Name):
        return module.aliases.get(expr.id, expr.id)
    if isinstance(expr, ast.Attribute):
        base = _origin(expr.value, module)
        return f"{base}.{expr.attr}" if base else None
    return None


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


def _spread(
    tree: ast.Module, names: set[str], reaches: Callable[[ast.expr, set[str]], bool], *, deep: bool = True
) -> set[str]:
    """`names`, and every name bound (directly or through such names) to a value that reaches them.
    `deep`: `self.d = tempfile.mkdtemp()` counts for `self` too (file writes under tempfile)."""
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
            if not reaches(value, names):
                continue
            for target in targets:
                for leaf in ast.walk(target) if deep else [target]:
                    if isinstance(leaf, ast.Name) and leaf.id not in names:
                        names.add(leaf.id)
                        changed = True
    return names


def _from_temp(expr: ast.expr | None, temp_names: set[str]) -> bool:
    """Whether `expr` is built from a tempfile path (a name bound to one, or `tempfile.<x>`)."""
    for node in ast.walk(expr) if expr is not None else []:
        if isinstance(node, ast.Name) and node.id in temp_names:
            return True
        base = node.value if isinstance(node, ast.Attribute) else None
        if isinstance(base, ast.Name) and base.id == "tempfile":
            return True
    return False


def _holds(expr: ast.expr, names: set[str], *, getters: bool = False) -> bool:
    """Whether `expr` may evaluate to what `names` hold: `m`, `m.sub`, `[m][0]`, `a or m`.

    `getters`: names hold attrgetters or methodcallers, and so may `attrgetter(...)` and calls of them.
    """
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Attribute) and getters and expr.attr in OPERATOR_GETTERS:
        return True
    fields = ("func",) if getters and isinstance(expr, ast.Call) else _HOLDERS.get(type(expr), ())
    values = [getattr(expr, f) for f in fields]
    kids = [kid for v in values for kid in (v if isinstance(v, list) else [v])]
    return any(isinstance(kid, ast.expr) and _holds(kid, names, getters=getters) for kid in kids)


def _arg(node: ast.Call, index: int, name: str) -> ast.expr | None:
    """A call's argument by position or keyword."""
    if len(node.args) > index:
        return node.args[index]
    return next((k.value for k in node.keywords if k.arg == name), None)


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")
