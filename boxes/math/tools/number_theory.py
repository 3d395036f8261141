"""Number theory on whole numbers: primes, divisors, gcd/lcm, modular arithmetic, bases."""

from __future__ import annotations

import math
import string
from typing import Any

import sympy as sp

__all__ = [
    "convert_base",
    "divisors",
    "factor_integer",
    "gcd",
    "is_prime",
    "lcm",
    "mod_inverse",
    "mod_power",
    "totient",
]

MAX_DIGITS = 60
_DIGITS = string.digits + string.ascii_lowercase


def _check_size(n: int, what: str = "n") -> None:
    if len(str(abs(n))) > MAX_DIGITS:
        raise ValueError(f"{what} has more than {MAX_DIGITS} digits; that is too large to factor here")


def factor_integer(n: int) -> dict[str, Any]:
    """Prime factorisation of a whole number, e.g. 360 = 2^3 * 3^2 * 5.

    Use this for "prime factors of", "factorise 360" and as a first step for
    divisor counts. For polynomials use factor instead.

    Args:
        n: The whole number to factor (|n| >= 2).

    Example: factor_integer(n=360) -> {"factors": [[2, 3], [3, 2], [5, 1]], "text": "360 = 2^3 * 3^2 * 5"}
    """
    if abs(n) < 2:
        raise ValueError(f"n must be at least 2 in absolute value, got {n}")
    _check_size(n)
    factors = sorted(sp.factorint(abs(n)).items())
    parts = [f"{p}^{e}" if e > 1 else str(p) for p, e in factors]
    return {
        "n": n,
        "factors": [[int(p), int(e)] for p, e in factors],
        "primes": [int(p) for p, _ in factors],
        "is_prime": len(factors) == 1 and factors[0][1] == 1,
        "text": f"{n} = {'-' if n < 0 else ''}{' * '.join(parts)}",
    }


def divisors(n: int) -> dict[str, Any]:
    """All positive divisors of a whole number, with their count and sum.

    Args:
        n: A positive whole number.

    Example: divisors(n=12) -> {"divisors": [1, 2, 3, 4, 6, 12], "count": 6, "sum": 28}
    """
    if n < 1:
        raise ValueError(f"n must be a positive whole number, got {n}")
    _check_size(n)
    count = int(sp.divisor_count(n))
    listed = [int(d) for d in sp.divisors(n)] if count <= 10_000 else None
    out = {"n": n, "count": count, "sum": int(sp.divisor_sigma(n, 1)), "divisors": listed}
    shown = ", ".join(map(str, listed)) if listed is not None else "too many to list"
    return out | {"text": f"{n} has {count} divisors: {shown}"}


def gcd(numbers: list[int]) -> dict[str, Any]:
    """Greatest common divisor (highest common factor) of two or more whole numbers.

    For two numbers it also gives Bezout coefficients s, t with s*a + t*b = gcd.

    Args:
        numbers: The whole numbers, e.g. [48, 180].

    Example: gcd(numbers=[48, 180]) -> {"gcd": 12}
    """
    if len(numbers) < 2:
        raise ValueError("give at least two numbers")
    result = math.gcd(*numbers)
    out: dict[str, Any] = {
        "numbers": numbers,
        "gcd": result,
        "text": f"gcd({', '.join(map(str, numbers))}) = {result}",
    }
    if len(numbers) == 2:
        s, t, g = sp.gcdex(numbers[0], numbers[1])
        if g == result and int(s) * numbers[0] + int(t) * numbers[1] == result:
            out["bezout"] = [int(s), int(t)]
    return out


def lcm(numbers: list[int]) -> dict[str, Any]:
    """Least common multiple of two or more whole numbers (e.g. for common denominators).

    Args:
        numbers: The whole numbers, e.g. [4, 6, 10].

    Example: lcm(numbers=[4, 6, 10]) -> {"lcm": 60}
    """
    if len(numbers) < 2:
        raise ValueError("give at least two numbers")
    result = math.lcm(*numbers)
    return {"numbers": numbers, "lcm": result, "text": f"lcm({', '.join(map(str, numbers))}) = {result}"}


