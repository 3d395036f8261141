"""The bundled `bio` box: tool logic checked against independent computations, and every
`examples.jsonl` case run through a real worker pool."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pytest

from mcp_box_server.box.examples import read_examples
from mcp_box_server.box.loader import import_tool_module
from tests.support.examples import failed_examples, started_pool

BOX = Path(__file__).resolve().parents[2] / "boxes" / "bio"

# NCBI's compact form of the standard code (table 1), codons in TCAG order: written out here
# so translation checks do not depend on Biopython's tables.
_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
STANDARD = {a + b + c: _AMINO[16 * i + 4 * j + k] for i, a in enumerate(_BASES)
            for j, b in enumerate(_BASES) for k, c in enumerate(_BASES)}  # fmt: skip
IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
         "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}  # fmt: skip


def _load(name: str) -> ModuleType:
    return import_tool_module(BOX, name)


sequence = _load("sequence")
search = _load("search")
cloning = _load("cloning")
properties = _load("properties")
align_mod = _load("align")
records = _load("records")


def _rc(dna: str) -> str:
    return dna[::-1].translate(str.maketrans("ACGT", "TGCA"))


def _random_dna(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


# --- input cleaning -------------------------------------------------------------------------


def test_pasted_sequence_is_cleaned() -> None:
    pasted = ">my gene\n  1 atgcat gcat\n 11 gc\n"
    assert sequence.reverse_complement(pasted)["sequence"] == _rc("ATGCATGCATGC")


def test_bad_letters_are_named_with_positions() -> None:
    with pytest.raises(ValueError, match=r"'J' at 3, 'O' at 5"):
        sequence.gc_content("ACJTOA")


def test_several_fasta_records_are_refused_where_one_is_expected() -> None:
    with pytest.raises(ValueError, match="several FASTA records"):
        sequence.reverse_complement(">a\nACGT\n>b\nACGT")


def test_length_cap() -> None:
    with pytest.raises(ValueError, match="limit is 1,000,000"):
        sequence.gc_content("A" * 1_000_001)


def test_protein_given_as_dna_gets_a_hint() -> None:
    with pytest.raises(ValueError, match="looks like a protein"):
        sequence.translate("MEEPQSDPSVEPPLSQETFSDLWKLL")


# --- sequence operations --------------------------------------------------------------------


def test_translation_in_six_frames_matches_a_plain_codon_table() -> None:
    rng = random.Random(1)
    for _ in range(20):
        dna = _random_dna(rng, rng.randint(3, 80))
        for frame in (1, 2, 3, -1, -2, -3):
            strand = dna if frame > 0 else _rc(dna)
            part = strand[abs(frame) - 1 :]
            expected = "".join(STANDARD[part[i : i + 3]] for i in range(0, len(part) - 2, 3))
            if not expected:
                continue
            got = sequence.translate(dna, frame=frame)
            assert got["protein"] == expected
            assert got["trailing_bases_ignored"] == len(part) % 3


def test_translate_rna_and_to_stop() -> None:
    assert sequence.translate("AUGUUUUGAGGG", to_stop=True)["protein"] == "MF"


def test_gc_content_matches_counting() -> None:
    rng = random.Random(2)
    dna = _random_dna(rng, 500)
    expected = 100 * sum(dna.count(b) for b in "GC") / len(dna)
    assert sequence.gc_content(dna)["gc_percent"] == pytest.approx(expected)
    windows = sequence.gc_content(dna, window=100, step=50)["windows"]
    assert [w["start"] for w in windows] == list(range(1, 402, 50))
    assert windows[-1]["end"] == 500


def test_gc_window_tail_is_covered() -> None:
    windows = sequence.gc_skew("G" * 10, window=4)["windows"]
    assert [(w["start"], w["end"]) for w in windows] == [(1, 4), (5, 8), (9, 10)]


def test_codon_usage_frequencies_sum_to_one() -> None:
    rng = random.Random(3)
    usage = sequence.codon_usage(_random_dna(rng, 300))
    assert usage["total_codons"] == 100
    assert sum(c["frequency"] for c in usage["codons"].values()) == pytest.approx(1.0)


# --- ORFs and motifs ------------------------------------------------------------------------


def _naive_orfs(dna: str, min_aa: int) -> set[tuple[int, int, str]]:
    """Longest ATG..stop ORF per stop in six frames, as (start, end, strand), 1-based top strand."""
    found = set()
    n = len(dna)
    for strand, text in (("+", dna), ("-", _rc(dna))):
        for offset in range(3):
            begin = None
            for i in range(offset, n - 2, 3):
                codon = text[i : i + 3]
                if STANDARD[codon] == "*":
                    if begin is not None and (i - begin) // 3 >= min_aa:
                        span = (begin + 1, i + 3) if strand == "+" else (n - i - 2, n - begin)
                        found.add((*span, strand))
                    begin = None
                elif begin is None and codon == "ATG":
                    begin = i
    return found


def test_orfs_match_a_naive_scan() -> None:
    rng = random.Random(4)
    for _ in range(10):
        dna = _random_dna(rng, 600)
        got = search.find_orfs(dna, min_length=10, max_results=1000)
        assert {(o["start"], o["end"], o["strand"]) for o in got["orfs"]} == _naive_orfs(dna, 10)
        for orf in got["orfs"]:
            assert orf["nt_length"] == 3 * orf["protein_length"] + 3


def test_orf_protein_is_the_translation() -> None:
    dna = "GG" + "ATG" + "GCT" * 40 + "TAA" + "CC"
    orf = search.find_orfs(_rc(dna), min_length=30)["orfs"][0]
    assert orf["protein"] == "M" + "A" * 40
    assert (orf["start"], orf["end"], orf["strand"]) == (3, 128, "-")


def test_motif_search_matches_brute_force() -> None:
    rng = random.Random(5)
    dna = _random_dna(rng, 2000)
    motif = "GATNRC"
    reverse = motif[::-1].translate(str.maketrans("ACGTRYN", "TGCAYRN"))  # GYNATC
    sites = set()
    for pattern in (motif, reverse):
        for i in range(len(dna) - len(pattern) + 1):
            if all(dna[i + k] in IUPAC[c] for k, c in enumerate(pattern)):
                sites.add(i + 1)
    got = search.find_motif(dna, motif, max_results=5000)
    assert {m["start"] for m in got["matches"]} == sites
    assert got["count"] == len(sites)


# --- cloning --------------------------------------------------------------------------------


def test_ecori_cuts_after_the_g_of_every_site() -> None:
    rng = random.Random(6)
    dna = "".join(_random_dna(rng, 200) + "GAATTC" for _ in range(5)) + _random_dna(rng, 50)
    sites = [i + 1 for i in range(len(dna)) if dna.startswith("GAATTC", i)]
    digest = cloning.restriction_digest(dna, ["EcoRI"])
    assert digest["cut_positions"] == sites
    assert sum(digest["fragment_lengths"]) == len(dna)
    circular = cloning.restriction_digest(dna, ["EcoRI"], circular=True)
    assert circular["fragment_count"] == len(sites)
    assert sum(circular["fragment_lengths"]) == len(dna)


def test_site_across_the_origin_of_a_circle() -> None:
    dna = "AATTC" + "A" * 20 + "G"  # G|AATTC split by the origin
    assert cloning.restriction_digest(dna, ["EcoRI"])["cut_positions"] == []
    circular = cloning.restriction_digest(dna, ["EcoRI"], circular=True)
    assert circular["cut_positions"] == [26]
    assert circular["fragment_lengths"] == [26]


def test_enzyme_cutting_on_both_sides_and_enzyme_with_unknown_cut() -> None:
    dna = "ACGT" * 20 + "CACAAAAAATCC" + "TTGCA" * 20  # TstI (8/13)CACNNNNNNTCC(12/7) at 81-92
    tsti = cloning.restriction_digest(dna, ["TstI"])
    assert tsti["cut_positions"] == [80 - 8, 92 + 12]
    unknown = cloning.restriction_digest("ACGT" * 20 + "AGCCAG" + "TTGCA" * 20, ["AchA6III"])
    assert unknown["cut_positions"] == [] and unknown["fragment_lengths"] == [186]
    assert "not known" in unknown["enzymes"][0]["note"]


def test_unknown_enzyme_lists_close_names() -> None:
    with pytest.raises(ValueError, match="EcoRI") as info:
        cloning.restriction_digest("GAATTC", ["EcoRl"])
    assert "EcoRl" in str(info.value)


def test_pcr_product_of_primers_taken_from_the_template() -> None:
    rng = random.Random(7)
    dna = _random_dna(rng, 3000)
    fwd, rev = dna[500:522], _rc(dna[1700:1722])
    got = cloning.pcr_product(dna, fwd, rev)
    assert 1222 in got["product_lengths"]
    product = next(p for p in got["products"] if p["length"] == 1222)
    assert product["sequence"] == dna[500:1722]


# --- properties and alignment ---------------------------------------------------------------


def test_wallace_rule() -> None:
    assert properties.melting_temp("AAAAGGGGCC", method="wallace")["tm_celsius"] == 4 * 6 + 2 * 4


def test_nn_tm_rises_with_salt_and_concentration() -> None:
    low = properties.melting_temp("GTCACGTAGCTAGCTAGGCA", na_mm=20)["tm_celsius"]
    high = properties.melting_temp("GTCACGTAGCTAGCTAGGCA", na_mm=200)["tm_celsius"]
    more_primer = properties.melting_temp("GTCACGTAGCTAGCTAGGCA", na_mm=200, primer_nm=500)["tm_celsius"]
    assert low < high < more_primer


def test_protein_params_composition() -> None:
    params = properties.protein_params("MAAAKW")
    assert params["amino_acid_counts"] == {"A": 3, "K": 1, "M": 1, "W": 1}
    assert params["amino_acid_percent"]["A"] == pytest.approx(50.0)
    assert params["extinction_coefficient_reduced"] == 5500


def test_alignment_of_a_substring() -> None:
    rng = random.Random(8)
    long = _random_dna(rng, 400)
    got = align_mod.align(long, long[100:160], mode="local")
    assert (got["a_start"], got["a_end"], got["identity_percent"]) == (101, 160, 100.0)
    semi = align_mod.align(long, long[100:160], free_end_gaps=True)
    assert semi["identities"] == 60


def test_alignment_length_cap() -> None:
    with pytest.raises(ValueError, match="seq_b has 20,001 residues"):
        align_mod.align("ACGT", "A" * 20_001)


def test_read_many_fasta_records() -> None:
    text = "".join(f">r{i} record {i}\n{'ACGT' * (i + 1)}\n" for i in range(30))
    got = records.read_records(text)
    assert got["count"] == 30
    assert got["lengths"] == [4 * (i + 1) for i in range(30)]


# --- through a worker -----------------------------------------------------------------------


@pytest.mark.parametrize("trust", ["trusted", "sandboxed"])
async def test_examples_pass_in_a_worker(trust: str) -> None:
    async with started_pool(BOX, trust) as pool:
        names = {spec.name for spec in pool.specs}
        assert {"bio_reverse_complement", "bio_translate", "bio_find_orfs", "bio_align"} <= names
        assert len(read_examples(BOX)[0]) >= 3 * len(pool.specs)
        assert await failed_examples(pool, BOX) == []


def test_every_tool_has_examples() -> None:
    examples, _ = read_examples(BOX)
    covered = {e.tool for e in examples}
    modules = (sequence, search, cloning, properties, align_mod, records)
    tools = {
        name
        for m in modules
        for name, fn in vars(m).items()
        if callable(fn) and not name.startswith("_") and getattr(fn, "__module__", "") == m.__name__
    }
    assert len(tools) == 18
    assert tools <= covered


def test_gc_skew_plot_draws_both_curves() -> None:
    caption, picture = sequence.gc_skew_plot("GGGGGCCCCC" * 30 + "GGGGG" * 20, window=25)
    assert caption.startswith("GC skew of 400 bases in 16 windows") and picture.mime_type == "image/png"
    assert picture.data.startswith(b"\x89PNG\r\n\x1a\n") and len(picture.data) > 500
