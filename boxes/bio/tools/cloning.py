"""Cloning calculations: restriction digests with Bio.Restriction and in-silico PCR."""

from __future__ import annotations

import difflib
from itertools import pairwise
from typing import Any

import _seq
from Bio.Restriction import AllEnzymes
from Bio.Seq import Seq
from Bio.Seq import reverse_complement as _revcomp

_MAX_ENZYMES = 30
_MAX_PRIMER = 200
_MAX_PRODUCTS = 50
_ENZYMES = {str(enzyme).lower(): enzyme for enzyme in AllEnzymes}


def restriction_digest(sequence: str, enzymes: list[str], circular: bool = False) -> dict[str, Any]:
    """Digest DNA with one or more restriction enzymes (REBASE names, e.g. EcoRI, BamHI, NotI).

    Gives each enzyme's recognition site, cut positions and overhang, and the fragments of the
    combined digest. A cut position N means the top strand is cut between nucleotides N and N+1
    (1-based). For a circular molecule a fragment may span the origin (its end is then smaller
    than its start); k cuts give k fragments, while a linear molecule gives k + 1.

    Args:
        sequence: double-stranded DNA, top strand 5'->3'.
        enzymes: enzyme names, case-insensitive (e.g. ["EcoRI", "HindIII"]).
        circular: true for a circular molecule such as a plasmid.

    Example:
        restriction_digest("AAGAATTCAA", ["EcoRI"]) -> {"fragment_lengths": [3, 7], "cut_positions": [3], ...}
    """
    dna = _seq.clean(sequence, "dna")
    chosen = _lookup(enzymes)
    seq = Seq(dna)
    n = len(dna)
    per_enzyme = []
    cuts: set[int] = set()
    for enzyme in chosen:
        found = enzyme.search(seq, linear=not circular)
        entry: dict[str, Any] = {"enzyme": str(enzyme), "site": str(enzyme.site)}
        if enzyme.is_unknown():  # REBASE knows the site but not where it cuts
            entry |= {"cut_pattern": "unknown", "overhang": "unknown", "cut_positions": [], "cuts": 0}
            entry["note"] = f"cut position not known; {len(found)} site(s) found, not used for fragments"
            per_enzyme.append(entry)
            continue
        positions = sorted({_cut_after(p, n, circular) for p in found})
        positions = [p for p in positions if circular or 1 <= p <= n - 1]
        cuts.update(positions)
        pattern = f"{enzyme.site} (cuts on both sides)" if enzyme.cut_twice() else enzyme.elucidate()
        entry |= {
            "cut_pattern": pattern,
            "overhang": _overhang(enzyme),
            "cut_positions": positions,
            "cuts": len(positions),
        }
        per_enzyme.append(entry)
    ordered = sorted(cuts)
    fragments = _fragments(ordered, n, circular)
    lengths = [f["length"] for f in fragments]
    cutting = ", ".join(f"{e['enzyme']} x{e['cuts']}" for e in per_enzyme)
    return {
        "enzymes": per_enzyme,
        "cut_positions": ordered,
        "fragment_count": len(fragments),
        "fragments": fragments,
        "fragment_lengths": lengths,
        "fragment_lengths_sorted": sorted(lengths, reverse=True),
        "topology": "circular" if circular else "linear",
        "sequence_length": n,
        "summary": f"{cutting}; {len(fragments)} fragments: {', '.join(map(str, lengths))} bp",
    }


