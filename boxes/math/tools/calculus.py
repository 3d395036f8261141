"""Calculus: derivatives, integrals, limits, Taylor series and sums, all exact."""

from __future__ import annotations

from typing import Any, Literal

import _parse
import sympy as sp

__all__ = ["derivative", "integral", "limit", "series", "summation"]


def derivative(
    expression: str, variable: str | None = None, order: int = 1, at: str | float | None = None
) -> dict[str, Any]:
    """Differentiate an expression, optionally evaluating the derivative at a point.

    Use this for "find f'(x)", "d/dx", slopes of tangents and higher derivatives.

    Args:
        expression: The function, e.g. "x^3 sin(x)".
        variable: Differentiate with respect to this; needed only when there are several letters.
        order: 1 for the first derivative, 2 for the second, and so on (1 to 20).
        at: Optional point to evaluate the derivative at, e.g. 2 or "pi/2".

    Example: derivative(expression="x^3", at=2) -> {"derivative": "3*x**2", "value": 12}
    """
    if not 1 <= order <= 20:
        raise ValueError(f"order must be from 1 to 20, got {order}")
    expr = _parse.parse(expression)
    var = _parse.symbol(variable, expr)
    result = sp.simplify(sp.diff(expr, var, order))
    out: dict[str, Any] = {"expression": expression, "variable": str(var), "order": order}
    out["derivative"] = _parse.text(result)
    power = f"^{order}" if order > 1 else ""
    out["text"] = f"d{power}/d{var}{power} ({expression}) = {out['derivative']}"
    if at is not None:
        point = _parse.scalar(at)
        value = sp.simplify(result.subs(var, point))
        out["at"] = str(at)
        out["exact"] = _parse.text(value)
        out["value"] = _parse.number(value)
        out["text"] += f"; at {var} = {at}: {_parse.text(value)}"
    return out


def integral(
    expression: str,
    variable: str | None = None,
    lower: str | float | None = None,
    upper: str | float | None = None,
) -> dict[str, Any]:
    """Integrate an expression: an antiderivative, or a definite integral when both limits are given.

    Use this for areas under curves and "integrate ... dx". Limits may be "oo" for
    infinity. If no closed form exists, a definite integral falls back to a numeric value.

    Args:
        expression: The integrand, e.g. "x^2" or "exp(-x^2)".
        variable: The integration variable; needed only when there are several letters.
        lower: Lower limit for a definite integral, e.g. 0, "-oo" or "pi".
        upper: Upper limit for a definite integral, e.g. 1 or "oo".

    Example: integral(expression="x^2", lower=0, upper=3) -> {"exact": "9", "value": 9}
    """
    expr = _parse.parse(expression)
    var = _parse.symbol(variable, expr)
    base: dict[str, Any] = {"expression": expression, "variable": str(var)}
    if (lower is None) != (upper is None):
        raise ValueError("give both 'lower' and 'upper' for a definite integral, or neither")
    if lower is None or upper is None:
        result = sp.integrate(expr, var)
        if result.has(sp.Integral):
            raise ValueError(f"no closed-form antiderivative found for '{expression}'")
        shown = _parse.text(result)
        return base | {"antiderivative": shown, "text": f"∫ {expression} d{var} = {shown} + C"}
    a, b = _parse.scalar(lower), _parse.scalar(upper)
    result = sp.integrate(expr, (var, a, b))
    approximate = result.has(sp.Integral)
    if approximate:
        result = sp.Integral(expr, (var, a, b)).evalf(20)
    result = sp.simplify(result) if not approximate else result
    if result.has(sp.nan, sp.zoo):
        raise ValueError(f"the integral of '{expression}' from {lower} to {upper} is undefined")
    shown = _parse.text(result)
    value = "diverges (infinite)" if result in (sp.oo, -sp.oo) else _parse.number(result)
    out = base | {
        "lower": str(lower),
        "upper": str(upper),
        "exact": shown,
        "value": value,
        "text": f"∫ from {lower} to {upper} of {expression} d{var} = {shown}",
    }
    return out | {"approximate": True} if approximate else out


