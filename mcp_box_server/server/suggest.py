"""Suggestions ("did you mean") for unknown tool names, from an index built per tool-list change.

Typos first: names spelt almost alike (`math_solve24` for `math_solve_24`), compared on
the part after the box prefix among that box's tools, or on the whole name when the
prefix names no box. Then names sharing words, scored as `box.search.rank` does (BM25),
through an inverted index: a miss costs the postings of its own few words, not a pass
over every name served (9-10 ms per miss among 1,000 tools before).
"""

from __future__ import annotations

import difflib
import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from mcp_box_server.box.search import tokens

_K1, _B = 1.5, 0.75  # as in box.search


class NameIndex:
    """The words of every tool name, each with the names that hold it."""

    def __init__(self, names: Iterable[str]) -> None:
        self._postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self._length: dict[str, int] = {}
        self._by_box: dict[str, dict[str, str]] = defaultdict(dict)  # box -> function -> name
        for name in names:
            box, _, function = name.partition("_")
            self._by_box[box][function] = name
            bag = Counter(tokens(name))
            self._length[name] = sum(bag.values())
            for term, count in bag.items():
                self._postings[term].append((name, count))
        self._average = sum(self._length.values()) / len(self._length) if self._length else 1.0
        self._average = self._average or 1.0

    def closest(self, query: str, k: int = 3) -> list[str]:
        """The `k` names most like `query`: near-spellings first, then names sharing words."""
        box, _, function = query.partition("_")
        if box in self._by_box:
            functions = self._by_box[box]
            typos = [functions[f] for f in difflib.get_close_matches(function, list(functions), k, 0.6)]
        else:
            typos = difflib.get_close_matches(query, list(self._length), k, 0.75)
        return list(dict.fromkeys([*typos, *self._sharing_words(query, k)]))[:k]

    def _sharing_words(self, query: str, k: int) -> list[str]:
        """The `k` names best scored by BM25 over the words of names (ties by name)."""
        total = len(self._length)
        scores: dict[str, float] = defaultdict(float)
        for term in set(tokens(query)):
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (total - len(posting) + 0.5) / (len(posting) + 0.5))
            for name, tf in posting:
                norm = 1 - _B + _B * self._length[name] / self._average
                scores[name] += idf * tf * (_K1 + 1) / (tf + _K1 * norm)
        best = heapq.nsmallest(k, scores.items(), key=lambda item: (-item[1], item[0]))
        return [name for name, score in best if score > 0]
