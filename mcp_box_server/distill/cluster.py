"""Group tools by what they do, from their names, docstrings and signatures.

Small on purpose (no model downloads, no scikit-learn): each tool becomes a
TF-IDF vector of word tokens (identifiers split at `_` and camelCase, crude
plural folding, stop words dropped), and average-linkage agglomerative
clustering merges the closest groups while their cosine similarity stays above
a threshold. With a few dozen tools this is instant and fully deterministic.
"""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Sequence

DEFAULT_THRESHOLD = 0.15
_STOP = """a an and are as at be by for from given in into is it its of on or the this that to
    with returns return args value values number result float int str bool list dict none
    compute calculate get"""
STOP_WORDS = frozenset(_STOP.split())
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z]+")


def describe(source: str) -> str:
    """The text a tool is clustered by: its name, docstring summary (twice) and parameter names.

    The summary says what the tool does in general ("Convert a length ..."), so it
    weighs most; the `Args:` section and the types mostly repeat specifics and noise.
    """
    tree = ast.parse(source)
    parts: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            summary = (ast.get_docstring(node) or "").split("\n\n")[0]
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            parts += [node.name, summary, summary, *(a.arg for a in args)]
    return " ".join(parts)


def tokens(text: str) -> list[str]:
    words = _WORD.findall(_CAMEL.sub(" ", text.replace("_", " ")))
    return [_fold(w.lower()) for w in words if w.lower() not in STOP_WORDS and len(w) > 1]


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tfidf(documents: Sequence[str]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors (smoothed idf, so shared words still count a little)."""
    counts = [Counter(tokens(d)) for d in documents]
    df = Counter(word for c in counts for word in c)
    n = len(documents)
    vectors = []
    for c in counts:
        vector = {w: (1 + math.log(k)) * (math.log((1 + n) / (1 + df[w])) + 1) for w, k in c.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vectors.append({w: v / norm for w, v in vector.items()})
    return vectors


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def cluster(documents: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> list[list[int]]:
    """Indices of `documents` grouped by similarity; groups and members in input order."""
    vectors = tfidf(documents)
    sim = [[cosine(a, b) for b in vectors] for a in vectors]
    groups: list[list[int]] = [[i] for i in range(len(documents))]
    while len(groups) > 1:
        best, pair = threshold, None
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                pairs = [sim[a][b] for a in groups[i] for b in groups[j]]
                link = sum(pairs) / len(pairs)
                if link >= best:
                    best, pair = link, (i, j)
        if pair is None:
            break
        i, j = pair
        groups[i] = sorted(groups[i] + groups[j])
        del groups[j]
    return sorted(groups, key=lambda g: g[0])
