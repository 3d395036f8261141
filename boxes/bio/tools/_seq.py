"""Shared input handling for the bio tools: clean pasted sequences, check alphabets, cap sizes.

Small models paste sequences with FASTA headers, line numbers, spaces and mixed
case; the tools accept that and reject only what cannot be meant as a sequence,
naming the offending characters and their positions so the model can fix the call.
"""

from __future__ import annotations

import re
from typing import Literal

MAX_LENGTH = 1_000_000
"""Longest sequence any tool accepts, in residues."""

MAX_ALIGN_LENGTH = 20_000
"""Longest sequence the pairwise aligner accepts: its work grows with the product of the lengths."""

DNA_STRICT = frozenset("ACGT")
RNA_STRICT = frozenset("ACGU")
AMBIGUOUS_DNA = frozenset("ACGTRYSWKMBDHVN")
AMBIGUOUS_RNA = frozenset("ACGURYSWKMBDHVN")
PROTEIN_STANDARD = frozenset("ACDEFGHIKLMNPQRSTVWY")
PROTEIN_EXTENDED = PROTEIN_STANDARD | frozenset("BZJXUO*")

Kind = Literal["dna", "rna", "nucleotide", "protein"]

_ALPHABETS: dict[tuple[str, bool], frozenset[str]] = {
    ("dna", False): DNA_STRICT,
    ("dna", True): AMBIGUOUS_DNA,
    ("rna", False): RNA_STRICT,
    ("rna", True): AMBIGUOUS_RNA,
    ("nucleotide", False): DNA_STRICT | RNA_STRICT,
    ("nucleotide", True): AMBIGUOUS_DNA | AMBIGUOUS_RNA,
    ("protein", False): PROTEIN_STANDARD,
    ("protein", True): PROTEIN_EXTENDED,
}
_NOISE = re.compile(r"[\s\d]+")
_SHOWN = 5


def clean(
    sequence: str,
    kind: Kind,
    *,
    name: str = "sequence",
    ambiguous: bool = True,
    max_length: int = MAX_LENGTH,
    keep_gaps: bool = False,
) -> str:
    """Return `sequence` upper-cased without FASTA header, whitespace or digits; check its alphabet.

    Raises ValueError for an empty sequence, a sequence over `max_length`, or letters outside
    the alphabet of `kind` (listing up to five offending characters with 1-based positions in
    the cleaned sequence). A 'nucleotide' sequence may use T or U, not both.
    """
    if not isinstance(sequence, str):
        raise ValueError(f"{name} must be text, got {type(sequence).__name__}")
    text = sequence.strip()
    if text.startswith(">"):
        lines = text.splitlines()
        if sum(1 for line in lines if line.startswith(">")) > 1:
            raise ValueError(f"{name} holds several FASTA records; pass one (or use bio_read_records)")
        text = "\n".join(lines[1:])
    text = _NOISE.sub("", text).upper()
    if not keep_gaps:
        text = text.replace("-", "").replace(".", "")
    if not text:
        raise ValueError(f"{name} is empty")
    if len(text) > max_length:
        raise ValueError(f"{name} has {len(text):,} residues; the limit is {max_length:,}")
    allowed = _ALPHABETS[(kind, ambiguous)] | (frozenset("-") if keep_gaps else frozenset())
    bad = [(i + 1, c) for i, c in enumerate(text) if c not in allowed]
    if bad:
        raise ValueError(_alphabet_message(name, kind, ambiguous, bad, text))
    if kind == "nucleotide" and "T" in text and "U" in text:
        raise ValueError(f"{name} mixes T (DNA) and U (RNA); use one or the other")
    return text


def is_rna(sequence: str) -> bool:
    """True for a cleaned nucleotide sequence written with U rather than T."""
    return "U" in sequence and "T" not in sequence


def to_dna(sequence: str) -> str:
    """A cleaned nucleotide sequence with U written as T."""
    return sequence.replace("U", "T")


def check_table(table: int) -> None:
    """Raise ValueError unless `table` is an NCBI genetic code id Biopython knows."""
    from Bio.Data import CodonTable

    if table not in CodonTable.unambiguous_dna_by_id:
        known = ", ".join(str(t) for t in sorted(CodonTable.unambiguous_dna_by_id))
        raise ValueError(f"unknown NCBI codon table {table}; known ids: {known}")


def frame_slice(dna: str, frame: int) -> tuple[str, int]:
    """The in-frame part of `dna` for reading frame 1..3 or -1..-3, and how many trailing bases were cut.

    Frames -1..-3 read the reverse complement, starting at its first, second or third base.
    """
    from Bio.Seq import reverse_complement

    if frame not in (1, 2, 3, -1, -2, -3):
        raise ValueError(f"frame must be 1, 2, 3, -1, -2 or -3, got {frame}")
    strand = dna if frame > 0 else reverse_complement(dna)
    part = strand[abs(frame) - 1 :]
    trailing = len(part) % 3
    return (part[: len(part) - trailing] if trailing else part), trailing


def _alphabet_message(name: str, kind: str, ambiguous: bool, bad: list[tuple[int, str]], text: str) -> str:
    shown = ", ".join(f"'{c}' at {p}" for p, c in bad[:_SHOWN])
    more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
    letters = "".join(sorted(_ALPHABETS[(kind, ambiguous)]))
    message = f"{name} has characters outside the {kind} alphabet ({letters}): {shown}{more}"
    hint = _hint(kind, text)
    return f"{message}. {hint}" if hint else message


def _hint(kind: str, text: str) -> str:
    letters = set(text)
    plain = sum(text.count(base) for base in "ACGTUN")
    if kind != "protein" and letters <= PROTEIN_EXTENDED and plain < 0.75 * len(text):
        return "This looks like a protein sequence."
    if kind == "dna" and "U" in letters:
        return "This looks like RNA (U): convert U to T or use the RNA option."
    if kind == "rna" and "T" in letters:
        return "This looks like DNA (T): convert T to U or use the DNA option."
    return ""