def limit(
    expression: str,
    point: str | float,
    variable: str | None = None,
    direction: Literal["both", "+", "-"] = "both",
) -> dict[str, Any]:
    """The limit of an expression as the variable approaches a point (or infinity, "oo").

    Args:
        expression: The expression, e.g. "sin(x)/x" or "(1 + 1/n)^n".
        point: Where the variable goes, e.g. 0, 2 or "oo".
        variable: The variable; needed only when there are several letters.
        direction: "both" (two-sided, default), "+" from the right/above, "-" from the left/below.

    Example: limit(expression="sin(x)/x", point=0) -> {"exact": "1", "value": 1}
    """
    expr = _parse.parse(expression)
    var = _parse.symbol(variable, expr)
    target = _parse.scalar(point)
    if target.is_infinite:
        result = sp.limit(expr, var, target)
    elif direction == "both":
        right = sp.limit(expr, var, target, "+")
        left = sp.limit(expr, var, target, "-")
        if sp.simplify(right - left) != 0 and right != left:
            text = f"the limit does not exist: from the left {left}, from the right {right}"
            return {
                "expression": expression,
                "exists": False,
                "left": str(left),
                "right": str(right),
                "text": text,
            }
        result = right
    else:
        result = sp.limit(expr, var, target, direction)
    shown = _parse.text(result)
    value = shown if result.is_infinite else _parse.number(result)
    return {
        "expression": expression,
        "exists": not isinstance(result, sp.AccumBounds) and result is not sp.nan,
        "exact": shown,
        "value": value,
        "text": f"lim {var}->{point}{'' if direction == 'both' else direction} {expression} = {shown}",
    }


def series(
    expression: str, variable: str | None = None, point: str | float = 0, order: int = 6
) -> dict[str, Any]:
    """Taylor (Maclaurin when point=0) series of an expression, up to a given order.

    Args:
        expression: The function, e.g. "exp(x)" or "1/(1-x)".
        variable: The variable; needed only when there are several letters.
        point: Expand around this point (default 0).
        order: Terms up to (x - point)^(order - 1) are kept (1 to 30).

    Example: series(expression="exp(x)", order=4) -> {"polynomial": "x**3/6 + x**2/2 + x + 1"}
    """
    if not 1 <= order <= 30:
        raise ValueError(f"order must be from 1 to 30, got {order}")
    expr = _parse.parse(expression)
    var = _parse.symbol(variable, expr)
    centre = _parse.scalar(point)
    expansion = sp.series(expr, var, centre, order)
    polynomial = expansion.removeO()
    shift = var - centre
    coefficients = [
        _parse.text(sp.simplify(sp.diff(expr, var, k).subs(var, centre) / sp.factorial(k)))
        for k in range(order)
    ]
    return {
        "expression": expression,
        "point": str(point),
        "polynomial": _parse.text(polynomial),
        "coefficients": coefficients,
        "text": f"{expression} = {_parse.text(polynomial)} + O({_parse.text(shift**order)})",
    }


def summation(expression: str, variable: str, lower: str | int, upper: str | int) -> dict[str, Any]:
    """Exact sum of a term over an integer range; the upper limit may be "oo" or a letter like "n".

    Use this for sigma sums and series totals, e.g. the sum of k^2 for k = 1..n.

    Args:
        expression: The term, e.g. "k^2" or "1/2^k".
        variable: The summation index, e.g. "k".
        lower: First index value, e.g. 1.
        upper: Last index value, e.g. 100, "n" or "oo".

    Example: summation(expression="k", variable="k", lower=1, upper=100) -> {"exact": "5050", "value": 5050}
    """
    expr = _parse.parse(expression)
    var = _parse.symbol(variable)
    a, b = _parse.scalar(lower), _parse.scalar(upper)
    result = sp.summation(expr, (var, a, b))
    if result.has(sp.Sum):
        raise ValueError(f"no closed form found for the sum of '{expression}'")
    result = sp.factor(sp.simplify(result)) if result.free_symbols else sp.simplify(result)
    shown = _parse.text(result)
    value = shown if result.is_infinite or result.free_symbols else _parse.number(result)
    return {
        "expression": expression,
        "exact": shown,
        "value": value,
        "converges": not result.is_infinite,
        "text": f"sum of {expression} for {var} = {lower}..{upper} is {shown}",
    }
