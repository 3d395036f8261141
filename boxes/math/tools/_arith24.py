"""Exact engine behind the Game of 24 tools: safe arithmetic parsing and the solver.

Pure `fractions.Fraction` arithmetic (no sympy): the solver must answer in well
under 10 ms per 4-number puzzle. Values reachable from a multiset of numbers are
memoised on the multiset, so puzzles sharing sub-multisets share work.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from fractions import Fraction
from itertools import combinations

MAX_NUMBERS = 6
MAX_ALL_SOLUTIONS_NUMBERS = 5
MAX_SOLUTIONS = 200
MAX_EXPRESSION_LENGTH = 500

Multiset = tuple[Fraction, ...]
# How a value was first reached: None for a leaf, else (op, left value, left multiset,
# right value, right multiset) with op one of + - * /.
Recipe = tuple[str, Fraction, Multiset, Fraction, Multiset] | None

_SYMBOLS = {
    "×": "*",
    "x": "*",
    "X": "*",
    "·": "*",
    "⋅": "*",
    "∙": "*",
    "÷": "/",
    "−": "-",
    "–": "-",
    "—": "-",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
}
_LATEX = {r"\times": "*", r"\cdot": "*", r"\div": "/", r"\left": "", r"\right": ""}
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


# --- numbers ---------------------------------------------------------------------


def to_fraction(value: int | float | str, what: str = "number") -> Fraction:
    """An exact Fraction from 8, 0.5, '3/4' or '1.25' (floats through their decimal text)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        if isinstance(value, float):
            return Fraction(repr(value))
        if isinstance(value, str):
            text = value.strip().replace("−", "-").replace(" ", "")
            return Fraction(text)
        return Fraction(value)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ValueError(f"{what} {value!r} is not a finite number (use e.g. 8, 0.5 or '3/4')") from None


