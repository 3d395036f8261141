from mcp_box_server.box.search import Document, rank, tokens


def test_tokens_split_names_and_stem():
    assert tokens("reverse_complement of DNA sequences") == ["revers", "complement", "dna", "sequenc"]
    assert tokens("solveEquation") == tokens("solving equations") == ["solv", "equation"]
    assert tokens("matches boxes") == tokens("match box")


def test_rank_prefers_the_matching_tool():
    docs = [
        Document("bio_reverse_complement", "bio_reverse_complement Reverse complement of a DNA sequence."),
        Document("math_solve_24", "math_solve_24 Make 24 from four numbers with + - * /."),
        Document("math_gcd", "math_gcd Greatest common divisor of integers."),
    ]
    assert rank("reverse complement this DNA", docs, 2)[0][0] == "bio_reverse_complement"
    best = rank("greatest common divisor", docs, 1)
    assert [name for name, _ in best] == ["math_gcd"] and best[0][1] > 0
    assert rank("zebra", docs) == []
