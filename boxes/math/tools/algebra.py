"""Equations and systems, and rewriting expressions: simplify, expand, factor, partial fractions."""

from __future__ import annotations

from typing import Any, Literal

import _parse
import sympy as sp

__all__ = ["expand", "factor", "partial_fractions", "simplify", "solve_equation", "solve_system"]

Domain = Literal["complex", "real", "integer", "positive"]
_MAX_LISTED = 50


def solve_equation(equation: str, variable: str | None = None, domain: Domain = "real") -> dict[str, Any]:
    """Solve one equation in one unknown exactly, e.g. "x^2 - 5x + 6 = 0" or "2^x = 32".

    Use this for any "solve for x" or "find the roots" question. Without '=' the
    expression is set equal to 0. When no exact formula exists, numeric roots are
    returned and marked approximate.

    Args:
        equation: The equation, e.g. "3x + 5 = 20" or "x^3 - 1" (means x^3 - 1 = 0).
        variable: The unknown to solve for; needed only when there are several letters.
        domain: real (default), complex (all roots), integer or positive solutions only.
            With integer and several letters, solves a Diophantine equation.

    Example: solve_equation(equation="x^2 - 5x + 6 = 0") -> {"solutions": ["2", "3"], "values": [2, 3]}
    """
    expr = _parse.parse_equation(equation)
    if domain == "integer" and len(expr.free_symbols) > 1 and not variable:
        return _diophantine(equation, expr)
    var = _parse.symbol(variable, expr)
    result: dict[str, Any] = {"equation": equation, "variable": str(var), "domain": domain}
    solution_set = sp.solveset(expr, var, domain=sp.S.Complexes if domain == "complex" else sp.S.Reals)
    if domain == "complex" and not isinstance(solution_set, sp.FiniteSet):
        real_set = sp.solveset(expr, var, domain=sp.S.Reals)
        if isinstance(real_set, sp.FiniteSet) and real_set:
            note = "real solutions only: the complex solutions are infinitely many"
            return result | _listed(var, sorted(real_set, key=_order)) | {"note": note}
    if isinstance(solution_set, sp.FiniteSet) or solution_set == sp.S.EmptySet:
        solutions = [s for s in sorted(solution_set, key=_order) if _in_domain(s, domain)]
        listed = result | _listed(var, solutions)
        if not solutions and domain != "complex":
            others = sp.solveset(expr, var, domain=sp.S.Complexes)
            if isinstance(others, sp.FiniteSet) and others:
                shown = ", ".join(_parse.text(o) for o in sorted(others, key=_order))
                listed["text"] = f"no {domain} solution (all solutions: {shown})"
                listed["other_solutions"] = [_parse.text(o) for o in sorted(others, key=_order)]
        return listed
    if isinstance(solution_set, sp.ConditionSet) or solution_set.has(sp.ConditionSet):
        roots = _numeric_roots(expr, var, domain)
        if not roots:
            raise ValueError(f"could not solve '{equation}' exactly or find numeric roots in [-100, 100]")
        return result | _listed(var, roots) | {"approximate": True}
    general = _general(solution_set)
    within = solution_set.intersect(sp.Interval.Ropen(0, 2 * sp.pi))
    sample = sorted(within, key=_order) if isinstance(within, sp.FiniteSet) else []
    sample = [s for s in sample if _in_domain(s, domain)]
    return result | {
        "solutions": [_parse.text(s) for s in sample],
        "values": [_parse.number(s) for s in sample],
        "infinitely_many": True,
        "general_solution": general,
        "text": f"{var} = {general}" + (f"; in [0, 2*pi): {', '.join(map(str, sample))}" if sample else ""),
    }


def _general(solution_set: sp.Set) -> str:
    """'2*n*pi or 2*n*pi + pi, for any integer n' instead of sympy's ImageSet text."""
    n = sp.Symbol("n")
    parts = []
    for piece in sp.Union.make_args(solution_set) if isinstance(solution_set, sp.Union) else [solution_set]:
        if isinstance(piece, sp.ImageSet) and len(piece.lamda.variables) == 1:
            parts.append(_parse.text(piece.lamda.expr.subs(piece.lamda.variables[0], n)))
        else:
            return _parse.text(solution_set)
    return " or ".join(parts) + ", for any integer n"


def _listed(var: sp.Symbol, solutions: list[sp.Expr]) -> dict[str, Any]:
    shown = [_parse.text(sp.N(s, 15) if s.has(sp.CRootOf) else s) for s in solutions]
    text = " or ".join(f"{var} = {s}" for s in shown) if shown else "no solution"
    return {
        "solutions": shown,
        "values": [_parse.number(s) for s in solutions],
        "count": len(solutions),
        "text": text,
    }


def _order(value: sp.Expr) -> tuple[int, float, float, str]:
    numeric = complex(sp.N(value)) if value.is_number else 0j
    return (0 if value.is_real else 1, numeric.real, numeric.imag, str(value))


def _in_domain(value: sp.Expr, domain: Domain) -> bool:
    if domain == "integer":
        return bool(value.is_integer)
    if domain == "positive":
        return bool(value.is_positive)
    if domain == "real":
        return value.is_real is not False
    return True


def _numeric_roots(expr: sp.Expr, var: sp.Symbol, domain: Domain) -> list[sp.Expr]:
    """Real roots by Newton's method from a grid of starts, deduplicated."""
    roots: list[sp.Float] = []
    for start in range(-100, 101, 2):
        try:
            root = sp.nsolve(expr, var, start, tol=1e-20, prec=30)
        except (ValueError, ZeroDivisionError, TypeError):
            continue
        if not root.is_real or abs(expr.subs(var, root).evalf(30)) > 1e-12:
            continue
        if all(abs(root - seen) > 1e-9 for seen in roots):
            roots.append(root)
    roots = sorted(roots)
    return [sp.Float(r, 15) for r in roots if domain != "positive" or r > 0]


