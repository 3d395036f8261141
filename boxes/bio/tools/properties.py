"""Physical properties: primer melting temperature, molecular weight, ProtParam protein parameters."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import _seq
from Bio.SeqUtils import MeltingTemp
from Bio.SeqUtils import molecular_weight as _molecular_weight
from Bio.SeqUtils.ProtParam import ProteinAnalysis

_MAX_OLIGO = 5_000
_MAX_PROTEIN = 100_000
_GC_FORMULA = (81.5, 0.41, 600, 1)
"""Tm = 81.5 + 0.41 * %GC - 600 / N (+ salt term): Biopython's default Tm_GC value set 7."""
_NN_TABLES = {
    "DNA_NN1": MeltingTemp.DNA_NN1,
    "DNA_NN2": MeltingTemp.DNA_NN2,
    "DNA_NN3": MeltingTemp.DNA_NN3,
    "DNA_NN4": MeltingTemp.DNA_NN4,
}


def melting_temp(
    sequence: str,
    method: Literal["nn", "wallace", "gc"] = "nn",
    na_mm: float = 50.0,
    k_mm: float = 0.0,
    tris_mm: float = 0.0,
    mg_mm: float = 0.0,
    dntps_mm: float = 0.0,
    primer_nm: float = 25.0,
    target_nm: float = 25.0,
    nn_table: Literal["DNA_NN1", "DNA_NN2", "DNA_NN3", "DNA_NN4"] = "DNA_NN3",
    salt_correction: int | None = None,
) -> dict[str, Any]:
    """Melting temperature (Tm, degrees C) of a DNA primer or oligo with Bio.SeqUtils.MeltingTemp.

    "nn" is the nearest-neighbour method (Tm_NN, the most accurate; defaults are Biopython's:
    Allawi & SantaLucia 1997 table, 50 mM Na+, 25 nM of each strand, salt correction 5).
    "wallace" is the rule of thumb 4*(G+C) + 2*(A+T) for short primers (Tm_Wallace).
    "gc" is the GC-content formula 81.5 + 0.41*%GC - 600/N + 16.6*log10([Na+] in M) (Tm_GC).
    "wallace" ignores salts; primer_nm, target_nm and nn_table only apply to "nn".

    Args:
        sequence: DNA primer 5'->3' (A, C, G, T only).
        method: "nn" (nearest neighbour), "wallace" (4+2 rule) or "gc" (GC-content formula).
        na_mm: Na+ concentration in mM.
        k_mm: K+ concentration in mM.
        tris_mm: Tris buffer concentration in mM.
        mg_mm: Mg2+ concentration in mM.
        dntps_mm: total dNTP concentration in mM (binds Mg2+).
        primer_nm: concentration of the primer (higher-concentration strand) in nM.
        target_nm: concentration of the complementary strand in nM.
        nn_table: nearest-neighbour table: DNA_NN1 Breslauer 1986, DNA_NN2 Sugimoto 1996,
            DNA_NN3 Allawi & SantaLucia 1997, DNA_NN4 SantaLucia & Hicks 2004.
        salt_correction: Biopython salt-correction method 0-7 (0 = none); null uses the method's
            default (5 for "nn", 1 = 16.6*log10([Na+]) for "gc").

    Example:
        melting_temp("AGCTAGCTAGCTAGCTAGCT", method="wallace") -> {"tm_celsius": 60.0, ...}
    """
    dna = _seq.clean(sequence, "dna", ambiguous=False, max_length=_MAX_OLIGO)
    for name, value in (("na_mm", na_mm), ("k_mm", k_mm), ("tris_mm", tris_mm), ("mg_mm", mg_mm)):
        if value < 0:
            raise ValueError(f"{name} cannot be negative, got {value}")
    if dntps_mm < 0 or primer_nm <= 0 or target_nm < 0:
        raise ValueError("dntps_mm and target_nm must be >= 0 and primer_nm > 0")
    if salt_correction is not None and not 0 <= salt_correction <= 7:
        raise ValueError(f"salt_correction must be 0 to 7, got {salt_correction}")
    salts = {"Na": na_mm, "K": k_mm, "Tris": tris_mm, "Mg": mg_mm, "dNTPs": dntps_mm}
    if method == "wallace":
        tm = MeltingTemp.Tm_Wallace(dna)
        used: dict[str, Any] = {}
    elif method == "gc":
        saltcorr = 1 if salt_correction is None else salt_correction
        try:
            tm = MeltingTemp.Tm_GC(dna, userset=_GC_FORMULA, saltcorr=saltcorr, **salts)
        except ValueError as exc:
            raise ValueError(f"Tm_GC failed: {exc}") from None
        used = {**salts, "saltcorr": saltcorr}
    else:
        if len(dna) < 2:
            raise ValueError("the nearest-neighbour method needs at least 2 bases")
        saltcorr = 5 if salt_correction is None else salt_correction
        try:
            tm = MeltingTemp.Tm_NN(
                dna,
                nn_table=_NN_TABLES[nn_table],
                dnac1=primer_nm,
                dnac2=target_nm,
                saltcorr=saltcorr,
                **salts,
            )
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"Tm_NN failed: {exc}") from None
        used = {
            **salts,
            "dnac1_nM": primer_nm,
            "dnac2_nM": target_nm,
            "table": nn_table,
            "saltcorr": saltcorr,
        }
    gc = sum(dna.count(b) for b in "GC")
    result = {
        "tm_celsius": tm,
        "method": method,
        "length": len(dna),
        "gc_percent": 100.0 * gc / len(dna),
        "parameters": used,
        "summary": f"Tm = {tm:.2f} C ({method}, {len(dna)} nt)",
    }
    if method == "wallace" and len(dna) > 14:
        result["note"] = "the Wallace rule is meant for primers of 14 nt or fewer; prefer method='nn'"
    return result


