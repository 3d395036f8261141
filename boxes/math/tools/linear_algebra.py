"""Exact linear algebra on small matrices given as lists of rows."""

from __future__ import annotations

from typing import Any

import _parse
import sympy as sp

__all__ = ["determinant", "eigenvalues", "matrix_inverse", "matrix_rank", "rref", "solve_linear_system"]

MAX_SIZE = 12
Matrix = list[list[int | float | str]]


def _matrix(rows: Matrix, square: bool = False, what: str = "matrix") -> sp.Matrix:
    m = _parse.matrix(rows, what)
    if max(m.shape) > MAX_SIZE:
        raise ValueError(f"{what} is {m.rows}x{m.cols}; at most {MAX_SIZE}x{MAX_SIZE} is supported")
    if square and m.rows != m.cols:
        raise ValueError(f"{what} must be square, got {m.rows}x{m.cols}")
    return m


def _rows(m: sp.Matrix) -> list[list[int | float | str]]:
    return [[_parse.number(m[i, j]) for j in range(m.cols)] for i in range(m.rows)]


def _exact(m: sp.Matrix) -> list[list[str]]:
    return [[_parse.text(m[i, j]) for j in range(m.cols)] for i in range(m.rows)]


def determinant(matrix: Matrix) -> dict[str, Any]:
    """Determinant of a square matrix, exactly.

    Args:
        matrix: The matrix as a list of rows, e.g. [[1, 2], [3, 4]]; entries may be "1/2" or "x".

    Example: determinant(matrix=[[1, 2], [3, 4]]) -> {"determinant": -2}
    """
    m = _matrix(matrix, square=True)
    det = sp.simplify(m.det())
    return {"determinant": _parse.number(det), "exact": _parse.text(det), "text": f"det = {_parse.text(det)}"}


def matrix_inverse(matrix: Matrix) -> dict[str, Any]:
    """Inverse of a square matrix with exact fractions; says so when the matrix is singular.

    Args:
        matrix: The matrix as a list of rows, e.g. [[2, 1], [5, 3]].

    Example: matrix_inverse(matrix=[[2, 1], [5, 3]]) -> {"inverse": [[3, -1], [-5, 2]]}
    """
    m = _matrix(matrix, square=True)
    det = sp.simplify(m.det())
    if det == 0:
        raise ValueError("the matrix is singular (determinant 0), so it has no inverse")
    inverse = sp.simplify(m.inv())
    return {
        "inverse": _rows(inverse),
        "exact": _exact(inverse),
        "determinant": _parse.number(det),
        "text": f"inverse = {_exact(inverse)}",
    }


def matrix_rank(matrix: Matrix) -> dict[str, Any]:
    """Rank of a matrix: the number of linearly independent rows (or columns).

    Args:
        matrix: The matrix as a list of rows.

    Example: matrix_rank(matrix=[[1, 2], [2, 4]]) -> {"rank": 1}
    """
    m = _matrix(matrix)
    rank = int(m.rank(simplify=True))
    full = rank == min(m.shape)
    return {"rank": rank, "full_rank": full, "text": f"rank = {rank}" + (" (full rank)" if full else "")}


def rref(matrix: Matrix) -> dict[str, Any]:
    """Reduced row echelon form of a matrix (Gauss-Jordan elimination) and its pivot columns.

    Args:
        matrix: The matrix as a list of rows, e.g. an augmented matrix [[1, 2, 5], [3, 4, 6]].

    Example: rref(matrix=[[1, 2], [3, 4]]) -> {"rref": [[1, 0], [0, 1]], "pivots": [0, 1]}
    """
    m = _matrix(matrix)
    reduced, pivots = m.rref(simplify=True)
    return {
        "rref": _rows(reduced),
        "exact": _exact(reduced),
        "pivots": [int(p) for p in pivots],
        "text": f"rref = {_exact(reduced)}, pivot columns (from 0) {list(pivots)}",
    }


def eigenvalues(matrix: Matrix, vectors: bool = False) -> dict[str, Any]:
    """Eigenvalues of a square matrix with their multiplicities, and optionally eigenvectors.

    Args:
        matrix: The square matrix as a list of rows, e.g. [[2, 0], [0, 3]].
        vectors: True to also return a basis of eigenvectors for each eigenvalue.

    Example: eigenvalues(matrix=[[2, 1], [1, 2]]) -> {"eigenvalues": [1, 3]}
    """
    m = _matrix(matrix, square=True)
    found = m.eigenvals()
    ordered = sorted(found.items(), key=lambda item: _sort_key(item[0]))
    values: list[int | float | str] = []
    for value, multiplicity in ordered:
        values.extend([_parse.number(value)] * int(multiplicity))
    out: dict[str, Any] = {
        "eigenvalues": values,
        "exact": [_parse.text(v) for v, _ in ordered],
        "multiplicities": [int(k) for _, k in ordered],
        "characteristic_polynomial": _parse.text(m.charpoly(sp.Symbol("lamda")).as_expr()),
    }
    if vectors:
        out["eigenvectors"] = {
            _parse.text(value): [[_parse.text(x) for x in vector] for vector in basis]
            for value, _, basis in sorted(m.eigenvects(), key=lambda item: _sort_key(item[0]))
        }
    shown = ", ".join(
        f"{v} (x{k})" if k > 1 else str(v) for v, k in zip(out["exact"], out["multiplicities"], strict=True)
    )
    return out | {"text": f"eigenvalues: {shown}"}


def _sort_key(value: sp.Expr) -> tuple[float, float, str]:
    numeric = complex(sp.N(value)) if value.is_number else 0j
    return (numeric.real, numeric.imag, str(value))


def solve_linear_system(a: Matrix, b: list[int | float | str]) -> dict[str, Any]:
    """Solve A x = b for x; reports a unique solution, infinitely many (with parameters) or none.

    Use this when the system is already in matrix form. For equations written
    out ("2x + y = 5") use solve_system.

    Args:
        a: Coefficient matrix A as a list of rows, e.g. [[2, 1], [1, 3]].
        b: Right-hand side vector, one entry per row of A, e.g. [3, 5].

    Example: solve_linear_system(a=[[2, 1], [1, 3]], b=[3, 5]) -> {"solution": [0.8, 1.4], "status": "unique"}
    """
    m = _matrix(a, what="a")
    if len(b) != m.rows:
        raise ValueError(f"b has {len(b)} entries but a has {m.rows} rows")
    rhs = sp.Matrix([_parse.scalar(v) for v in b])
    try:
        solution, params = m.gauss_jordan_solve(rhs)
    except ValueError:
        return {"status": "none", "solution": None, "text": "the system is inconsistent: no solution"}
    if params.shape[0] == 0:
        return {
            "status": "unique",
            "solution": [_parse.number(v) for v in solution],
            "exact": [_parse.text(v) for v in solution],
            "text": "x = [" + ", ".join(_parse.text(v) for v in solution) + "]",
        }
    names = {p: sp.Symbol(f"t{i}") for i, p in enumerate(params)}
    general = solution.subs(names)
    return {
        "status": "infinite",
        "solution": None,
        "general": [_parse.text(v) for v in general],
        "parameters": [str(s) for s in names.values()],
        "text": "infinitely many solutions: x = [" + ", ".join(_parse.text(v) for v in general) + "]",
    }