def mod_inverse(a: int, modulus: int) -> dict[str, Any]:
    """The modular inverse x of a, with a*x ≡ 1 (mod modulus); exists only when gcd(a, modulus) = 1.

    Args:
        a: The number to invert.
        modulus: The modulus (>= 2).

    Example: mod_inverse(a=3, modulus=11) -> {"inverse": 4}
    """
    if modulus < 2:
        raise ValueError(f"modulus must be at least 2, got {modulus}")
    common = math.gcd(a, modulus)
    if common != 1:
        raise ValueError(f"{a} has no inverse modulo {modulus}: gcd({a}, {modulus}) = {common}, not 1")
    inverse = pow(a, -1, modulus)
    return {"a": a, "modulus": modulus, "inverse": inverse, "text": f"{a} * {inverse} ≡ 1 (mod {modulus})"}


def mod_power(base: int, exponent: int, modulus: int) -> dict[str, Any]:
    """base^exponent mod modulus, fast even for huge exponents (negative uses the inverse).

    Args:
        base: The base.
        exponent: The exponent, e.g. 10**18.
        modulus: The modulus (>= 1).

    Example: mod_power(base=3, exponent=200, modulus=13) -> {"result": 9}
    """
    if modulus < 1:
        raise ValueError(f"modulus must be at least 1, got {modulus}")
    if exponent < 0 and math.gcd(base, modulus) != 1:
        raise ValueError(f"{base} has no inverse modulo {modulus}, so a negative exponent is undefined")
    result = pow(base, exponent, modulus)
    return {"result": result, "text": f"{base}^{exponent} mod {modulus} = {result}"}


def totient(n: int) -> dict[str, Any]:
    """Euler's totient φ(n): how many of 1..n are coprime to n.

    Args:
        n: A positive whole number.

    Example: totient(n=36) -> {"totient": 12}
    """
    if n < 1:
        raise ValueError(f"n must be a positive whole number, got {n}")
    _check_size(n)
    result = int(sp.totient(n))
    return {"n": n, "totient": result, "text": f"φ({n}) = {result}"}


def is_prime(n: int) -> dict[str, Any]:
    """Whether a whole number is prime, with the neighbouring primes and a factor if it is not.

    Args:
        n: The whole number to test.

    Example: is_prime(n=97) -> {"is_prime": true, "next_prime": 101, "previous_prime": 89}
    """
    prime = bool(sp.isprime(n))
    out: dict[str, Any] = {"n": n, "is_prime": prime, "next_prime": int(sp.nextprime(n))}
    out["previous_prime"] = int(sp.prevprime(n)) if n > 2 else None
    if not prime and n >= 4:
        _check_size(n)
        smallest = int(min(sp.factorint(n, limit=None)))
        out["smallest_factor"] = smallest
        out["text"] = f"{n} is not prime: {n} = {smallest} * {n // smallest}"
    else:
        out["text"] = f"{n} is prime" if prime else f"{n} is not prime"
    return out


def convert_base(number: str, from_base: int = 10, to_base: int = 2) -> dict[str, Any]:
    """Convert a whole number between bases 2 to 36 (binary, octal, decimal, hexadecimal...).

    Args:
        number: The digits as text, e.g. "255", "ff", "-1011"; 0x/0b/0o prefixes are understood.
        from_base: The base the number is written in (2 to 36, default 10).
        to_base: The base to convert to (2 to 36, default 2).

    Example: convert_base(number="255", from_base=10, to_base=16) -> {"result": "ff", "decimal": 255}
    """
    for base, name in ((from_base, "from_base"), (to_base, "to_base")):
        if not 2 <= base <= 36:
            raise ValueError(f"{name} must be from 2 to 36, got {base}")
    text = number.strip().lower().replace("_", "").replace(" ", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    prefixes = {"0x": 16, "0b": 2, "0o": 8}
    if text[:2] in prefixes and prefixes[text[:2]] == from_base:
        text = text[2:]
    try:
        value = sign * int(text, from_base)
    except ValueError:
        raise ValueError(f"'{number}' is not a valid base-{from_base} number") from None
    digits = []
    rest = abs(value)
    while True:
        rest, digit = divmod(rest, to_base)
        digits.append(_DIGITS[digit])
        if rest == 0:
            break
    result = ("-" if value < 0 else "") + "".join(reversed(digits))
    return {
        "number": number,
        "result": result,
        "decimal": value,
        "text": f"{number} (base {from_base}) = {result} (base {to_base})",
    }
