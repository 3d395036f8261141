"""'Did you mean' from a prebuilt index: the same names as ranking every tool, at a fraction of the cost."""

import random
import time

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
        assert index.closest(query) == expected


def test_a_miss_among_a_thousand_tools_costs_well_under_a_millisecond():
    index = NameIndex(names(1000))
    started = time.perf_counter()
    for _ in range(200):
        index.closest("box9_prime_solve")
    assert (time.perf_counter() - started) / 200 < 0.001


def test_an_empty_index_suggests_nothing():
    assert NameIndex([]).closest("math_gcd") == []