def show_number(value: Fraction) -> str:
    """'8', '-3', '3/4': the plain text of an exact number."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def json_number(value: Fraction) -> int | float:
    """An int when exact, else the nearest float (the exact text goes in another field)."""
    return value.numerator if value.denominator == 1 else float(value)


def decimal_text(value: Fraction) -> str:
    """'8', '-2.5', '0.125': exact decimal text; ValueError when the decimal never ends."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise ValueError(f"{show_number(value)} has no finite decimal form")
    places = max(twos, fives)
    if places == 0:
        return str(value.numerator)
    scaled = abs(value.numerator) * (10**places // value.denominator)
    whole, frac = divmod(scaled, 10**places)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{str(frac).rjust(places, '0').rstrip('0')}"


# --- safe parsing of an arithmetic expression --------------------------------------------


def normalise(expression: str) -> str:
    """Map the ways people write + - * / (×, x, ÷, \\cdot, \\frac{a}{b}, [ ]) onto Python syntax."""
    text = expression.strip().strip("$")
    while True:
        replaced = _FRAC.sub(r"((\1)/(\2))", text)
        if replaced == text:
            break
        text = replaced
    for latex, plain in _LATEX.items():
        text = text.replace(latex, plain)
    return "".join(_SYMBOLS.get(char, char) for char in text)


def parse_arithmetic(expression: str) -> tuple[ast.expr, str]:
    """Parse numbers, + - * / and parentheses only (tree and normalised text); else ValueError."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ValueError(
            f"expression is too long ({len(expression)} characters, at most {MAX_EXPRESSION_LENGTH})"
        )
    text = normalise(expression)
    if "=" in text:  # "8/(3-8/3) = 24": check the left side
        text = text.split("=", 1)[0]
    if not text.strip():
        raise ValueError("the expression is empty")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"could not parse expression '{expression}': {exc.msg}") from None
    _check_node(tree, expression)
    return tree, text


def _check_node(node: ast.AST, expression: str) -> None:
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            symbol = {ast.Pow: "**", ast.BitXor: "^", ast.Mod: "%", ast.FloorDiv: "//"}.get(
                type(node.op), "?"
            )
            raise ValueError(f"operator '{symbol}' is not allowed: use only + - * / and parentheses")
        _check_node(node.left, expression)
        _check_node(node.right, expression)
    elif isinstance(node, ast.UnaryOp):
        if not (isinstance(node.op, ast.USub) and _is_number(node.operand)):
            raise ValueError("a sign is allowed only directly on a number, like -3")
    elif not _is_number(node):
        raise ValueError(
            f"'{ast.unparse(node)}' is not allowed in '{expression}': "
            "use only numbers, + - * / and parentheses"
        )


def _is_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def evaluate(node: ast.expr, source: str, leaves: list[Fraction] | None = None) -> Fraction:
    """Evaluate a checked tree of `source` exactly; collect the numbers it uses into `leaves`.

    Literals are read from their source text, so 0.1 is exactly 1/10.
    """
    if isinstance(node, ast.Constant | ast.UnaryOp):
        value = to_fraction(ast.get_source_segment(source, node) or "")
        if leaves is not None:
            leaves.append(value)
        return value
    if not isinstance(node, ast.BinOp):
        raise ValueError(f"unexpected '{ast.unparse(node)}'")
    left = evaluate(node.left, source, leaves)
    right = evaluate(node.right, source, leaves)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    if right == 0:
        raise ValueError(f"division by zero in '{ast.unparse(node)}'")
    return left / right


# --- canonical expressions: one text per expression up to commutativity and associativity ---


class Node:
    """An expression with sums and products flattened and their operands sorted.

    a+b and b+a, (a+b)+c and a+(b+c), a-(b-c) and a+c-b all get the same `text`,
    which is how distinct solutions are counted.
    """

    __slots__ = ("kind", "neg", "pos", "text")

    def __init__(self, kind: str, pos: tuple[Node, ...] = (), neg: tuple[Node, ...] = (), text: str = ""):
        self.kind = kind  # "n" leaf, "+" sum (pos - neg), "*" product (pos / neg)
        self.pos = tuple(sorted(pos, key=_text))
        self.neg = tuple(sorted(neg, key=_text))
        self.text = text or self._render()

    def _render(self) -> str:
        if self.kind == "+":
            out = " + ".join(n.text for n in self.pos)
            return out + "".join(f" - {n.text}" for n in self.neg)
        out = " * ".join(_factor(n) for n in self.pos)
        return out + "".join(f" / {_factor(n)}" for n in self.neg)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _text(node: Node) -> str:
    return node.text


def _factor(node: Node) -> str:
    return f"({node.text})" if node.kind == "+" else node.text


def leaf(value: Fraction) -> Node:
    """A number as one token (a decimal when it is not whole), in parentheses when negative."""
    text = decimal_text(value)
    return Node("n", text=f"({text})" if value < 0 else text)


def combine(op: str, a: Node, b: Node) -> Node:
    """The canonical node of `a op b`."""
    if op in "+-":
        a_pos, a_neg = (a.pos, a.neg) if a.kind == "+" else ((a,), ())
        b_pos, b_neg = (b.pos, b.neg) if b.kind == "+" else ((b,), ())
        if op == "+":
            return Node("+", a_pos + b_pos, a_neg + b_neg)
        return Node("+", a_pos + b_neg, a_neg + b_pos)
    a_num, a_den = (a.pos, a.neg) if a.kind == "*" else ((a,), ())
    b_num, b_den = (b.pos, b.neg) if b.kind == "*" else ((b,), ())
    if op == "*":
        return Node("*", a_num + b_num, a_den + b_den)
    return Node("*", a_num + b_den, a_den + b_num)


# --- the solver -------------------------------------------------------------------------


# Values of multisets of up to 4 numbers, shared by every call of the process; cleared when full.
_CACHE: dict[Multiset, dict[Fraction, Recipe]] = {}
CACHE_LIMIT = 20_000


def clear_cache() -> None:
    _CACHE.clear()


def values_of(multiset: Multiset) -> dict[Fraction, Recipe]:
    """Every value reachable from `multiset` (sorted) with + - * /, each with one recipe."""
    found = _CACHE.get(multiset)
    if found is None:
        found = _values(multiset)
        if len(multiset) <= 4:
            if len(_CACHE) >= CACHE_LIMIT:
                _CACHE.clear()
            _CACHE[multiset] = found
    return found


def _values(multiset: Multiset) -> dict[Fraction, Recipe]:
    if len(multiset) == 1:
        return {multiset[0]: None}
    reached: dict[Fraction, Recipe] = {}
    for left, right in splits(multiset):
        right_values = values_of(right)
        for a in values_of(left):
            for b in right_values:
                if (s := a + b) not in reached:
                    reached[s] = ("+", a, left, b, right)
                if (s := a - b) not in reached:
                    reached[s] = ("-", a, left, b, right)
                if (s := b - a) not in reached:
                    reached[s] = ("-", b, right, a, left)
                if (s := a * b) not in reached:
                    reached[s] = ("*", a, left, b, right)
                if b and (s := a / b) not in reached:
                    reached[s] = ("/", a, left, b, right)
                if a and (s := b / a) not in reached:
                    reached[s] = ("/", b, right, a, left)
    return reached


def splits(multiset: Multiset) -> Iterator[tuple[Multiset, Multiset]]:
    """Each way to cut a sorted multiset in two, without repeats: (smaller part, larger part).

    Balanced cuts come first: (a op b) op (c op d) needs only tiny value tables.
    """
    n = len(multiset)
    seen: set[tuple[Multiset, Multiset]] = set()
    for size in range(n // 2, 0, -1):
        for chosen in combinations(range(n), size):
            left = tuple(multiset[i] for i in chosen)
            right = tuple(multiset[i] for i in range(n) if i not in chosen)
            key = (left, right) if left <= right else (right, left)
            if key not in seen:
                seen.add(key)
                yield left, right


def _partners(
    a: Fraction, target: Fraction, right: dict[Fraction, Recipe]
) -> Iterator[tuple[str, bool, Fraction]]:
    """Values b of `right` with a op b == target or b op a == target: (op, a_first, b)."""
    wanted = [("+", True, target - a), ("-", True, a - target), ("-", False, a + target)]
    if a:
        wanted += [("*", True, target / a), ("/", False, target * a)]
        if target:
            wanted.append(("/", True, a / target))
    elif not target:  # 0 * b == 0 and 0 / b == 0 for every b
        for b in right:
            yield "*", True, b
            if b:
                yield "/", True, b
    for op, a_first, b in wanted:
        if b in right and not (op == "/" and ((a_first and b == 0) or (not a_first and a == 0))):
            yield op, a_first, b


def _needed(a: Fraction, target: Fraction) -> Iterator[tuple[str, bool, Fraction | None]]:
    """(op, a_first, b) with a op b == target (a_first) or b op a == target; b None: any b (0 * b)."""
    yield "+", True, target - a
    yield "-", True, a - target
    yield "-", False, a + target
    if a:
        yield "*", True, target / a
        yield "/", False, target * a
        if target:
            yield "/", True, a / target
    elif not target:
        yield "*", True, None


def find_one(
    multiset: Multiset, target: Fraction, memo: dict[tuple[Multiset, Fraction], Node | None] | None = None
) -> Node | None:
    """One expression over `multiset` equal to `target`, or None when there is none.

    Top-down: for each cut, each value a of the smaller part fixes the few values b
    the other part must make, which is asked recursively (memoised per call) unless
    that part's value table is small or already known.
    """
    if len(multiset) == 1:
        return leaf(multiset[0]) if multiset[0] == target else None
    memo = {} if memo is None else memo
    key = (multiset, target)
    if key in memo:
        return memo[key]
    found: Node | None = None
    for left, right in splits(multiset):
        left_values = values_of(left)
        if len(right) <= 2 or right in _CACHE:
            for a in left_values:
                for op, a_first, b in _partners(a, target, values_of(right)):
                    x, y = rebuild(a, left), rebuild(b, right)
                    found = combine(op, x, y) if a_first else combine(op, y, x)
                    break
                if found:
                    break
        else:
            for a in left_values:
                for op, a_first, b in _needed(a, target):
                    if b is None:  # 0 * (anything the other part makes)
                        y = rebuild(next(iter(values_of(right))), right)
                    else:
                        y = find_one(right, b, memo)
                    if y is not None:
                        x = rebuild(a, left)
                        found = combine(op, x, y) if a_first else combine(op, y, x)
                        break
                if found:
                    break
        if found:
            break
    memo[key] = found
    return found


def rebuild(value: Fraction, multiset: Multiset) -> Node:
    """The canonical node of the recipe recorded for `value`."""
    recipe = values_of(multiset)[value]
    if recipe is None:
        return leaf(value)
    op, x, x_set, y, y_set = recipe
    return combine(op, rebuild(x, x_set), rebuild(y, y_set))


def find_all(multiset: Multiset, target: Fraction, limit: int = MAX_SOLUTIONS) -> tuple[list[Node], bool]:
    """Distinct expressions equal to `target` (sorted), and whether `limit` cut the list."""
    memo: dict[tuple[Multiset, Fraction], set[Node]] = {}
    found = _all(multiset, target, memo)
    ordered = sorted(found, key=lambda node: (len(node.text), node.text))
    return ordered[:limit], len(ordered) > limit


def _all(multiset: Multiset, target: Fraction, memo: dict[tuple[Multiset, Fraction], set[Node]]) -> set[Node]:
    key = (multiset, target)
    if key in memo:
        return memo[key]
    found: set[Node] = set()
    if len(multiset) == 1:
        if multiset[0] == target:
            found.add(leaf(multiset[0]))
    else:
        for left, right in splits(multiset):
            right_values = values_of(right)
            for a in values_of(left):
                for op, a_first, b in _partners(a, target, right_values):
                    for x in _all(left, a, memo):
                        for y in _all(right, b, memo):
                            found.add(combine(op, x, y) if a_first else combine(op, y, x))
    memo[key] = found
    return found
