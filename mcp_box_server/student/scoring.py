"""Scorers: is a predicted answer right? Pure functions of (prediction, expected).

- `game24`: the prediction holds an arithmetic expression (`+ - * /`, parentheses,
  unary minus) that uses each puzzle number exactly once and equals 24 exactly
  (rational arithmetic, no floating point). The first expression in the text
  that uses exactly the puzzle's numbers is the one checked; `= 24`, `×`, `÷`
  and prose around it are tolerated.
- `numeric`: the last number in the prediction equals the expected number
  (thousands separators, `$` and `%` ignored; fractions and decimals compared
  exactly, or within a per-task absolute tolerance).
  A GSM8K answer (`... #### 18`) is read after its `####`.
- `exact`: equal after case folding, whitespace collapsing and end punctuation.
- `contains`: the normalised expected text occurs in the normalised prediction.
- `choice`: the option letter the prediction picks (`B`, `(B)`, `Answer: B`) is the
  expected letter (multiple-choice questions with `A)`, `B)`, ... options).

`numeric` takes an optional tolerance (absolute difference), set per task.
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


def score_numeric(prediction: str, expected: str, tolerance: float = 0.0) -> bool:
    """True when the last number of the prediction is within `tolerance` of the expected one."""
    want, got = parse_number(expected), parse_number(prediction)
    if want is None or got is None:
        return False
    return want == got if not tolerance else abs(want - got) <= Fraction(str(tolerance))


def chosen_letter(prediction: str) -> str | None:
    """The option letter a prediction picks: `B`, `B)`, `(B)`, `B. text`, `Answer: B`, `option (B)`."""
    text = prediction.strip()
    lead = re.match(r"\(?([A-Za-z])\)?[.:]?$", text) or re.match(r"\(?([A-Za-z])[).:]\s", text)
    if lead:
        return lead.group(1).upper()
    named = re.findall(
        r"(?:answer|option|choice)\s*(?:is)?\s*[:\-]?\s*\(?([A-Za-z])\b\)?", text, re.IGNORECASE
    )
    if named:
        return named[-1].upper()
    marked = re.findall(r"\(([A-Z])\)|\b([A-Z])\)", text)
    if marked:
        return "".join(marked[-1]).upper()
    return None


def score_choice(prediction: str, expected: str) -> bool:
    """True when the option letter chosen in the prediction is the expected letter."""
    return chosen_letter(prediction) == expected.strip().strip("()").upper()


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
    "choice": score_choice,
}