def pcr_product(
    template: str,
    forward_primer: str,
    reverse_primer: str,
    circular: bool = False,
    min_anneal: int = 15,
    max_product: int = 50_000,
) -> dict[str, Any]:
    """Predict PCR products of a primer pair on a DNA template (in-silico PCR, perfect matches).

    Both primers are written 5'->3'; the reverse primer anneals to the top strand, so its
    reverse complement is found on the given sequence. A primer may carry a 5' tail (e.g. an
    added restriction site): it anneals when at least `min_anneal` bases at its 3' end match
    exactly, and the tail becomes part of the product. Primers swapped in orientation are found
    too. The product runs from the forward primer's 5' end to the reverse primer's 5' end.

    Args:
        template: DNA template, top strand 5'->3'.
        forward_primer: forward primer, 5'->3'.
        reverse_primer: reverse primer, 5'->3'.
        circular: true for a circular template (a product may span the origin).
        min_anneal: fewest 3' bases of a primer that must match the template.
        max_product: longest product to report, in bp.

    Example:
        pcr_product("GGGATGCATGCAAAAAAAAACTGACTGATCGAAT", "ATGCATGC", "GATCAGTCAG", min_anneal=8)
        -> {"product_count": 1, "product_lengths": [27], ...}
    """
    dna = _seq.clean(template, "dna")
    fwd = _seq.clean(forward_primer, "dna", name="forward_primer", max_length=_MAX_PRIMER)
    rev = _seq.clean(reverse_primer, "dna", name="reverse_primer", max_length=_MAX_PRIMER)
    if min_anneal < 6:
        raise ValueError(f"min_anneal must be at least 6, got {min_anneal}")
    n = len(dna)
    search = dna + dna[: _MAX_PRIMER - 1] if circular else dna
    # Top-strand sites: (start of the annealed part, primer, 5' tail) and, for primers that
    # anneal to the top strand, (end of the annealed part, exclusive; primer; tail as top strand).
    plus: list[tuple[int, str, str]] = []
    minus: list[tuple[int, str, str]] = []
    for name, primer in (("forward_primer", fwd), ("reverse_primer", rev)):
        for start, tail in _anneal(search, primer, min_anneal, n):
            plus.append((start, name, tail))
        for end, tail in _anneal(search, _revcomp(primer), min_anneal, n, three_prime_left=True):
            minus.append((end, name, tail))
    products = []
    for p_start, p_name, p_tail in plus:
        p_size = len(fwd if p_name == "forward_primer" else rev) - len(p_tail)
        for m_end, m_name, m_tail in minus:
            m_size = len(fwd if m_name == "forward_primer" else rev) - len(m_tail)
            span = m_end - p_start
            if circular and span <= 0:
                span += n
            if span < max(p_size, m_size) or span > n:
                continue
            length = len(p_tail) + span + len(m_tail)
            if length > max_product:
                continue
            body = (dna + dna)[p_start : p_start + span] if circular else dna[p_start:m_end]
            products.append(
                {
                    "length": length,
                    "start": p_start % n + 1,
                    "end": (m_end - 1) % n + 1,
                    "forward": p_name,
                    "reverse": m_name,
                    "sequence": p_tail + body + m_tail,
                }
            )
    products.sort(key=lambda p: (p["start"], p["length"]))
    sizes = [p["length"] for p in products]
    return {
        "product_count": len(products),
        "products": products[:_MAX_PRODUCTS],
        "product_lengths": sizes,
        "forward_sites": sorted({s % n + 1 for s, name, _ in plus if name == "forward_primer"}),
        "reverse_sites": sorted({(e - 1) % n + 1 for e, name, _ in minus if name == "reverse_primer"}),
        "summary": (
            f"{len(products)} product(s): {', '.join(map(str, sizes))} bp" if products else "no product"
        ),
    }


def _lookup(names: list[str]) -> list[Any]:
    if not names:
        raise ValueError("give at least one enzyme name, e.g. ['EcoRI']")
    if len(names) > _MAX_ENZYMES:
        raise ValueError(f"{len(names)} enzymes given; the limit is {_MAX_ENZYMES}")
    found, unknown = [], []
    for raw in names:
        key = raw.strip().lower()
        enzyme = _ENZYMES.get(key)
        if enzyme is None:
            unknown.append(raw)
        elif enzyme not in found:
            found.append(enzyme)
    if unknown:
        parts = []
        for raw in unknown:
            close = difflib.get_close_matches(raw.strip().lower(), list(_ENZYMES), n=4, cutoff=0.6)
            names_close = ", ".join(str(_ENZYMES[c]) for c in close)
            parts.append(f"'{raw}'" + (f" (did you mean {names_close}?)" if close else ""))
        raise ValueError(f"unknown restriction enzyme {'; '.join(parts)}; names follow REBASE, e.g. EcoRI")
    return found


def _cut_after(position: int, n: int, circular: bool) -> int:
    """Biopython reports the first base after the cut; return the last base before it."""
    after = position - 1
    return n if circular and after == 0 else after


def _overhang(enzyme: Any) -> str:
    if enzyme.is_blunt():
        return "blunt"
    kind = "5'" if enzyme.is_5overhang() else "3'" if enzyme.is_3overhang() else "unknown"
    sequence = str(enzyme.ovhgseq) if kind != "unknown" else ""
    return f"{kind} {sequence}".strip()


def _fragments(cuts: list[int], n: int, circular: bool) -> list[dict[str, Any]]:
    """Fragments between cuts, 1-based inclusive; in a circle the last one wraps past the origin."""
    if not cuts:
        return [{"start": 1, "end": n, "length": n}]
    if not circular:
        bounds = [0, *cuts, n]
        return [{"start": a + 1, "end": b, "length": b - a} for a, b in pairwise(bounds)]
    pieces = [{"start": a + 1, "end": b, "length": b - a} for a, b in pairwise(cuts)]
    last, first = cuts[-1], cuts[0]
    pieces.append({"start": last % n + 1, "end": first, "length": n - last + first})
    return pieces


def _anneal(
    search: str, site: str, min_anneal: int, n: int, three_prime_left: bool = False
) -> list[tuple[int, str]]:
    """Where the primer's 3' part (at least `min_anneal` bases) matches `search` exactly.

    For a forward site the 3' end is on the right; for a reverse-complemented primer it is on
    the left. Returns (start, or end exclusive for reverse sites; tail that did not anneal).
    Only sites starting inside the first `n` bases count, so a circular search sees each once.
    """
    hits: dict[int, str] = {}
    for size in range(len(site), min(min_anneal, len(site)) - 1, -1):
        part = site[:size] if three_prime_left else site[len(site) - size :]
        tail = site[size:] if three_prime_left else site[: len(site) - size]
        begin = search.find(part)
        while begin != -1:
            if begin < n:
                key = begin + size if three_prime_left else begin
                hits.setdefault(key, tail)
            begin = search.find(part, begin + 1)
        if hits:
            break
    return sorted(hits.items())
