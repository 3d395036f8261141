"""The math box's Game of 24 tools, checked against an independent verifier and brute force.

Nothing here reuses the box's parser or solver to judge its answers: the verifier
below is a separate tokenizer + recursive-descent evaluator over Fractions, and
"no solution" is confirmed by a plain pick-two brute force.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from fractions import Fraction
from functools import cache
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_box_server.box.loader import import_tool_module

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "mcp_box_server" / "student" / "data" / "game24.csv"  # copy of ../shared/datasets


game24 = import_tool_module(ROOT / "boxes" / "math", "game24")

# --- an independent verifier -------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(.))")


def independent_value(expression: str) -> tuple[Fraction, list[Fraction]]:
    """Evaluate + - * / ( ) and non-negative literals (plus '(-n)'), returning value and literals."""
    tokens = [(num, op) for num, op in _TOKEN.findall(expression) if num or op.strip()]
    position = 0
    used: list[Fraction] = []

    def peek() -> str | None:
        return tokens[position][1] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def atom() -> Fraction:
        num, op = take()
        if num:
            used.append(Fraction(num))
            return Fraction(num)
        if op == "-" and tokens[position][0]:  # a negative literal such as (-3)
            value = -Fraction(take()[0])
            used.append(value)
            return value
        if op != "(":
            raise AssertionError(f"unexpected {op!r} in {expression!r}")
        value = expr()
        if take()[1] != ")":
            raise AssertionError(f"unbalanced {expression!r}")
        return value

    def term() -> Fraction:
        value = atom()
        while peek() in ("*", "/"):
            op = take()[1]
            right = atom()
            value = value * right if op == "*" else value / right
        return value

    def expr() -> Fraction:
        value = term()
        while peek() in ("+", "-"):
            op = take()[1]
            right = term()
            value = value + right if op == "+" else value - right
        return value

    result = expr()
    assert position == len(tokens), f"trailing tokens in {expression!r}"
    return result, used


def assert_solution(expression: str, numbers: list[int], target: int | Fraction = 24) -> None:
    value, used = independent_value(expression)
    assert value == target, f"{expression} = {value}, not {target}"
    assert Counter(used) == Counter(Fraction(n) for n in numbers), f"{expression} does not use {numbers}"


@cache
def brute_force(values: tuple[Fraction, ...], target: Fraction) -> bool:
    """Pick two, combine with every operation, recurse: the textbook exhaustive search."""
    if len(values) == 1:
        return values[0] == target
    for i, j in combinations(range(len(values)), 2):
        a, b = values[i], values[j]
        rest = [values[k] for k in range(len(values)) if k not in (i, j)]
        results = [a + b, a - b, b - a, a * b]
        if b:
            results.append(a / b)
        if a:
            results.append(b / a)
        for result in results:
            if brute_force(tuple(sorted([*rest, result])), target):
                return True
    return False


def solvable_by_brute_force(numbers: list[int], target: int = 24) -> bool:
    return brute_force(tuple(sorted(Fraction(n) for n in numbers)), Fraction(target))


def _puzzles() -> list[list[int]]:
    with DATASET.open(newline="") as handle:
        return [[int(x) for x in row["Puzzles"].split()] for row in csv.DictReader(handle)]


# --- the solver ------------------------------------------------------------------------


def test_tot_split_rows_900_to_999_are_solved_or_proven_unsolvable() -> None:
    puzzles = _puzzles()
    assert len(puzzles) == 1362
    solved = 0
    for numbers in puzzles[900:1000]:
        result = game24.solve_24(numbers=numbers)
        if result["solvable"]:
            assert_solution(result["expression"], numbers)
            solved += 1
        else:
            assert result["expression"] is None
            assert not solvable_by_brute_force(numbers), numbers
    assert solved == 100  # every puzzle of the 4nums.com set has a solution


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=13), min_size=4, max_size=4))
def test_random_puzzles_agree_with_brute_force(numbers: list[int]) -> None:
    result = game24.solve_24(numbers=numbers)
    if result["solvable"]:
        assert_solution(result["expression"], numbers)
    else:
        assert not solvable_by_brute_force(numbers)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=-5, max_value=12), min_size=2, max_size=5),
    st.integers(min_value=-30, max_value=60),
)
def test_any_target_and_count_agree_with_brute_force(numbers: list[int], target: int) -> None:
    result = game24.solve_24(numbers=numbers, target=target)
    assert result["solvable"] == solvable_by_brute_force(numbers, target)
    if result["solvable"]:
        assert_solution(result["expression"], numbers, target)


def test_known_answers() -> None:
    assert game24.solve_24(numbers=[3, 3, 8, 8])["expression"] == "8 / (3 - 8 / 3)"
    assert game24.solve_24(numbers=[1, 1, 1, 1])["solvable"] is False
    assert "no solution" in game24.solve_24(numbers=[1, 1, 1, 1])["text"]
    assert_solution(game24.solve_24(numbers=[1, 5, 5, 5])["expression"], [1, 5, 5, 5])  # 5 * (5 - 1/5)


def test_all_solutions_are_distinct_and_each_verified() -> None:
    result = game24.solve_24(numbers=[1, 2, 3, 4], all_solutions=True)
    assert result["count"] == len(result["solutions"]) == len(set(result["solutions"])) >= 3
    for expression in result["solutions"]:
        assert_solution(expression, [1, 2, 3, 4])
    # (1+2+3)*4 and 4*(3+2+1) are one solution, not two
    sums = [s for s in result["solutions"] if s.replace(" ", "") in ("(1+2+3)*4", "4*(1+2+3)", "(3+2+1)*4")]
    assert len(sums) == 1
    only = game24.solve_24(numbers=[3, 3, 8, 8], all_solutions=True)
    assert only["solutions"] == ["8 / (3 - 8 / 3)"]
    none = game24.solve_24(numbers=[1, 1, 1, 1], all_solutions=True)
    assert none["solutions"] == [] and none["solvable"] is False


def test_decimals_fractions_targets_and_six_numbers() -> None:
    result = game24.solve_24(numbers=[0.5, 3, 4, 6])
    assert_solution(result["expression"], [Fraction(1, 2), 3, 4, 6])  # type: ignore[list-item]
    assert game24.solve_24(numbers=["1/2", 2], target="1/4")["solvable"] is True
    six = game24.solve_24(numbers=[25, 50, 75, 100, 3, 6], target=952)
    assert six["solvable"]
    assert_solution(six["expression"], [25, 50, 75, 100, 3, 6], 952)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"numbers": [1, 2, 3, 4, 5, 6, 7]}, "give 1 to 6 numbers"),
        ({"numbers": []}, "give 1 to 6 numbers"),
        ({"numbers": ["1/3", 3]}, "no finite decimal form"),
        ({"numbers": ["x", 3]}, "is not a finite number"),
        ({"numbers": [1, 2, 3, 4, 5, 6], "all_solutions": True}, "at most 5 numbers"),
    ],
)
def test_solver_rejects_bad_input(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        game24.solve_24(**arguments)


# --- the checker -----------------------------------------------------------------------


def test_check_accepts_correct_answers_in_many_notations() -> None:
    for expression in ["8/(3-8/3)", "8 ÷ (3 − 8 ÷ 3)", "(8/(3-8/3)) = 24", r"\frac{8}{3 - \frac{8}{3}}"]:
        result = game24.check_expression(expression=expression, numbers=[3, 3, 8, 8])
        assert result["valid"] is True, (expression, result)
    assert game24.check_expression(expression="4 x (7 - 8/8)", numbers=[4, 7, 8, 8])["valid"]
    assert game24.check_expression(expression="[4 × (7 - 8/8)]", numbers=[4, 7, 8, 8])["valid"]


def test_check_says_precisely_what_is_wrong() -> None:
    missing = game24.check_expression(expression="8*3", numbers=[3, 3, 8, 8])
    assert missing["valid"] is False and missing["equals_target"] is True
    assert "3 is given twice but used once" in missing["problems"]
    assert "8 is given twice but used once" in missing["problems"]
    extra = game24.check_expression(expression="(8+8+8)*3/3", numbers=[3, 3, 8, 8])
    assert "8 is used 3 times but given only twice" in extra["problems"]
    foreign = game24.check_expression(expression="12*2", numbers=[3, 3, 8, 8])
    assert "12 is used once but is not one of the numbers" in foreign["problems"]
    wrong = game24.check_expression(expression="(3+3)*(8/8)", numbers=[3, 3, 8, 8])
    assert wrong["value"] == 6 and wrong["uses_each_number_once"] is True
    assert "the expression equals 6, not 24" in wrong["problems"]
    third = game24.check_expression(expression="8/3", numbers=[8, 3], target=24)
    assert third["exact_value"] == "8/3" and "equals 8/3" in third["text"]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("2^3*3", "operator '^' is not allowed"),
        ("2**3*3", "operator '**' is not allowed"),
        ("8/(3-3)", "division by zero"),
        ("__import__('os')", "is not allowed"),
        ("abs(-24)", "is not allowed"),
        ("(8", "could not parse expression"),
        ("-(3+3)*4", "a sign is allowed only directly on a number"),
        ("", "empty"),
        ("1+" * 300 + "1", "too long"),
    ],
)
def test_check_rejects_what_is_not_plain_arithmetic(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        game24.check_expression(expression=expression, numbers=[3, 3, 8, 8])
