"""Exact evaluation of expressions and rounding of numeric answers."""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    localcontext,
)
from typing import Any, Literal

import _parse
import sympy as sp

__all__ = ["evaluate", "round_number"]

_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}


def evaluate(
    expression: str, values: dict[str, int | float | str] | None = None, digits: int = 15
) -> dict[str, Any]:
    """Compute the exact value of an arithmetic or symbolic expression, plus a decimal approximation.

    Use this instead of doing arithmetic in your head: fractions, powers, roots, pi,
    trig, logs and factorials are kept exact (2/3 stays 2/3, sqrt(8) becomes 2*sqrt(2)).
    Accepts 2^3, 3x, 2(x+1), \\frac{1}{2}, √2, π, × and ÷.

    Args:
        expression: The expression, e.g. "(2/3 + 1/6) * 12" or "sqrt(8) + 2^10".
        values: Optional values for variables, e.g. {"x": 3, "y": "1/2"}.
        digits: Significant digits of the decimal approximation (1 to 100).

    Example: evaluate(expression="1/3 + 1/6") -> {"exact": "1/2", "value": 0.5}
    """
    if not 1 <= digits <= 100:
        raise ValueError(f"digits must be from 1 to 100, got {digits}")
    expr = _parse.parse(expression)
    if values:
        substitutions = {
            _parse.symbol(name, what="values key"): _parse.scalar(v) for name, v in values.items()
        }
        expr = expr.subs(substitutions)
    expr = sp.simplify(expr) if expr.free_symbols else expr
    if expr.has(sp.zoo, sp.nan) or expr in (sp.zoo, sp.nan):
        raise ValueError(f"'{expression}' is undefined (division by zero or 0/0)")
    result: dict[str, Any] = {"expression": expression, "exact": _parse.text(expr)}
    if expr.free_symbols:
        names = ", ".join(sorted(str(s) for s in expr.free_symbols))
        return result | {
            "value": None,
            "free_variables": sorted(str(s) for s in expr.free_symbols),
            "text": f"{expression} = {_parse.text(expr)} (depends on {names}; give them in 'values')",
        }
    numeric = sp.N(expr, digits)
    result["value"] = _parse.number(expr) if expr.is_Integer else _number(numeric)
    result["decimal"] = str(int(expr)) if expr.is_Integer else _parse.text(numeric)
    result["is_integer"] = bool(expr.is_Integer)
    if expr.is_Rational and not expr.is_Integer:
        result["fraction"] = [int(expr.p), int(expr.q)]
    approx = "" if expr.is_Integer or (expr.is_Rational and expr.q == 1) else f" ≈ {result['decimal']}"
    result["text"] = f"{expression} = {_parse.text(expr)}{approx}"
    return result


def _number(value: sp.Expr) -> int | float | str:
    if value.is_real:
        return float(value)
    return _parse.number(value)


def round_number(
    value: str | float,
    decimals: int | None = None,
    significant_figures: int | None = None,
    mode: Literal["half_up", "half_even", "down", "floor", "ceiling"] = "half_up",
) -> dict[str, Any]:
    """Round a number (or expression like "2/3" or "pi") to decimal places or significant figures.

    Use this for the final answer when a question says "to 2 decimal places",
    "to 3 significant figures" or "to the nearest whole number" (decimals=0).
    Rounding is done on the exact value, so 2.675 rounds to 2.68 (no float surprise).

    Args:
        value: The number or expression to round, e.g. 2.675, "22/7" or "sqrt(2)".
        decimals: Decimal places to keep (0 for a whole number; negative rounds to tens, hundreds...).
        significant_figures: Significant figures to keep instead of decimal places.
        mode: half_up (school rounding, default), half_even (banker's), down (truncate),
            floor or ceiling.

    Example: round_number(value="2/3", decimals=2) -> {"rounded": 0.67, "text": "0.67"}
    """
    if (decimals is None) == (significant_figures is None):
        raise ValueError("give exactly one of 'decimals' or 'significant_figures'")
    if significant_figures is not None and not 1 <= significant_figures <= 50:
        raise ValueError(f"significant_figures must be from 1 to 50, got {significant_figures}")
    if decimals is not None and not -30 <= decimals <= 50:
        raise ValueError(f"decimals must be from -30 to 50, got {decimals}")
    exact = _parse.scalar(value) if not isinstance(value, str) else _parse.parse(value)
    if exact.free_symbols or not exact.is_real:
        raise ValueError(f"'{value}' is not a real number")
    exact_decimal = _to_decimal(exact)
    if significant_figures is not None:
        magnitude = 0 if exact_decimal == 0 else exact_decimal.adjusted()
        places = significant_figures - 1 - magnitude
    else:
        places = int(decimals or 0)
    with localcontext() as ctx:
        ctx.prec = 120
        rounded = exact_decimal.quantize(Decimal(1).scaleb(-places), rounding=_MODES[mode])
    shown = format(rounded, "f")
    number: int | float = int(rounded) if places <= 0 else float(rounded)
    return {
        "value": str(value),
        "rounded": number,
        "text": shown,
        "places": places,
    }


def _to_decimal(exact: sp.Expr) -> Decimal:
    """An accurate Decimal of an exact value: rationals exactly, others to 80 digits."""
    with localcontext() as ctx:
        ctx.prec = 120
        if exact.is_Rational:
            return Decimal(int(exact.p)) / Decimal(int(exact.q))
        return Decimal(str(sp.N(exact, 80)))
