"""One-line tool cards: what a small model (or a person) reads to pick and call a tool.

A card is the exposed name, the typed signature, the docstring summary and what
each parameter means (from the docstring's `Args:`), on one line. The README of
an emitted box lists one per tool; the teacher groups tools by their cards.
"""

from __future__ import annotations

import ast
import re

_ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?)\s*:\s*$"
)


def function_node(source: str, function: str) -> ast.FunctionDef:
    return next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == function)


def summary(fn: ast.FunctionDef) -> str:
    """The docstring's first line."""
    lines = (ast.get_docstring(fn) or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def arg_docs(docstring: str) -> dict[str, str]:
    """Parameter name -> description, from a Google-style `Args:` section (continuations joined)."""
    docs: dict[str, str] = {}
    section, current, indent = None, None, None
    for line in docstring.splitlines():
        if header := _SECTION.match(line):
            section, current, indent = header.group(1), None, None
            continue
        if section not in ("Args", "Arguments", "Parameters") or not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        match = _ARG.match(line)
        if match and (indent is None or depth <= indent):
            indent, current = depth, match.group(1).lstrip("*")
            docs[current] = match.group(2).strip()
        elif current is not None:
            docs[current] = f"{docs[current]} {line.strip()}"
    return docs


def signature(fn: ast.FunctionDef) -> str:
    """`(a: float, unit: str = 'km') -> float`, as written."""
    args = fn.args
    positional = args.posonlyargs + args.args
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = []
    for arg, default in [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]:
        text = arg.arg + (f": {ast.unparse(arg.annotation)}" if arg.annotation else "")
        parts.append(text + (f" = {ast.unparse(default)}" if default is not None else ""))
    returns = f" -> {ast.unparse(fn.returns)}" if fn.returns else ""
    return f"({', '.join(parts)}){returns}"


def card(name: str, source: str, function: str) -> str:
    """`` `name(a: float) -> float`: Summary. a: what it is. ``, on one line."""
    fn = function_node(source, function)
    docs = arg_docs(ast.get_docstring(fn) or "")
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
    described = "; ".join(f"`{p}`: {docs[p].rstrip('.')}" for p in params if docs.get(p))
    text = f"`{name}{signature(fn)}`: {summary(fn)}"
    return f"{text} {described}." if described else text
