"""Game of 24 and make-a-target puzzles, solved and checked with exact fractions."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import _arith24 as engine

__all__ = ["check_expression", "solve_24"]


def solve_24(
    numbers: list[int | float | str],
    target: int | float | str = 24,
    all_solutions: bool = False,
) -> dict[str, Any]:
    """Find how to combine the numbers with + - * / to reach the target (Game of 24).

    Use this for "make 24 from 4 7 8 8" or any "reach N using each number once"
    puzzle. Each number is used exactly once; parentheses are free. The answer is
    re-checked with exact fractions, or the result says clearly that no way exists.

    Args:
        numbers: The numbers to combine, 1 to 6 of them, e.g. [4, 7, 8, 8]; decimals like 0.5 are fine.
        target: The value to reach; 24 unless the puzzle says otherwise.
        all_solutions: True to list every distinct solution (up to 200; needs at most 5 numbers)
            instead of just one.

    Example: solve_24(numbers=[3, 3, 8, 8]) -> {"expression": "8 / (3 - 8 / 3)", "solvable": true, ...}
    """
    values = _numbers(numbers)
    goal = engine.to_fraction(target, "target")
    multiset = tuple(sorted(values))
    shown = ", ".join(engine.decimal_text(v) for v in values)
    result: dict[str, Any] = {
        "numbers": [engine.json_number(v) for v in values],
        "target": engine.json_number(goal),
    }
    if all_solutions:
        if len(values) > engine.MAX_ALL_SOLUTIONS_NUMBERS:
            raise ValueError(
                f"all_solutions works with at most {engine.MAX_ALL_SOLUTIONS_NUMBERS} numbers "
                f"(got {len(values)}); call again with all_solutions=false to get one solution"
            )
        nodes, truncated = engine.find_all(multiset, goal)
        solutions = [_verified(node.text, values, goal) for node in nodes]
        result |= {
            "solvable": bool(solutions),
            "expression": solutions[0] if solutions else None,
            "solutions": solutions,
            "count": len(solutions),
            "truncated": truncated,
        }
        if solutions:
            more = " (list cut at the first 200)" if truncated else ""
            result["text"] = f"{len(solutions)} distinct solutions{more}, e.g. {solutions[0]} = {_show(goal)}"
        else:
            result["text"] = _none_text(shown, goal)
        return result
    node = engine.find_one(multiset, goal)
    if node is None:
        return result | {"solvable": False, "expression": None, "text": _none_text(shown, goal)}
    expression = _verified(node.text, values, goal)
    return result | {"solvable": True, "expression": expression, "text": f"{expression} = {_show(goal)}"}


def check_expression(
    expression: str, numbers: list[int | float | str], target: int | float | str = 24
) -> dict[str, Any]:
    """Check a proposed Game of 24 answer: uses each number exactly once and equals the target.

    Use this to verify an arithmetic answer before giving it. Only numbers, + - * /
    and parentheses are allowed (× x ÷ and \\cdot are read as * and /). The result
    says exactly what is wrong: which number is missing or extra, and the actual value.

    Args:
        expression: The arithmetic answer, e.g. "(8/(3-8/3))" or "4 × (7 − 8/8)".
        numbers: The numbers that must each be used exactly once, e.g. [3, 3, 8, 8].
        target: The value the expression must equal; 24 unless the puzzle says otherwise.

    Example: check_expression(expression="8/(3-8/3)", numbers=[3, 3, 8, 8]) -> {"valid": true, "value": 24}
    """
    values = _numbers(numbers)
    goal = engine.to_fraction(target, "target")
    tree, text = engine.parse_arithmetic(expression)
    used: list[Fraction] = []
    value = engine.evaluate(tree, text, used)
    usage = _usage_problems(Counter(values), Counter(used))
    equals = value == goal
    problems = usage if equals else [*usage, f"the expression equals {_show(value)}, not {_show(goal)}"]
    valid = not problems
    return {
        "valid": valid,
        "value": engine.json_number(value),
        "exact_value": engine.show_number(value),
        "equals_target": equals,
        "uses_each_number_once": not usage,
        "problems": problems,
        "text": f"correct: {expression.strip()} = {_show(goal)}"
        if valid
        else "wrong: " + "; ".join(problems),
    }


def _numbers(numbers: list[int | float | str]) -> list[Fraction]:
    if not 1 <= len(numbers) <= engine.MAX_NUMBERS:
        raise ValueError(f"give 1 to {engine.MAX_NUMBERS} numbers, got {len(numbers)}")
    values = [engine.to_fraction(n) for n in numbers]
    for value in values:
        engine.decimal_text(value)  # a number must be writable as one literal, e.g. not 1/3
    return values


def _verified(expression: str, values: list[Fraction], goal: Fraction) -> str:
    """Re-parse and re-evaluate the solver's text exactly: never return an unchecked answer."""
    tree, text = engine.parse_arithmetic(expression)
    used: list[Fraction] = []
    if engine.evaluate(tree, text, used) != goal or Counter(used) != Counter(values):
        raise RuntimeError(f"internal error: solver produced a wrong expression '{expression}'")
    return expression


def _usage_problems(given: Counter[Fraction], used: Counter[Fraction]) -> list[str]:
    problems = []
    for value in sorted(given.keys() | used.keys()):
        want, got = given[value], used[value]
        if got < want:
            problems.append(f"{_show(value)} is given {_times(want)} but used {_times(got)}")
        elif got > want:
            if want == 0:
                problems.append(f"{_show(value)} is used {_times(got)} but is not one of the numbers")
            else:
                problems.append(f"{_show(value)} is used {_times(got)} but given only {_times(want)}")
    return problems


def _times(count: int) -> str:
    return {0: "0 times", 1: "once", 2: "twice"}.get(count, f"{count} times")


def _show(value: Fraction) -> str:
    return engine.show_number(value)


def _none_text(shown: str, goal: Fraction) -> str:
    return f"no solution: {shown} cannot make {_show(goal)} with + - * / using each number once"
