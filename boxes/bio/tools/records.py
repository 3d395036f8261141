"""Read sequence files pasted as text: FASTA and GenBank records, with a summary of their features."""

from __future__ import annotations

import io
import warnings
from collections import Counter
from typing import Any, Literal

from Bio import SeqIO

_MAX_TEXT = 10_000_000
_MAX_RECORDS = 10_000
_MAX_SEQUENCE_SHOWN = 10_000
_QUALIFIERS = ("gene", "product", "locus_tag", "protein_id", "note")


def read_records(
    text: str,
    format: Literal["auto", "fasta", "genbank"] = "auto",
    include_sequence: bool = True,
    max_features: int = 50,
) -> dict[str, Any]:
    """Parse FASTA or GenBank text into records: ids, descriptions, lengths, sequences, features.

    Use it when the question pastes a sequence file (several FASTA records, or a GenBank entry
    with LOCUS/FEATURES/ORIGIN) and you need each record's id, length or sequence, or the
    positions of its genes and CDS. Feature positions are 1-based and inclusive; joined
    locations give their parts. Sequences longer than 10,000 residues are cut short in the
    reply (the length is always exact).

    Args:
        text: the file content, FASTA (starts with '>') or GenBank (starts with 'LOCUS').
        format: "fasta", "genbank" or "auto" to decide from the first line.
        include_sequence: return each record's sequence.
        max_features: most features to list per GenBank record (counts by type are complete).

    Example:
        read_records(">a first\\nATGC\\n>b\\nGG\\n") -> {"count": 2, "records": [{"id": "a",
        "length": 4, ...}, {"id": "b", "length": 2, ...}], ...}
    """
    if len(text) > _MAX_TEXT:
        raise ValueError(f"text has {len(text):,} characters; the limit is {_MAX_TEXT:,}")
    body = text.strip()
    if not body:
        raise ValueError("text is empty")
    fmt = _detect(body) if format == "auto" else format
    if max_features < 0:
        raise ValueError(f"max_features must be 0 or more, got {max_features}")
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for number, record in enumerate(SeqIO.parse(io.StringIO(body + "\n"), fmt), start=1):
                if number > _MAX_RECORDS:
                    raise ValueError(f"more than {_MAX_RECORDS:,} records; split the file")
                records.append(_describe(record, include_sequence, max_features))
        except ValueError as exc:
            raise ValueError(f"cannot parse as {fmt}: {exc}") from None
    if not records:
        raise ValueError(f"no {fmt} records found; FASTA records start with '>', GenBank with 'LOCUS'")
    lengths = [r["length"] for r in records]
    return {
        "format": fmt,
        "count": len(records),
        "ids": [r["id"] for r in records],
        "lengths": lengths,
        "total_length": sum(lengths),
        "records": records,
        "warnings": sorted({str(w.message) for w in caught}),
        "summary": f"{len(records)} {fmt} record(s), lengths {', '.join(map(str, lengths[:20]))}"
        + (" ..." if len(lengths) > 20 else ""),
    }


def _detect(body: str) -> str:
    if body.startswith(">"):
        return "fasta"
    if body.startswith("LOCUS"):
        return "genbank"
    raise ValueError("cannot tell the format: FASTA starts with '>', GenBank with 'LOCUS'; set format")


def _describe(record: Any, include_sequence: bool, max_features: int) -> dict[str, Any]:
    sequence = str(record.seq).upper()
    entry: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "length": len(sequence),
    }
    letters = set(sequence)
    if letters and letters <= set("ACGTUN"):
        gc = sum(sequence.count(b) for b in "GC")
        counted = sum(sequence.count(b) for b in "ACGTU")
        entry["gc_percent"] = 100.0 * gc / counted if counted else None
    annotations = record.annotations
    for key in ("molecule_type", "topology", "organism", "date"):
        if key in annotations:
            entry[key] = annotations[key]
    if include_sequence:
        entry["sequence"] = sequence[:_MAX_SEQUENCE_SHOWN]
        entry["sequence_truncated"] = len(sequence) > _MAX_SEQUENCE_SHOWN
    if record.features:
        entry["feature_counts"] = dict(sorted(Counter(f.type for f in record.features).items()))
        entry["features"] = [_feature(f) for f in record.features[:max_features]]
    return entry


def _feature(feature: Any) -> dict[str, Any]:
    location = feature.location
    strand = {1: "+", -1: "-"}.get(location.strand, ".")
    out: dict[str, Any] = {
        "type": feature.type,
        "start": int(location.start) + 1,
        "end": int(location.end),
        "strand": strand,
        "length": len(location),
    }
    parts = getattr(location, "parts", [location])
    if len(parts) > 1:
        out["parts"] = [[int(p.start) + 1, int(p.end)] for p in parts]
    for key in _QUALIFIERS:
        if key in feature.qualifiers:
            out[key] = feature.qualifiers[key][0]
    if "translation" in feature.qualifiers:
        out["translation_length"] = len(feature.qualifiers["translation"][0])
    return out
