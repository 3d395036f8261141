"""Rank tools by relevance to a query: BM25 over name, description and parameters.

Small on purpose (no model to download): tool names and docstrings are short and
written to be guessed, so lexical matching with light stemming does well. Used
by the server's `find_tools` meta-tool; the student harness may reuse it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "for",
        "and",
        "or",
        "in",
        "on",
        "with",
        "by",
        "is",
        "are",
        "be",
        "as",
        "at",
        "from",
        "this",
        "that",
        "it",
        "its",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-case words, `snake_case` and `camelCase` split, crude suffixes removed."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    return [_stem(word) for word in _WORD.findall(text) if word not in _STOP]


def _stem(word: str) -> str:
    """Plurals and -ing folded, final 'e' dropped: 'sequences', 'sequence' -> 'sequenc'."""
    if len(word) <= 3:
        return word
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


@dataclass(frozen=True, slots=True)
class Document:
    key: str
    text: str


def rank(query: str, documents: Sequence[Document], k: int = 5) -> list[tuple[str, float]]:
    """The `k` best documents for `query` as (key, score), best first; score 0 never returned."""
    bags = [Counter(tokens(doc.text)) for doc in documents]
    if not bags:
        return []
    average = sum(sum(bag.values()) for bag in bags) / len(bags) or 1.0
    terms = set(tokens(query))
    frequency = {t: sum(1 for bag in bags if t in bag) for t in terms}
    scored = []
    for doc, bag in zip(documents, bags, strict=True):
        score = _bm25(terms, bag, frequency, len(bags), average)
        if score > 0:
            scored.append((doc.key, score))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:k]


def _bm25(
    terms: Iterable[str], bag: Counter[str], frequency: dict[str, int], count: int, average: float
) -> float:
    k1, b = 1.5, 0.75
    length = sum(bag.values())
    score = 0.0
    for term in terms:
        tf = bag.get(term, 0)
        if tf:
            idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
    return score
