"""Descriptive statistics of a list of numbers, computed with exact fractions."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Any, Literal

__all__ = ["descriptive_statistics", "quantiles"]

MAX_VALUES = 100_000


def _fractions(data: list[float]) -> list[Fraction]:
    if not data:
        raise ValueError("data is empty: give at least one number")
    if len(data) > MAX_VALUES:
        raise ValueError(f"at most {MAX_VALUES} values, got {len(data)}")
    values = []
    for x in data:
        if not math.isfinite(x):
            raise ValueError(f"data contains {x}; only finite numbers are allowed")
        values.append(Fraction(repr(x)) if isinstance(x, float) else Fraction(x))
    return values


def _num(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else float(value)


def descriptive_statistics(data: list[float]) -> dict[str, Any]:
    """Mean, median, mode, variance and standard deviation (sample and population), min, max, range.

    Use this for any "find the mean / median / mode / standard deviation" question.
    Sample statistics divide by n - 1, population statistics by n; say which one
    the question wants (if unspecified, textbooks usually mean population for a
    whole group and sample for a sample).

    Args:
        data: The numbers, e.g. [2, 4, 4, 4, 5, 5, 7, 9].

    Example: descriptive_statistics(data=[2, 4, 4, 4, 5, 5, 7, 9]) -> {"mean": 5, "stdev_population": 2}
    """
    values = _fractions(data)
    n = len(values)
    ordered = sorted(values)
    mean = sum(values, Fraction(0)) / n
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    counts = Counter(values)
    top = max(counts.values())
    modes = sorted(v for v, c in counts.items() if c == top) if top > 1 else []
    squares = sum(((v - mean) ** 2 for v in values), Fraction(0))
    var_pop = squares / n
    out: dict[str, Any] = {
        "count": n,
        "sum": _num(sum(values, Fraction(0))),
        "mean": _num(mean),
        "median": _num(median),
        "mode": [_num(m) for m in modes],
        "min": _num(ordered[0]),
        "max": _num(ordered[-1]),
        "range": _num(ordered[-1] - ordered[0]),
        "variance_population": _num(var_pop),
        "stdev_population": _sqrt(var_pop),
    }
    if n >= 2:
        var_sample = squares / (n - 1)
        out["variance_sample"] = _num(var_sample)
        out["stdev_sample"] = _sqrt(var_sample)
    else:
        out["variance_sample"] = out["stdev_sample"] = None
    if mean.denominator != 1:
        out["mean_exact"] = f"{mean.numerator}/{mean.denominator}"
    mode_text = ", ".join(str(m) for m in out["mode"]) or "none (no value repeats)"
    out["text"] = (
        f"n={n}, mean={out['mean']}, median={out['median']}, mode={mode_text}, "
        f"stdev population={out['stdev_population']:.6g}"
        + (f", stdev sample={out['stdev_sample']:.6g}" if n >= 2 else "")
    )
    return out


def _sqrt(value: Fraction) -> int | float:
    """Exact when the fraction is a perfect square, else correctly rounded from the exact value."""
    root_num, root_den = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if root_num**2 == value.numerator and root_den**2 == value.denominator:
        return _num(Fraction(root_num, root_den))
    return math.sqrt(value.numerator / value.denominator) if value < 1e300 else math.sqrt(float(value))


def quantiles(
    data: list[float],
    probabilities: list[float] | None = None,
    method: Literal["linear", "lower", "higher", "nearest", "midpoint", "exclusive"] = "linear",
) -> dict[str, Any]:
    """Quantiles / percentiles / quartiles of a list of numbers, plus the interquartile range.

    Args:
        data: The numbers.
        probabilities: Which quantiles, as fractions from 0 to 1 (default quartiles [0.25, 0.5, 0.75]);
            the 90th percentile is 0.9.
        method: linear (default; numpy, Excel PERCENTILE.INC), lower, higher, nearest, midpoint,
            or exclusive (Excel PERCENTILE.EXC, Minitab).

    Example: quantiles(data=[1, 2, 3, 4, 5], probabilities=[0.5]) -> {"quantiles": [3]}
    """
    values = sorted(_fractions(data))
    wanted = [0.25, 0.5, 0.75] if probabilities is None else probabilities
    if not wanted:
        raise ValueError("probabilities is empty")
    results = [_quantile(values, _probability(p), method) for p in wanted]
    out: dict[str, Any] = {"probabilities": wanted, "quantiles": [_num(r) for r in results], "method": method}
    if probabilities is None:
        out["iqr"] = _num(results[2] - results[0])
    shown = ", ".join(f"q({p})={_num(r)}" for p, r in zip(wanted, results, strict=True))
    return out | {"text": shown}


def _probability(p: float) -> Fraction:
    if not 0 <= p <= 1:
        raise ValueError(f"probability {p} must be from 0 to 1 (the 90th percentile is 0.9)")
    return Fraction(repr(p)) if isinstance(p, float) else Fraction(p)


def _quantile(values: list[Fraction], p: Fraction, method: str) -> Fraction:
    n = len(values)
    if method == "exclusive":
        position = p * (n + 1) - 1  # 0-based
        if position < 0 or position > n - 1:
            raise ValueError(f"the exclusive method needs {1}/(n+1) <= p <= n/(n+1); p={float(p)} with n={n}")
    else:
        position = p * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    fraction = position - low
    if method in ("linear", "exclusive"):
        return values[low] + (values[high] - values[low]) * fraction
    if method == "lower":
        return values[low]
    if method == "higher":
        return values[high] if fraction else values[low]
    if method == "midpoint":
        return (values[low] + values[high]) / 2 if fraction else values[low]
    # nearest: numpy rounds half to even index
    if fraction > Fraction(1, 2) or (fraction == Fraction(1, 2) and low % 2 == 1):
        return values[high]
    return values[low]
