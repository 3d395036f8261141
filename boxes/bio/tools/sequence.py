"""Basic sequence operations: complements, transcription, translation, GC content and skew, codon usage."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import _seq
from Bio.Data import CodonTable
from Bio.Data.CodonTable import TranslationError
from Bio.Seq import Seq, complement_rna, reverse_complement_rna
from Bio.Seq import complement as _complement_dna
from Bio.Seq import reverse_complement as _reverse_complement_dna

from mcp_box_server import line_chart

Frame = Literal[1, 2, 3, -1, -2, -3]

_MAX_WINDOWS = 10_000


def reverse_complement(sequence: str) -> dict[str, Any]:
    """Reverse complement of a DNA or RNA sequence (IUPAC ambiguity codes are complemented too).

    Use it to get the other strand read 5'->3', e.g. the binding site of a reverse primer.
    RNA input (U, no T) gives RNA output. Spaces, digits and a FASTA header are ignored.

    Args:
        sequence: DNA or RNA sequence, 5'->3'.

    Example:
        reverse_complement("ATGCGT") -> {"sequence": "ACGCAT", ...}
    """
    seq = _seq.clean(sequence, "nucleotide")
    rna = _seq.is_rna(seq)
    result = reverse_complement_rna(seq) if rna else _reverse_complement_dna(seq)
    return {"sequence": result, "length": len(result), "molecule": "RNA" if rna else "DNA"}


def complement(sequence: str) -> dict[str, Any]:
    """Complement of a DNA or RNA sequence, NOT reversed (reads 3'->5' against the input).

    Use bio_reverse_complement instead when you want the other strand written 5'->3'.

    Args:
        sequence: DNA or RNA sequence.

    Example:
        complement("ATGC") -> {"sequence": "TACG", ...}
    """
    seq = _seq.clean(sequence, "nucleotide")
    rna = _seq.is_rna(seq)
    result = complement_rna(seq) if rna else _complement_dna(seq)
    return {"sequence": result, "length": len(result), "molecule": "RNA" if rna else "DNA"}


def transcribe(sequence: str, template_strand: bool = False) -> dict[str, Any]:
    """Transcribe DNA into mRNA (T -> U).

    By default the input is the coding (sense) strand, so the mRNA equals it with U for T.
    Set template_strand=true when the input is the template (antisense) strand: the mRNA is
    then its reverse complement with U for T.

    Args:
        sequence: DNA sequence, 5'->3'.
        template_strand: true if `sequence` is the template (antisense) strand.

    Example:
        transcribe("ATGGCC") -> {"rna": "AUGGCC", ...}
    """
    dna = _seq.clean(sequence, "dna")
    coding = _reverse_complement_dna(dna) if template_strand else dna
    rna = coding.replace("T", "U")
    return {"rna": rna, "length": len(rna), "template_strand": template_strand}


def back_transcribe(sequence: str) -> dict[str, Any]:
    """Convert RNA to the matching DNA (coding strand): U -> T.

    Args:
        sequence: RNA sequence, 5'->3'.

    Example:
        back_transcribe("AUGGCC") -> {"dna": "ATGGCC", ...}
    """
    rna = _seq.clean(sequence, "rna")
    dna = rna.replace("U", "T")
    return {"dna": dna, "length": len(dna)}


def translate(
    sequence: str,
    table: int = 1,
    frame: Frame = 1,
    to_stop: bool = False,
    stop_symbol: str = "*",
    cds: bool = False,
) -> dict[str, Any]:
    """Translate DNA or RNA into protein with an NCBI genetic code, in any of the six reading frames.

    Stop codons appear as `stop_symbol` unless to_stop=true, which ends translation at the first
    stop. Trailing bases that do not fill a codon are dropped and counted. With cds=true the
    sequence must be a complete coding sequence (start codon, length a multiple of 3, one final
    stop, no internal stop); the start codon is then translated as M and the stop is not shown.

    Args:
        sequence: DNA or RNA sequence, 5'->3'.
        table: NCBI genetic code id (1 standard, 2 vertebrate mitochondrial, 11 bacterial, ...).
        frame: reading frame 1, 2, 3 (forward, starting at base 1, 2, 3) or -1, -2, -3 (reverse
            complement, starting at its base 1, 2, 3).
        to_stop: stop at the first stop codon instead of translating through it.
        stop_symbol: character written for stop codons (single character).
        cds: check the sequence is one complete coding sequence; error if not.

    Example:
        translate("ATGGCCTAA") -> {"protein": "MA*", ...}
    """
    _seq.check_table(table)
    if len(stop_symbol) != 1:
        raise ValueError(f"stop_symbol must be one character, got {stop_symbol!r}")
    dna = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    if cds and frame != 1:
        raise ValueError("cds=true checks a complete coding sequence; use frame=1 (pass the CDS itself)")
    if cds and len(dna) % 3:
        raise ValueError(f"cds=true: length {len(dna)} is not a multiple of three")
    coding, trailing = _seq.frame_slice(dna, frame)
    if not coding:
        raise ValueError(f"no complete codon in frame {frame} of a {len(dna)}-nt sequence")
    try:
        protein = str(Seq(coding).translate(table=table, to_stop=to_stop, stop_symbol=stop_symbol, cds=cds))
    except TranslationError as exc:
        raise ValueError(f"translation failed: {exc}") from None
    codons = len(coding) // 3
    stops = _stop_positions(coding, table)
    return {
        "protein": protein,
        "length": len(protein),
        "frame": frame,
        "table": table,
        "codons": codons,
        "stop_codon_positions": stops,
        "trailing_bases_ignored": trailing,
    }


def gc_content(sequence: str, window: int = 0, step: int = 0) -> dict[str, Any]:
    """GC content (percent of G+C) of a DNA or RNA sequence, overall and optionally per window.

    Ambiguous bases other than S (G or C) and W (A or T) are left out of the count and of the
    denominator; S counts as GC and W as AT.

    Args:
        sequence: DNA or RNA sequence.
        window: window size in bases for a sliding-window profile; 0 for the overall value only.
        step: distance between window starts; 0 means the same as `window` (non-overlapping).

    Example:
        gc_content("ATGC") -> {"gc_percent": 50.0, "gc_count": 2, ...}
    """
    seq = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    gc, counted = _gc_counts(seq)
    result: dict[str, Any] = {
        "gc_percent": 100.0 * gc / counted if counted else None,
        "gc_fraction": gc / counted if counted else None,
        "gc_count": gc,
        "at_count": counted - gc,
        "ambiguous_count": len(seq) - counted,
        "length": len(seq),
    }
    if window:
        windows = []
        for start, part in _windows(seq, window, step):
            g, n = _gc_counts(part)
            windows.append(
                {"start": start, "end": start + len(part) - 1, "gc_percent": 100.0 * g / n if n else None}
            )
        result["windows"] = windows
    return result


def gc_skew_plot(sequence: str, window: int = 100, step: int = 0) -> list:
    """GC skew and cumulative GC skew along a sequence, as a picture (PNG) with a summary line.

    The blue line is the skew (G - C) / (G + C) per window, the red one its running sum: the
    cumulative minimum marks a likely replication origin, the maximum the terminus.

    Args:
        sequence: DNA or RNA sequence.
        window: window size in bases (at least 1).
        step: distance between window starts; 0 means the same as `window`.

    Example:
        gc_skew_plot("GGGCCC" * 50, window=30) -> ["GC skew of 300 bases in 10 windows ...", <image/png>]
    """
    skew = gc_skew(sequence, window, step)
    windows = skew["windows"]
    middle = [(w["start"] + w["end"]) / 2 for w in windows]
    series = {
        "skew": list(zip(middle, (w["skew"] for w in windows), strict=True)),
        "cumulative": list(zip(middle, (w["cumulative"] for w in windows), strict=True)),
    }
    low, high = skew["cumulative_min_window"], skew["cumulative_max_window"]
    caption = (
        f"GC skew of {skew['length']} bases in {len(windows)} windows (blue: skew, red: cumulative); "
        f"overall skew {skew['overall_skew']:.4f}; cumulative minimum at {low['start']}-{low['end']}, "
        f"maximum at {high['start']}-{high['end']}"
    )
    return [caption, line_chart(series)]


def gc_skew(sequence: str, window: int = 100, step: int = 0) -> dict[str, Any]:
    """GC skew (G - C) / (G + C) per window and overall, with the cumulative skew profile.

    Use it to locate a bacterial replication origin (cumulative skew minimum) or terminus
    (maximum), or to compare strand composition.

    Args:
        sequence: DNA or RNA sequence.
        window: window size in bases (at least 1).
        step: distance between window starts; 0 means the same as `window`.

    Example:
        gc_skew("GGGC", window=4) -> {"overall_skew": 0.5, ...}
    """
    seq = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    windows = []
    cumulative = 0.0
    lowest = highest = None
    for start, part in _windows(seq, window, step):
        g, c = part.count("G"), part.count("C")
        skew = (g - c) / (g + c) if g + c else 0.0
        cumulative += skew
        entry = {"start": start, "end": start + len(part) - 1, "skew": skew, "cumulative": cumulative}
        windows.append(entry)
        if lowest is None or cumulative < lowest["cumulative"]:
            lowest = entry
        if highest is None or cumulative > highest["cumulative"]:
            highest = entry
    g, c = seq.count("G"), seq.count("C")
    return {
        "overall_skew": (g - c) / (g + c) if g + c else 0.0,
        "g_count": g,
        "c_count": c,
        "length": len(seq),
        "windows": windows,
        "cumulative_min_window": lowest,
        "cumulative_max_window": highest,
    }


def codon_usage(sequence: str, table: int = 1, frame: Frame = 1) -> dict[str, Any]:
    """Count the codons of a coding sequence and their frequencies.

    For each codon seen: count, amino acid, frequency among all codons, per-thousand value and
    fraction among the synonymous codons of its amino acid. Codons with ambiguous bases are
    counted apart. Trailing bases that do not fill a codon are ignored and counted.

    Args:
        sequence: DNA or RNA coding sequence, 5'->3'.
        table: NCBI genetic code id, used to name the amino acid of each codon.
        frame: reading frame 1, 2, 3 or -1, -2, -3.

    Example:
        codon_usage("ATGAAAAAGTAA") -> {"total_codons": 4, "codons": {"AAA": {"count": 1, ...}, ...}}
    """
    _seq.check_table(table)
    dna = _seq.to_dna(_seq.clean(sequence, "nucleotide"))
    coding, trailing = _seq.frame_slice(dna, frame)
    if not coding:
        raise ValueError(f"no complete codon in frame {frame} of a {len(dna)}-nt sequence")
    code = CodonTable.unambiguous_dna_by_id[table]
    counts = Counter(coding[i : i + 3] for i in range(0, len(coding), 3))
    ambiguous = {codon: n for codon, n in counts.items() if not set(codon) <= _seq.DNA_STRICT}
    clear = {codon: n for codon, n in counts.items() if codon not in ambiguous}
    total = sum(clear.values())
    per_amino: Counter[str] = Counter()
    for codon, n in clear.items():
        per_amino[_amino(codon, code)] += n
    codons = {}
    for codon in sorted(clear):
        amino = _amino(codon, code)
        codons[codon] = {
            "count": clear[codon],
            "amino_acid": amino,
            "frequency": clear[codon] / total,
            "per_thousand": 1000.0 * clear[codon] / total,
            "fraction_of_amino_acid": clear[codon] / per_amino[amino],
        }
    top = max(sorted(clear), key=lambda c: clear[c]) if clear else None
    return {
        "total_codons": total,
        "distinct_codons": len(codons),
        "codons": codons,
        "amino_acid_counts": dict(sorted(per_amino.items())),
        "ambiguous_codons": dict(sorted(ambiguous.items())),
        "trailing_bases_ignored": trailing,
        "most_common": top,
        "table": table,
    }


def _amino(codon: str, code: CodonTable.CodonTable) -> str:
    return "*" if codon in code.stop_codons else code.forward_table[codon]


def _stop_positions(coding: str, table: int) -> list[int]:
    """1-based codon numbers of the stop codons in an in-frame sequence."""
    stops = set(CodonTable.unambiguous_dna_by_id[table].stop_codons)
    return [i // 3 + 1 for i in range(0, len(coding) - 2, 3) if coding[i : i + 3] in stops]


def _gc_counts(seq: str) -> tuple[int, int]:
    """(G+C+S count, count of bases with a definite GC/AT status)."""
    gc = seq.count("G") + seq.count("C") + seq.count("S")
    at = seq.count("A") + seq.count("T") + seq.count("W")
    return gc, gc + at


def _windows(seq: str, window: int, step: int) -> list[tuple[int, str]]:
    """(1-based start, text) of each window, covering the whole sequence; only the last may be shorter."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if step < 0:
        raise ValueError(f"step must be 0 (same as window) or positive, got {step}")
    step = step or window
    starts = list(range(0, max(len(seq) - window, 0) + 1, step))
    if starts[-1] + window < len(seq) and starts[-1] + step < len(seq):
        starts.append(starts[-1] + step)  # the shorter tail window
    if len(starts) > _MAX_WINDOWS:
        raise ValueError(
            f"{len(starts):,} windows is too many (limit {_MAX_WINDOWS:,}); use a larger window or step"
        )
    return [(i + 1, seq[i : i + window]) for i in starts]