def _diophantine(equation: str, expr: sp.Expr) -> dict[str, Any]:
    variables = sorted(expr.free_symbols, key=str)
    try:
        solutions = sp.diophantine(sp.expand(expr), syms=variables)
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise ValueError(f"cannot solve '{equation}' in integers: {exc}") from None
    listed = [
        dict(zip([str(v) for v in variables], [_parse.text(p) for p in sol], strict=True))
        for sol in solutions
    ]
    listed.sort(key=str)
    return {
        "equation": equation,
        "domain": "integer",
        "variables": [str(v) for v in variables],
        "solutions": listed[:_MAX_LISTED],
        "text": "; ".join(", ".join(f"{k} = {v}" for k, v in s.items()) for s in listed[:_MAX_LISTED])
        or "no integer solution",
        "note": "symbols like t_0 stand for any integer",
    }


def solve_system(
    equations: list[str], variables: list[str] | None = None, domain: Domain = "real"
) -> dict[str, Any]:
    """Solve a system of equations (linear or not) for several unknowns exactly.

    Use this for simultaneous equations, e.g. ["x + y = 10", "x - y = 2"]. Each
    solution is an object mapping variable to value; a free parameter means
    infinitely many solutions.

    Args:
        equations: The equations, each with '=' (or an expression meaning = 0).
        variables: The unknowns to solve for; default: every letter used.
        domain: real (default), complex, integer or positive solutions only.

    Example: solve_system(equations=["x + y = 10", "x - y = 2"]) -> {"solutions": [{"x": 6, "y": 4}]}
    """
    if not equations:
        raise ValueError("give at least one equation")
    exprs = [_parse.parse_equation(e) for e in equations]
    free = sorted(set().union(*(e.free_symbols for e in exprs)), key=str)
    unknowns = [_parse.symbol(v) for v in variables] if variables else free
    if not unknowns:
        raise ValueError("the equations contain no unknowns")
    try:
        found = sp.solve(exprs, unknowns, dict=True)
    except NotImplementedError as exc:
        raise ValueError(f"cannot solve this system exactly: {exc}") from None
    kept = [s for s in found if all(_in_domain(v, domain) for v in s.values() if v.is_number)]
    solutions = [{str(k): _parse.number(v) for k, v in s.items()} for s in kept]
    exact = [{str(k): _parse.text(v) for k, v in s.items()} for s in kept]
    parametric = any(not v.is_number for s in kept for v in s.values())
    text = " or ".join(", ".join(f"{k} = {v}" for k, v in s.items()) for s in exact) or "no solution"
    return {
        "solutions": solutions,
        "exact": exact,
        "count": len(kept),
        "infinitely_many": parametric,
        "text": text,
    }


def simplify(expression: str) -> dict[str, Any]:
    """Simplify an expression to a shorter equivalent form (cancel, combine, trig identities).

    Use this to tidy an algebraic result or to check two forms are equal (simplify
    their difference: 0 means equal).

    Args:
        expression: The expression, e.g. "(x^2 - 1)/(x - 1)" or "sin(x)^2 + cos(x)^2".

    Example: simplify(expression="(x^2 - 1)/(x - 1)") -> {"result": "x + 1"}
    """
    return _rewrite(expression, sp.simplify(_parse.parse(expression)), "simplified")


def expand(expression: str) -> dict[str, Any]:
    """Multiply out products and powers, e.g. "(x + 1)^3" -> "x**3 + 3*x**2 + 3*x + 1".

    Args:
        expression: The expression to expand.

    Example: expand(expression="(x + 2)(x - 3)") -> {"result": "x**2 - x - 6"}
    """
    return _rewrite(expression, sp.expand(_parse.parse(expression)), "expanded")


def factor(expression: str) -> dict[str, Any]:
    """Factor a polynomial over the rationals, e.g. "x^2 - 5x + 6" -> "(x - 3)*(x - 2)".

    For factoring a whole number into primes use factor_integer instead.

    Args:
        expression: The polynomial to factor.

    Example: factor(expression="x^3 - x") -> {"result": "x*(x - 1)*(x + 1)"}
    """
    expr = _parse.parse(expression)
    if expr.is_Integer:
        raise ValueError(f"'{expression}' is a number: use factor_integer for prime factors")
    return _rewrite(expression, sp.factor(expr), "factored")


def partial_fractions(expression: str, variable: str | None = None) -> dict[str, Any]:
    """Split a rational function into partial fractions (useful before integrating).

    Args:
        expression: A ratio of polynomials, e.g. "1/(x^2 - 1)".
        variable: The variable; needed only when there are several letters.

    Example: partial_fractions(expression="1/(x^2 - 1)") -> {"result": "-1/(2*(x + 1)) + 1/(2*(x - 1))"}
    """
    expr = _parse.parse(expression)
    var = _parse.symbol(variable, expr)
    if not expr.is_rational_function(var):
        raise ValueError(f"'{expression}' is not a ratio of polynomials in {var}")
    result = sp.apart(sp.together(expr), var)
    terms = [_parse.text(t) for t in sp.Add.make_args(result)]
    return _rewrite(expression, result, "partial fractions") | {"terms": terms}


def _rewrite(expression: str, result: sp.Expr, what: str) -> dict[str, Any]:
    return {
        "expression": expression,
        "result": _parse.text(result),
        "latex": sp.latex(result),
        "text": f"{what}: {_parse.text(result)}",
    }
