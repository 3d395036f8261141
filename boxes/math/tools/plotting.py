"""Plots: a picture of one or more functions of one variable over an interval."""

from __future__ import annotations

import math
from collections.abc import Callable

import _parse
import sympy as sp

from mcp_box_server import Image, line_chart

__all__ = ["plot"]


def plot(
    expressions: list[str], start: float = -10.0, end: float = 10.0, variable: str | None = None
) -> list:
    """Draw functions of one variable over an interval: a PNG picture and a line describing it.

    Use this to see the shape of a function: roots, turning points, asymptotes, or where two
    curves cross. Poles and undefined points leave gaps; very large values are clipped.

    Args:
        expressions: One to five functions, e.g. ["sin(x)", "x^2/10"] (colours in order: blue, red,
            green, purple, orange).
        start: Left end of the interval.
        end: Right end of the interval (greater than start).
        variable: The variable; needed only when an expression has several letters.

    Example: plot(expressions=["x^2 - 4"], start=-3, end=3) -> ["y = x**2 - 4 (blue) ...", <image/png>]
    """
    if not 1 <= len(expressions) <= 5:
        raise ValueError(f"give 1 to 5 expressions, got {len(expressions)}")
    if not (math.isfinite(start) and math.isfinite(end) and start < end):
        raise ValueError(f"need finite start < end, got start={start}, end={end}")
    parsed = [_parse.parse(text) for text in expressions]
    var = _parse.symbol(variable, sp.Add(*parsed))
    steps = 400
    xs = [start + (end - start) * i / steps for i in range(steps + 1)]
    series = {}
    lines = []
    for text, expr, colour in zip(
        expressions, parsed, ("blue", "red", "green", "purple", "orange"), strict=False
    ):
        if expr.free_symbols - {var}:
            raise ValueError(f"'{text}' has other letters than {var}: give values for them first")
        f = sp.lambdify(var, expr, modules=["math"])
        points = [(x, _value(f, x)) for x in xs]
        series[text] = _clip(points)
        shown = [y for _, y in points if math.isfinite(y)]
        span = f"y from {min(shown):.4g} to {max(shown):.4g}" if shown else "undefined on the whole interval"
        lines.append(f"y = {_parse.text(expr)} ({colour}): {span}")
    caption = f"{'; '.join(lines)}; {var} from {start:g} to {end:g}"
    picture: Image = line_chart(series)
    return [caption, picture]


def _value(f: Callable[[float], object], x: float) -> float:
    try:
        y = f(x)
    except (ArithmeticError, ValueError):
        return math.nan
    return float(y) if isinstance(y, int | float) else math.nan


def _clip(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Keep the picture readable near poles: clip to 5x the middle 90% of the values."""
    finite = sorted(y for _, y in points if math.isfinite(y))
    if len(finite) < 10:
        return points
    low, high = finite[len(finite) // 20], finite[-len(finite) // 20 - 1]
    margin = max(high - low, 1e-9) * 2
    return [(x, y if low - margin <= y <= high + margin else math.nan) for x, y in points]
