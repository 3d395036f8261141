"""Scorers: is a predicted answer right? Pure functions of (prediction, expected).

- `game24`: the prediction holds an arithmetic expression (`+ - * /`, parentheses,
  unary minus) that uses each puzzle number exactly once and equals 24 exactly
  (rational arithmetic, no floating point). The first expression in the text
  that uses exactly the puzzle's numbers is the one checked; `= 24`, `×`, `÷`
  and prose around it are tolerated.
- `numeric`: the last number in the prediction equals the expected number
  (commas, `$` and `%` ignored; fractions and decimals compared exactly).
  A GSM8K answer (`... #### 18`) is read after its `####`.
- `exact`: equal after case folding, whitespace collapsing and end punctuation.
- `contains`: the normalised expected text occurs in the normalised prediction.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable
from fractions import Fraction

Scorer = Callable[[str, str], bool]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")
_EXPRESSION = re.compile(r"[\d\s+\-*/().]+")
_SYMBOLS = {"×": "*", "÷": "/", "−": "-", "\\times": "*", "\\cdot": "*", "\\div": "/", "[": "(", "]": ")"}
_TIMES_X = re.compile(r"(?<=[\d)\s])[xX](?=[\s\d(])")


def score_game24(prediction: str, puzzle: str) -> bool:
    """True when the prediction is a valid Game of 24 solution for `puzzle` ("4 9 10 13")."""
    numbers = Counter(int(n) for n in re.findall(r"\d+", puzzle))
    text = prediction
    for old, new in _SYMBOLS.items():
        text = text.replace(old, new)
    text = _TIMES_X.sub("*", text)
    for candidate in _EXPRESSION.findall(text.replace("=", " = ")):
        if not re.search(r"\d", candidate) or not re.search(r"[-+*/]", candidate):
            continue
        value, used = _evaluate(candidate)
        if value is not None and used == numbers:
            return value == 24
    return False


def _evaluate(expression: str) -> tuple[Fraction | None, Counter[int]]:
    """Exact value of an arithmetic expression and the integers it uses; None if not valid."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None, Counter()
    used: Counter[int] = Counter()

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            used[node.value] += 1
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right  # ZeroDivisionError handled below
        raise ValueError("not + - * / over integers")

    try:
        return walk(tree.body), used
    except (ValueError, ZeroDivisionError, RecursionError):
        return None, Counter()


def parse_number(text: str) -> Fraction | None:
    """The last number in `text` as an exact fraction (GSM8K's `#### N` wins when present)."""
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    cleaned = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).replace("$", "").replace("%", "")
    found = _NUMBER.findall(cleaned)
    if not found:
        return None
    try:
        return Fraction(found[-1])
    except (ValueError, ZeroDivisionError):
        return None


def score_numeric(prediction: str, expected: str) -> bool:
    """True when the last number of the prediction equals the expected number exactly."""
    want, got = parse_number(expected), parse_number(prediction)
    return want is not None and got is not None and want == got


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'`*")


def score_exact(prediction: str, expected: str) -> bool:
    return normalise(prediction) == normalise(expected)


def score_contains(prediction: str, expected: str) -> bool:
    want = normalise(expected)
    return bool(want) and want in normalise(prediction)


SCORERS: dict[str, Scorer] = {
    "game24": score_game24,
    "numeric": score_numeric,
    "exact": score_exact,
    "contains": score_contains,
}
