"""'Did you mean' from a prebuilt index: near-spellings first, then what ranking every tool finds.

(What a miss costs is measured in bench/, not asserted here.)
"""

import random

from mcp_box_server.box.search import Document, rank
from mcp_box_server.server.suggest import NameIndex

WORDS = [
    "gcd",
    "lcm",
    "solve",
    "prime",
    "factor",
    "matrix",
    "reverse",
    "complement",
    "gc",
    "content",
    "align",
]


def names(count: int) -> list[str]:
    chooser = random.Random(13)
    boxes = [f"box{i}" for i in range(count // 20)]
    return [
        f"{chooser.choice(boxes)}_{chooser.choice(WORDS)}_{chooser.choice(WORDS)}_{i}" for i in range(count)
    ]


def test_the_index_suggests_what_ranking_every_name_does():
    served = names(400)
    index = NameIndex(served)
    for query in [
        "box3_gcd",
        "prime_factor",
        "reverse",
        "box7_matrix_solve",
        "nothing_alike",
        "gc_content_12",
    ]:
        expected = [name for name, _ in rank(query, [Document(n, n) for n in served], 3)]
        assert index._sharing_words(query, 3) == expected


def test_typos_come_first():
    index = NameIndex(["math_solve_24", "math_solve_equation", "math_combinations", "bio_align", "math_gcd"])
    assert index.closest("math_solve24")[0] == "math_solve_24"  # the part after the prefix, alike
    assert index.closest("math_gdc")[0] == "math_gcd"
    assert index.closest("solve_24")[0] == "math_solve_24"  # no such box: the whole name
    assert index.closest("bio_algin") == ["bio_align"]


def test_an_empty_index_suggests_nothing():
    assert NameIndex([]).closest("math_gcd") == []
