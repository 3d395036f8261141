"""Safe parsing of expressions as models write them, and JSON-friendly results.

Input like `2^3`, `3x`, `2(x+1)`, `\\frac{1}{2}`, `√2`, `π`, `×`, `÷` and a unicode
minus is rewritten to sympy syntax, screened for anything that is not maths
(dunder names, attribute access, keywords, quotes, brackets), then parsed by
sympy's `parse_expr` against a whitelist namespace with no builtins. Raw input
never reaches `eval` unscreened.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    rationalize,
    standard_transformations,
)

MAX_LENGTH = 1000
# rationalize: 0.1 is read as 1/10, so decimals from a word problem stay exact
TRANSFORMS = (*standard_transformations, implicit_multiplication_application, convert_xor, rationalize)

_FORBIDDEN_WORDS = re.compile(
    r"\b(lambda|import|exec|eval|compile|open|globals|locals|getattr|setattr|delattr|vars|"
    r"class|def|for|while|with|yield|await|async|del|global|nonlocal|raise|try|assert|"
    r"input|print|breakpoint|help|dir|type|object|super|sympify|Symbol|Function)\b"
)
_FORBIDDEN_CHARS = set("'\"`;:@$#?[]{}\\&|~")
_ATTRIBUTE = re.compile(r"\.\s*[A-Za-z_]")

_UNICODE = {
    "×": "*", "·": "*", "⋅": "*", "∙": "*", "÷": "/", "−": "-", "–": "-", "—": "-",
    "π": "pi", "∞": "oo", "²": "**2", "³": "**3", "⁴": "**4", "√": "sqrt", "∛": "cbrt",
    "θ": "theta", "α": "alpha", "β": "beta", "λ": "lamda", "μ": "mu", "σ": "sigma",
    "≤": "<=", "≥": ">=",
}  # fmt: skip
_LATEX_WORDS = {
    r"\cdot": "*", r"\times": "*", r"\div": "/", r"\left": "", r"\right": "", r"\pi": "pi",
    r"\infty": "oo", r"\ln": "log", r"\log": "log", r"\exp": "exp", r"\sin": "sin", r"\cos": "cos",
    r"\tan": "tan", r"\arcsin": "asin", r"\arccos": "acos", r"\arctan": "atan", r"\theta": "theta",
    r"\alpha": "alpha", r"\beta": "beta", r"\le": "<=", r"\ge": ">=", r"\,": " ", r"\!": "",
}  # fmt: skip
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_ROOT = re.compile(r"\\sqrt\s*\[([^\[\]]*)\]\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_SQRT_BARE = re.compile(r"sqrt\s*(\d+(?:\.\d+)?|[A-Za-z])(?![A-Za-z(])")


def _log10(x: Any) -> sp.Expr:
    return sp.log(x, 10)


def _log2(x: Any) -> sp.Expr:
    return sp.log(x, 2)


def _times(name: str) -> Any:
    """What `x(...)` means for an unknown name x: a product, as in 3x(x+1), never a function call."""

    def product(*args: Any) -> sp.Expr:
        if len(args) != 1:
            raise ValueError(f"'{name}' is not a known function")
        return sp.Symbol(name) * args[0]

    return product


def _namespace() -> dict[str, Any]:
    names = (  # noqa: SIM905 - one readable block of names
        "sqrt cbrt root exp log sin cos tan cot sec csc asin acos atan atan2 acot sinh cosh tanh "
        "asinh acosh atanh floor ceiling factorial binomial gamma Abs sign re im conjugate arg "
        "Integer Float Rational pi E I oo zoo nan Min Max Mod gcd lcm erf"
    ).split()
    space: dict[str, Any] = {name: getattr(sp, name) for name in names}
    space |= {
        "__builtins__": {},
        "Symbol": sp.Symbol,  # parse_expr's auto_symbol emits Symbol('x') for unknown names
        "Function": _times,  # ... and Function('x') for an unknown name before "("
        "e": sp.E,
        "ln": sp.log,
        "log10": _log10,
        "log2": _log2,
        "abs": sp.Abs,
        "arcsin": sp.asin,
        "arccos": sp.acos,
        "arctan": sp.atan,
        "ceil": sp.ceiling,
        "inf": sp.oo,
        "infinity": sp.oo,
        "choose": sp.binomial,
        "nCr": sp.binomial,
        "mod": sp.Mod,
    }
    return space


NAMESPACE = _namespace()


def normalise(text: str) -> str:
    """Rewrite LaTeX and unicode maths into sympy syntax (before screening)."""
    out = text.strip().strip("$").strip()
    for pattern, replacement in ((_FRAC, r"((\1)/(\2))"), (_ROOT, r"root(\2, \1)"), (_SQRT, r"sqrt(\1)")):
        while True:
            new = pattern.sub(replacement, out)
            if new == out:
                break
            out = new
    for latex in sorted(_LATEX_WORDS, key=len, reverse=True):
        out = re.sub(re.escape(latex) + r"(?![A-Za-z])", lambda _m, r=_LATEX_WORDS[latex]: r, out)
    out = "".join(_UNICODE.get(char, char) for char in out)
    out = out.replace("{", "(").replace("}", ")").replace("[", "(").replace("]", ")")
    return _SQRT_BARE.sub(r"sqrt(\1)", out)


def screen(text: str, original: str) -> None:
    """Reject anything that is not a maths expression, before sympy sees it."""
    if len(original) > MAX_LENGTH:
        raise ValueError(f"expression is too long ({len(original)} characters, at most {MAX_LENGTH})")
    if not text.strip():
        raise ValueError("the expression is empty")
    if "__" in text:
        raise ValueError(f"could not parse expression '{original}': '__' is not allowed")
    bad = sorted(set(text) & _FORBIDDEN_CHARS)
    if bad:
        raise ValueError(f"could not parse expression '{original}': character {bad[0]!r} is not allowed")
    if _ATTRIBUTE.search(text):
        raise ValueError(f"could not parse expression '{original}': attribute access is not allowed")
    word = _FORBIDDEN_WORDS.search(text)
    if word:
        raise ValueError(f"could not parse expression '{original}': '{word.group(0)}' is not allowed")


def parse(text: str, what: str = "expression") -> sp.Expr:
    """Parse one expression (no '='); ValueError("could not parse expression ...") on failure."""
    if not isinstance(text, str):
        text = str(text)
    source = normalise(text)
    screen(source, text)
    if re.search(r"(?<![<>!=])=(?!=)|==|<|>", source):
        raise ValueError(f"{what} '{text}' must not contain '=', '<' or '>' here")
    try:
        expr = parse_expr(source, local_dict={}, global_dict=dict(NAMESPACE), transformations=TRANSFORMS)
    except Exception as exc:  # SyntaxError, TypeError, TokenError... all mean "not an expression"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "EOF" in reason or "unexpected EOF" in reason:
            reason = "unbalanced parentheses or an unfinished expression"
        raise ValueError(f"could not parse expression '{text}': {reason}") from None
    if not isinstance(expr, sp.Basic):
        expr = sp.sympify(expr)
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"could not parse expression '{text}': not a mathematical expression")
    return expr


def parse_equation(text: str) -> sp.Expr:
    """'2x + 3 = 7' (or '==', or no '=' meaning '= 0') as the expression lhs - rhs."""
    source = normalise(text)
    screen(source, text)
    parts = re.split(r"==|(?<![<>!])=", source)
    if len(parts) > 2:
        raise ValueError(f"equation '{text}' has more than one '='")
    if re.search(r"[<>]", source):
        raise ValueError(f"'{text}' is an inequality; give an equation with '='")
    if len(parts) == 1:
        return parse(parts[0])
    return parse(parts[0]) - parse(parts[1])


def symbol(name: str | None, expr: sp.Basic | None = None, what: str = "variable") -> sp.Symbol:
    """The variable to work in: the named one, or the only free symbol of `expr`."""
    if name:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,20}", name.strip()):
            raise ValueError(f"{what} '{name}' is not a valid variable name")
        return sp.Symbol(name.strip())
    free = sorted(expr.free_symbols, key=str) if expr is not None else []
    if len(free) == 1:
        return free[0]
    if not free:
        return sp.Symbol("x")
    names = ", ".join(str(s) for s in free)
    raise ValueError(f"the expression has several variables ({names}); say which one with '{what}'")


def number(value: sp.Basic) -> int | float | str:
    """A JSON number for an exact sympy value: int when whole, float when real, text otherwise."""
    value = sp.sympify(value)
    if value.is_Integer:
        return int(value)
    if value.is_number:
        numeric = sp.N(value, 17)
        if numeric.is_real:
            return float(numeric)
        if numeric.is_finite:
            return sp.sstr(sp.N(value, 15))
    return str(value)


def text(value: sp.Basic) -> str:
    """The exact value as sympy text, e.g. '2*sqrt(2)', 'x**2 + 1'."""
    return sp.sstr(value)


def matrix(rows: list[list[int | float | str]], what: str = "matrix") -> sp.Matrix:
    """A sympy Matrix from rows of numbers or expression strings (floats read exactly)."""
    if not rows or not all(isinstance(r, list) and r for r in rows):
        raise ValueError(f"{what} must be a non-empty list of non-empty rows, e.g. [[1, 2], [3, 4]]")
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{what} row {index + 1} has {len(row)} entries, row 1 has {width}")
    return sp.Matrix([[scalar(entry) for entry in row] for row in rows])


def scalar(value: int | float | str) -> sp.Expr:
    """An exact sympy number or expression from 3, 0.25 (read as 1/4) or '1/3'."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        return sp.Rational(repr(value)) if abs(value) < 1e15 else sp.Float(value)
    return parse(value)