def molecular_weight(
    sequence: str,
    molecule: Literal["dna", "rna", "protein"] = "dna",
    double_stranded: bool = False,
    circular: bool = False,
    monoisotopic: bool = False,
) -> dict[str, Any]:
    """Molecular weight in daltons of a DNA, RNA or protein sequence (Bio.SeqUtils.molecular_weight).

    Nucleic acids are counted as in Biopython: nucleotide monophosphates joined with loss of
    water, so a linear strand carries one 5' phosphate. double_stranded adds the complementary
    strand; circular removes one more water. Proteins use average residue masses.

    Args:
        sequence: the sequence (unambiguous letters only: ACGT, ACGU or the 20 amino acids).
        molecule: "dna", "rna" or "protein".
        double_stranded: weigh both strands (DNA/RNA only).
        circular: the molecule is circular.
        monoisotopic: use monoisotopic instead of average masses.

    Example:
        molecular_weight("ATGC") -> {"molecular_weight": 1253.8027, ...}
    """
    kind: _seq.Kind = molecule
    seq = _seq.clean(sequence, kind, ambiguous=False, max_length=_seq.MAX_LENGTH)
    if molecule == "protein" and double_stranded:
        raise ValueError("double_stranded applies to DNA or RNA, not protein")
    seq_type = {"dna": "DNA", "rna": "RNA", "protein": "protein"}[molecule]
    weight = _molecular_weight(
        seq, seq_type=seq_type, double_stranded=double_stranded, circular=circular, monoisotopic=monoisotopic
    )
    return {
        "molecular_weight": weight,
        "kilodaltons": weight / 1000.0,
        "molecule": molecule,
        "length": len(seq),
        "double_stranded": double_stranded,
        "circular": circular,
        "summary": f"{weight:.2f} Da ({len(seq)} {'aa' if molecule == 'protein' else 'nt'})",
    }


def protein_params(sequence: str, ph: float = 7.0) -> dict[str, Any]:
    """ProtParam-style parameters of a protein (as on ExPASy ProtParam), via Bio.SeqUtils.ProtParam.

    Gives molecular weight, theoretical pI, net charge at `ph`, instability index (a protein
    above 40 is predicted unstable), GRAVY (mean hydropathy), aromaticity (F+W+Y fraction),
    amino-acid counts and percentages, extinction coefficients at 280 nm (all cysteines reduced,
    or all paired as cystines), the matching absorbance of a 1 g/L solution, and helix/turn/sheet
    fractions. A trailing stop (*) is ignored.

    Args:
        sequence: protein sequence in one-letter code (the 20 standard amino acids).
        ph: pH at which the net charge is computed.

    Example:
        protein_params("MKWVTFISLLLLFSSAYS") -> {"isoelectric_point": 8.34..., "length": 18, ...}
    """
    text = sequence.strip().rstrip("*").strip()
    protein = _seq.clean(text, "protein", ambiguous=False, max_length=_MAX_PROTEIN)
    if not 0 <= ph <= 14:
        raise ValueError(f"ph must be between 0 and 14, got {ph}")
    analysis = ProteinAnalysis(protein)
    counts = Counter(protein)
    weight = analysis.molecular_weight()
    reduced, cystines = analysis.molar_extinction_coefficient()
    helix, turn, sheet = analysis.secondary_structure_fraction()
    instability = analysis.instability_index()
    pi = analysis.isoelectric_point()
    return {
        "length": len(protein),
        "molecular_weight": weight,
        "isoelectric_point": pi,
        "charge_at_ph": analysis.charge_at_pH(ph),
        "ph": ph,
        "instability_index": instability,
        "stable": instability < 40,
        "gravy": analysis.gravy(),
        "aromaticity": analysis.aromaticity(),
        "amino_acid_counts": {aa: counts[aa] for aa in sorted(counts)},
        "amino_acid_percent": {aa: 100.0 * counts[aa] / len(protein) for aa in sorted(counts)},
        "extinction_coefficient_reduced": reduced,
        "extinction_coefficient_cystines": cystines,
        "absorbance_0_1_percent_reduced": reduced / weight,
        "absorbance_0_1_percent_cystines": cystines / weight,
        "helix_fraction": helix,
        "turn_fraction": turn,
        "sheet_fraction": sheet,
        "summary": (
            f"{len(protein)} aa, {weight:.1f} Da, pI {pi:.2f}, "
            f"instability {instability:.1f} ({'stable' if instability < 40 else 'unstable'})"
        ),
    }
