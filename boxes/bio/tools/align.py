"""Pairwise sequence alignment with Bio.Align.PairwiseAligner (global or local)."""

from __future__ import annotations

from typing import Any, Literal

import _seq
from Bio.Align import PairwiseAligner, substitution_matrices

from mcp_box_server import progress

_TEXT_COLUMNS = 600
"""Alignments up to this many columns also come back as a printable three-line block."""
_MAX_COUNTED = 1_000_000
_MAX_CELLS = 100_000_000
"""Largest len(a) * len(b): time and memory of the dynamic programme grow with it."""
_COUNT_CELLS = 4_000_000
"""Co-optimal alignments are counted only up to this size (counting costs another pass)."""


def align(
    seq_a: str,
    seq_b: str,
    mode: Literal["global", "local"] = "global",
    molecule: Literal["dna", "rna", "protein"] = "dna",
    match_score: float = 5.0,
    mismatch_score: float = -4.0,
    matrix: str = "",
    open_gap_score: float = -10.0,
    extend_gap_score: float = -0.5,
    free_end_gaps: bool = False,
) -> dict[str, Any]:
    """Align two sequences (Needleman-Wunsch "global" or Smith-Waterman "local") and score them.

    Use it to compare two sequences, measure percent identity, or place a short sequence in a
    longer one (local, or global with free_end_gaps). Defaults follow EMBOSS needle/water: DNA
    match 5, mismatch -4, gap open -10, extend -0.5; proteins use BLOSUM62 unless `matrix` is
    given. Identity is identical columns / alignment columns (gaps included), as EMBOSS reports.
    Positions are 1-based and inclusive.

    Args:
        seq_a: first sequence (at most 20,000 residues; len(a) * len(b) at most 100 million).
        seq_b: second sequence (at most 20,000 residues).
        mode: "global" (whole sequences end to end) or "local" (best matching region only).
        molecule: "dna", "rna" or "protein" (checks the letters; protein defaults to BLOSUM62).
        match_score: score of identical residues (when no matrix is used).
        mismatch_score: score of different residues (when no matrix is used).
        matrix: substitution matrix name such as "BLOSUM62", "BLOSUM80", "PAM250" or "NUC.4.4";
            empty for match/mismatch scores (DNA) or BLOSUM62 (protein).
        open_gap_score: score of the first position of a gap (negative).
        extend_gap_score: score of each further gap position (negative).
        free_end_gaps: in global mode, do not penalise gaps at the ends (semi-global).

    Example:
        align("GATTACA", "GATCA") -> {"identity_percent": 71.43, "aligned_a": "GATTACA",
        "aligned_b": "GAT--CA", ...}
    """
    kind: _seq.Kind = "protein" if molecule == "protein" else "nucleotide"
    a = _seq.clean(seq_a, kind, name="seq_a", max_length=_seq.MAX_ALIGN_LENGTH)
    b = _seq.clean(seq_b, kind, name="seq_b", max_length=_seq.MAX_ALIGN_LENGTH)
    if kind == "nucleotide":
        a, b = _seq.to_dna(a), _seq.to_dna(b)
    if len(a) * len(b) > _MAX_CELLS:
        raise ValueError(
            f"{len(a):,} x {len(b):,} residues is too large to align (limit {_MAX_CELLS:,} cells, "
            "e.g. 10,000 x 10,000); align shorter regions"
        )
    if open_gap_score > 0 or extend_gap_score > 0:
        raise ValueError("gap scores are penalties: give zero or negative values")
    aligner = PairwiseAligner(mode=mode, open_gap_score=open_gap_score, extend_gap_score=extend_gap_score)
    name = matrix.strip().upper() or ("BLOSUM62" if molecule == "protein" else "")
    used = _use_matrix(aligner, name, a + b) if name else None
    if used is None:
        aligner.match_score = match_score
        aligner.mismatch_score = mismatch_score
    if free_end_gaps and mode == "global":
        aligner.open_end_gap_score = 0.0
        aligner.extend_end_gap_score = 0.0
    progress(0, 2, f"aligning {len(a):,} x {len(b):,} residues")
    alignments = aligner.align(a, b)
    best = alignments[0]
    progress(1, 2, "scoring the best alignment")
    row_a, row_b = best[0], best[1]
    columns = len(row_a)
    identical = sum(1 for x, y in zip(row_a, row_b, strict=True) if x == y and x != "-")
    gaps = sum(1 for x, y in zip(row_a, row_b, strict=True) if x == "-" or y == "-")
    mismatched = columns - identical - gaps
    coords = best.coordinates
    result: dict[str, Any] = {
        "score": best.score,
        "mode": mode,
        "identity_percent": 100.0 * identical / columns if columns else 0.0,
        "identities": identical,
        "mismatches": mismatched,
        "gap_columns": gaps,
        "alignment_length": columns,
        "a_start": int(coords[0][0]) + 1,
        "a_end": int(coords[0][-1]),
        "b_start": int(coords[1][0]) + 1,
        "b_end": int(coords[1][-1]),
        "aligned_a": row_a,
        "aligned_b": row_b,
        "scoring": used or {"match": match_score, "mismatch": mismatch_score},
        "optimal_alignments": _count(alignments) if len(a) * len(b) <= _COUNT_CELLS else "not counted",
    }
    if used is not None:
        matrix_obj = aligner.substitution_matrix
        positives = sum(
            1 for x, y in zip(row_a, row_b, strict=True) if "-" not in (x, y) and matrix_obj[x][y] > 0
        )
        result["positives"] = positives
        result["similarity_percent"] = 100.0 * positives / columns if columns else 0.0
    if columns <= _TEXT_COLUMNS:
        marks = "".join(_mark(x, y) for x, y in zip(row_a, row_b, strict=True))
        result["text"] = f"{row_a}\n{marks}\n{row_b}"
    result["summary"] = (
        f"{mode} score {best.score:g}; identity {identical}/{columns} "
        f"({result['identity_percent']:.1f}%), {gaps} gap columns"
    )
    return result


def _mark(x: str, y: str) -> str:
    if "-" in (x, y):
        return " "
    return "|" if x == y else "."


def _use_matrix(aligner: PairwiseAligner, name: str, letters: str) -> dict[str, Any]:
    known = substitution_matrices.load()
    if name not in known:
        raise ValueError(f"unknown substitution matrix '{name}'; known: {', '.join(known)}")
    matrix = substitution_matrices.load(name)
    missing = sorted(set(letters) - set(matrix.alphabet))
    if missing:
        raise ValueError(f"matrix {name} has no score for {', '.join(missing)}")
    aligner.substitution_matrix = matrix
    return {"matrix": name}


def _count(alignments: Any) -> int | str:
    """How many co-optimal alignments there are; "more than 1000000" when that overflows."""
    try:
        count = len(alignments)
    except OverflowError:
        return f"more than {_MAX_COUNTED}"
    return count if count <= _MAX_COUNTED else f"more than {_MAX_COUNTED}"
