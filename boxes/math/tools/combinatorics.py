"""Counting: factorials, permutations, combinations (binomial coefficients), partitions."""

from __future__ import annotations

import math
from typing import Any

import sympy as sp
from sympy.utilities.iterables import partitions as _partitions

__all__ = ["combinations", "factorial", "partitions", "permutations"]

MAX_N = 5000
MAX_LISTED_PARTITIONS = 1000


def _check(n: int, k: int | None = None) -> None:
    if n < 0 or n > MAX_N:
        raise ValueError(f"n must be from 0 to {MAX_N}, got {n}")
    if k is not None and k < 0:
        raise ValueError(f"k must be at least 0, got {k}")


def factorial(n: int) -> dict[str, Any]:
    """n! = 1 * 2 * ... * n, exactly.

    Args:
        n: A whole number from 0 to 5000.

    Example: factorial(n=5) -> {"result": 120}
    """
    _check(n)
    result = math.factorial(n)
    return {"n": n, "result": result, "digits": len(str(result)), "text": f"{n}! = {_short(result)}"}


def permutations(n: int, k: int | None = None, repetition: bool = False) -> dict[str, Any]:
    """Number of ordered arrangements of k items chosen from n (nPr); order matters.

    Use for "how many ways to arrange / line up / award 1st-2nd-3rd". For
    unordered selections use combinations.

    Args:
        n: How many distinct items there are.
        k: How many are arranged; default n (all of them, n!).
        repetition: True if an item may be used again (then n^k).

    Example: permutations(n=5, k=3) -> {"result": 60}
    """
    k = n if k is None else k
    _check(n, k)
    if repetition:
        result, formula = n**k, f"{n}^{k}"
    else:
        result, formula = math.perm(n, k), f"P({n}, {k}) = {n}!/({n}-{k})!"
    return {"n": n, "k": k, "result": result, "text": f"{formula} = {_short(result)}"}


def combinations(n: int, k: int, repetition: bool = False) -> dict[str, Any]:
    """Number of ways to choose k items from n when order does not matter: the binomial coefficient C(n, k).

    Use for "n choose k", committees, hands of cards, lottery draws.

    Args:
        n: How many distinct items there are.
        k: How many are chosen.
        repetition: True if an item may be chosen more than once (multisets: C(n+k-1, k)).

    Example: combinations(n=5, k=2) -> {"result": 10}
    """
    _check(n, k)
    if repetition:
        result, formula = math.comb(n + k - 1, k), f"C({n}+{k}-1, {k})"
    else:
        result, formula = math.comb(n, k), f"C({n}, {k})"
    return {"n": n, "k": k, "result": result, "text": f"{formula} = {_short(result)}"}


def partitions(n: int, parts: int | None = None, list_them: bool = False) -> dict[str, Any]:
    """Number of ways to write n as a sum of positive whole numbers, ignoring order (p(n)).

    Args:
        n: The number to partition (0 to 10000).
        parts: Count only partitions into exactly this many parts.
        list_them: Also list the partitions (only when there are at most 1000).

    Example: partitions(n=5) -> {"count": 7}
    """
    if not 0 <= n <= 10_000:
        raise ValueError(f"n must be from 0 to 10000, got {n}")
    if parts is None:
        count = int(sp.partition(n))
    else:
        if parts < 0:
            raise ValueError(f"parts must be at least 0, got {parts}")
        count = _partitions_into(n, parts)
    out: dict[str, Any] = {"n": n, "count": count}
    if list_them:
        if count > MAX_LISTED_PARTITIONS:
            raise ValueError(f"there are {count} partitions; listing is limited to {MAX_LISTED_PARTITIONS}")
        listed = []
        for p in _partitions(n, m=parts) if n else [{}]:
            flat = sorted((v for v, times in p.items() for _ in range(times)), reverse=True)
            if parts is None or len(flat) == parts:
                listed.append(flat)
        out["partitions"] = sorted(listed, reverse=True)
    qualifier = f" into exactly {parts} parts" if parts is not None else ""
    return out | {"text": f"{n} has {count} partitions{qualifier}"}


def _partitions_into(n: int, k: int) -> int:
    """p(n, k) by the recurrence p(n, k) = p(n-1, k-1) + p(n-k, k)."""
    if k == 0:
        return 1 if n == 0 else 0
    table = [[0] * (k + 1) for _ in range(n + 1)]
    table[0][0] = 1
    for total in range(1, n + 1):
        for size in range(1, min(total, k) + 1):
            table[total][size] = table[total - 1][size - 1] + table[total - size][size]
    return table[n][k]


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 60 else f"{text[:20]}...{text[-10:]} ({len(text)} digits)"
