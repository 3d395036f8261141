"""Find things in sequences: open reading frames in six frames and IUPAC motifs on both strands."""

from __future__ import annotations

import re
from typing import Any, Literal

import _seq
from Bio.Data import CodonTable
from Bio.Seq import Seq
from Bio.Seq import reverse_complement as _revcomp

from mcp_box_server import progress

_IUPAC = {
    "A": "A",
    "C": "C",
    "G": "G",
    "T": "T",
    "R": "AG",
    "Y": "CT",
    "S": "CG",
    "W": "AT",
    "K": "GT",
    "M": "AC",
    "B": "CGT",
    "D": "AGT",
    "H": "ACT",
    "V": "ACG",
    "N": "ACGT",
}
_MAX_MOTIF = 1_000
_MAX_MATCHES = 1_000


def find_orfs(
    sequence: str,
    min_length: int = 30,
    unit: Literal["aa", "nt"] = "aa",
    table: int = 1,
    start: Literal["ATG", "table", "stop_to_stop"] = "ATG",
    strands: Literal["both", "forward", "reverse"] = "both",
    include_partial: bool = False,
    max_results: int = 50,
) -> dict[str, Any]:
    """Find open reading frames (start codon ... stop codon) in all six reading frames.

    Each ORF runs from the first start codon after the previous in-frame stop to the next stop
    (the longest ORF per stop, as NCBI ORFfinder does). Positions are 1-based on the given
    (top) strand with start < end whatever the strand; `frame` is 1..3 for the forward strand
    and -1..-3 for the reverse complement, as in bio_translate. `protein_length` excludes the
    stop codon; `nt_length` includes it. Results are sorted longest first.

    Args:
        sequence: DNA or RNA sequence.
        min_length: shortest ORF to report, in the unit given by `unit`.
        unit: "aa" to measure min_length as protein length (stop excluded), "nt" as nucleotide
            length (stop codon included).
        table: NCBI genetic code id (1 standard, 11 bacterial, 2 vertebrate mitochondrial, ...).
        start: "ATG" (only ATG starts), "table" (every start codon of the genetic code, e.g. GTG
            and TTG in table 11), or "stop_to_stop" (any stretch between two stops).
        strands: search "both" strands, only "forward" or only "reverse".
        include_partial: also report ORFs that run off the end of the sequence without a stop.
        max_results: most ORFs to list (the total found is always given).

    Example:
        find_orfs("CCATGAAATTTGGGTAACC", min_length=3) -> {"orfs": [{"start": 3, "end": 17, "frame": 3,
        "strand": "+", "protein": "MKFG", ...}], ...}
    """
    _seq.check_table(table)
    if min_length < 0:
        raise ValueError(f"min_length must be 0 or more, got {min_length}")
    if max_results < 1:
        raise ValueError(f"max_results must be at least 1, got {max_results}")
    dna = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    code = CodonTable.unambiguous_dna_by_id[table]
    stops = frozenset(code.stop_codons)
    starts = frozenset(["ATG"] if start == "ATG" else code.start_codons)
    found: list[dict[str, Any]] = []
    frames_done = 0
    for strand in ("+", "-"):
        if (strand == "-" and strands == "forward") or (strand == "+" and strands == "reverse"):
            continue
        text = dna if strand == "+" else _revcomp(dna)
        for offset in range(3):
            progress(frames_done, 6, f"reading frame {offset + 1} of strand {strand}")
            frames_done += 1
            for begin, end, has_stop, complete in _scan(text, offset, starts, stops, start == "stop_to_stop"):
                if not complete and not include_partial:
                    continue
                orf = _describe(text, begin, end, has_stop, strand, table, start, len(dna))
                orf["complete"] = complete
                size = orf["protein_length"] if unit == "aa" else orf["nt_length"]
                if size >= min_length and orf["protein_length"] > 0:
                    found.append(orf)
    found.sort(key=lambda o: (-o["nt_length"], o["start"], o["strand"]))
    longest = found[0] if found else None
    summary = f"{len(found)} ORFs of at least {min_length} {unit}" + (
        f"; longest {longest['protein_length']} aa at {longest['start']}-{longest['end']} "
        f"(strand {longest['strand']}, frame {longest['frame']})"
        if longest
        else ""
    )
    return {
        "total_found": len(found),
        "orfs": found[:max_results],
        "truncated": len(found) > max_results,
        "sequence_length": len(dna),
        "summary": summary,
    }


def find_motif(
    sequence: str, motif: str, both_strands: bool = True, max_results: int = 200
) -> dict[str, Any]:
    """Find every occurrence of a DNA motif, with IUPAC codes (N, R, Y, W, S, ...), overlaps included.

    Positions are 1-based on the given (top) strand, start <= end. With both_strands=true the
    reverse complement of the motif is searched too; a site found on both strands at the same
    place (a palindrome such as GAATTC) is listed once with strand "both". `count` is the
    number of distinct sites.

    Args:
        sequence: DNA or RNA sequence to search.
        motif: DNA/RNA motif, IUPAC codes allowed (e.g. "GAATTC", "TATAWAW", "GGNCC").
        both_strands: also search the reverse strand.
        max_results: most matches to list (the counts are always complete).

    Example:
        find_motif("AGAATTCAGAATTC", "GAATTC") -> {"count": 2, "matches": [{"start": 2, "end": 7,
        "strand": "both", ...}, ...]}
    """
    if max_results < 1:
        raise ValueError(f"max_results must be at least 1, got {max_results}")
    dna = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    pattern = _seq.to_dna(_seq.clean(motif, "nucleotide", name="motif", max_length=_MAX_MOTIF))
    size = len(pattern)
    strands: dict[int, str] = {}  # 0-based start -> "+", "-" or "both"
    queries = [("+", pattern)]
    rc_pattern = _revcomp(pattern)
    if both_strands:
        queries.append(("-", rc_pattern))
    for strand, query in queries:
        regex = re.compile("(?=" + "".join(f"[{_IUPAC[c]}]" for c in query) + ")")
        for hit in regex.finditer(dna):
            begin = hit.start()
            seen = strands.get(begin)
            strands[begin] = strand if seen is None or seen == strand else "both"
    starts = sorted(strands)
    plus = sum(1 for i in starts if strands[i] != "-")
    minus = sum(1 for i in starts if strands[i] != "+")
    ordered = [
        {
            "start": i + 1,
            "end": i + size,
            "strand": strands[i],
            "matched": dna[i : i + size] if strands[i] != "-" else _revcomp(dna[i : i + size]),
        }
        for i in starts[:max_results]
    ]
    return {
        "count": len(starts),
        "count_forward": plus,
        "count_reverse": minus,
        "palindromic": rc_pattern == pattern,
        "matches": ordered[:max_results],
        "truncated": len(starts) > max_results,
        "positions": [i + 1 for i in starts[:_MAX_MATCHES]],
        "summary": f"{len(starts)} sites of {pattern} ({plus} forward, {minus} reverse)",
    }


def _scan(
    text: str, offset: int, starts: frozenset[str], stops: frozenset[str], stop_to_stop: bool
) -> list[tuple[int, int, bool, bool]]:
    """(begin, end exclusive, ends with a stop, complete) of each ORF in one frame of `text`.

    Complete means bounded by a start (or, stop-to-stop, a previous stop) and a stop; the
    stretch before the first stop in stop-to-stop mode and a tail without stop are partial.
    """
    found = []
    begin: int | None = offset if stop_to_stop else None
    bounded = not stop_to_stop
    last = offset
    for i in range(offset, len(text) - 2, 3):
        codon = text[i : i + 3]
        last = i + 3
        if codon in stops:
            if begin is not None:
                found.append((begin, i + 3, True, bounded))
            begin = i + 3 if stop_to_stop else None
            bounded = True
        elif begin is None and codon in starts:
            begin = i
    if begin is not None and begin < last:
        found.append((begin, last, False, False))
    return found


def _describe(
    text: str, begin: int, end: int, has_stop: bool, strand: str, table: int, start: str, n: int
) -> dict[str, Any]:
    coding = text[begin:end]
    protein = str(Seq(coding).translate(table=table))
    if has_stop:
        protein = protein[:-1]
    if start == "table" and protein:
        protein = "M" + protein[1:]  # alternative start codons are read as methionine
    if strand == "+":
        first, last, frame = begin + 1, end, begin % 3 + 1
    else:
        first, last, frame = n - end + 1, n - begin, -(begin % 3 + 1)
    return {
        "start": first,
        "end": last,
        "strand": strand,
        "frame": frame,
        "nt_length": end - begin,
        "protein_length": len(protein),
        "has_stop": has_stop,
        "start_codon": None if start == "stop_to_stop" else coding[:3],
        "protein": protein,
    }
