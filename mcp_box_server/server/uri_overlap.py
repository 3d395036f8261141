"""Whether two resource URIs or URI templates can name the same URI, and which one.

A template claims every URI that FastMCP's matcher (`match_uri_template`) accepts
for it, and a static resource claims exactly its own URI. Each claim is compiled
to a small automaton over characters that accepts exactly those URIs, and two
claims overlap when the product of their automata reaches an accepting pair: a
breadth-first search that also spells out the shortest URI both accept. String
equality is not enough (`data://{kind}/{id}` takes `data://item/7` away from
`data://item/{id}`), and a regular-expression trick (matching one template's text
against the other) is not sound (`a/{x}` against `{y}/b`).

The automaton mirrors `fastmcp.resources.template.build_regex` and the matcher:
`{var}` is one or more characters other than `/`, `{var*}` one or more of any,
a variable after a literal `?` zero or more other than `&`; `{?q}` and `{&q}`
match nothing in the path; literal text matches as written or percent-encoded;
the URI's query (and fragment) is cut off before matching unless the template
writes a literal `?` (or a `#`). The unit tests check it against the matcher.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from fastmcp.resources.template import build_regex

# RFC 3986 reserved characters: a template literal keeps them as written (as fastmcp does).
_RESERVED = ":/?#[]@!$&'()*+,;="
_TRIPLET = re.compile(r"%[0-9A-Fa-f]{2}")
_SAMPLES = "abcdefghijklmnopqrstuvwxyz0123456789"  # for a witness where any character fits


@dataclass(frozen=True, slots=True)
class Chars:
    """A set of characters: `chars` itself, or every character but those (`negated`)."""

    chars: frozenset[str]
    negated: bool = False

    def __and__(self, other: Chars) -> Chars:
        if self.negated and other.negated:
            return Chars(self.chars | other.chars, negated=True)
        if self.negated:
            return Chars(other.chars - self.chars)
        if other.negated:
            return Chars(self.chars - other.chars)
        return Chars(self.chars & other.chars)

    def sample(self) -> str | None:
        """One character of the set (the alphabet is endless, so a negated set always has one)."""
        if not self.negated:
            return min(self.chars) if self.chars else None
        return next(c for c in _SAMPLES + "".join(map(chr, range(0x100, 0x200))) if c not in self.chars)


ANY = Chars(frozenset(), negated=True)


def only(text: str) -> Chars:
    return Chars(frozenset(text))


class Automaton:
    """A nondeterministic automaton: state 0 starts, `accept` ends; edges read one character."""

    def __init__(self) -> None:
        self.edges: list[list[tuple[Chars, int]]] = [[]]
        self.empty: list[list[int]] = [[]]  # moves that read nothing
        self.accept = 0

    def state(self) -> int:
        self.edges.append([])
        self.empty.append([])
        return len(self.edges) - 1

    def read(self, at: int, chars: Chars) -> int:
        """One character of `chars` after `at`; returns the state after it."""
        to = self.state()
        self.edges[at].append((chars, to))
        return to

    def repeat(self, at: int, chars: Chars, at_least: int) -> int:
        """`at_least` (0 or 1) or more characters of `chars`."""
        first = self.read(at, chars) if at_least else at
        loop = self.state()
        self.empty[first].append(loop)
        self.edges[loop].append((chars, loop))
        return loop

    def either(self, at: int, spellings: list[list[Chars]]) -> int:
        """One of several sequences of characters."""
        end = self.state()
        for spelling in spellings:
            here = at
            for chars in spelling:
                here = self.read(here, chars)
            self.empty[here].append(end)
        return end


def overlap(a: str, b: str, *, a_template: bool = True, b_template: bool = True) -> str | None:
    """A URI that both claims name (the shortest), or None when they name none in common.

    A static URI (`*_template=False`) names only itself, compared as served (normalized).
    """
    if not a_template and not b_template:
        return a if a == b else None
    return _witness(_compile(a, a_template), _compile(b, b_template))


def literal_prefix(claim: str, template: bool) -> str:
    """The text every URI of `claim` starts with, as written: a cheap filter before `overlap`."""
    if not template:
        return claim
    end = min((i for i in (claim.find("{"), claim.find("%")) if i >= 0), default=len(claim))
    plain = claim[:end]
    cut = next((i for i, c in enumerate(plain) if quote(c, safe=_RESERVED) != c), len(plain))
    return plain[:cut]


@lru_cache(maxsize=4096)
def _compile(claim: str, template: bool) -> Automaton | None:
    """The automaton of the URIs `claim` names; None for a template FastMCP cannot compile."""
    machine = Automaton()
    if not template:
        at = 0
        for char in claim:
            at = machine.read(at, only(char))
        machine.accept = at
        return machine
    if build_regex(claim) is None:
        return None
    # What the matcher cuts off before it matches: the fragment, then the query.
    cut = ("" if "#" in claim else "#") + ("" if claim.count("?") > claim.count("{?") else "?")
    allowed = Chars(frozenset(cut), negated=True)
    at, in_query = 0, False
    for part in re.split(r"(\{[^}]+\})", re.sub(r"\{[?&][^}]+\}", "", claim)):
        if part.startswith("{") and part.endswith("}"):
            if in_query:
                at = machine.repeat(at, Chars(frozenset("&"), negated=True) & allowed, 0)
            elif part.endswith("*}"):
                at = machine.repeat(at, allowed, 1)
            else:
                at = machine.repeat(at, Chars(frozenset("/"), negated=True) & allowed, 1)
        else:
            at = _literal(machine, at, part, allowed)
            in_query = in_query or "?" in part
    if cut:  # the part cut off: nothing, or a separator and anything after it
        rest = machine.repeat(machine.read(at, only(cut)), ANY, 0)
        end = machine.state()
        machine.empty[at].append(end)
        machine.empty[rest].append(end)
        at = end
    machine.accept = at
    return machine


def _literal(machine: Automaton, at: int, text: str, allowed: Chars) -> int:
    """Literal text, each character as written or percent-encoded (hex digits in either case)."""
    last = 0
    for triplet in _TRIPLET.finditer(text):
        at = _plain(machine, at, text[last : triplet.start()], allowed)
        for char in triplet.group():
            at = machine.read(at, only(char.upper() + char.lower()) & allowed)
        last = triplet.end()
    return _plain(machine, at, text[last:], allowed)


def _plain(machine: Automaton, at: int, text: str, allowed: Chars) -> int:
    for char in text:
        encoded = quote(char, safe=_RESERVED)
        if encoded == char:
            at = machine.read(at, only(char) & allowed)
        else:
            spelled = [only(c.upper() + c.lower()) & allowed for c in encoded]
            at = machine.either(at, [[only(char) & allowed], spelled])
    return at


def _witness(a: Automaton | None, b: Automaton | None) -> str | None:
    """Search the product of `a` and `b` for an accepting pair; the characters read to get there."""
    if a is None or b is None:
        return None
    start = (0, 0)
    came: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        if pair == (a.accept, b.accept):
            return _spell(came, pair)
        p, q = pair
        steps = [((p2, q), "") for p2 in a.empty[p]] + [((p, q2), "") for q2 in b.empty[q]]
        for chars_a, p2 in a.edges[p]:
            for chars_b, q2 in b.edges[q]:
                char = (chars_a & chars_b).sample()
                if char is not None:
                    steps.append(((p2, q2), char))
        for after, char in steps:
            if after not in came:
                came[after] = (pair, char)
                queue.append(after)
    return None


def _spell(came: dict[tuple[int, int], tuple[tuple[int, int], str] | None], pair: tuple[int, int]) -> str:
    chars = []
    step = came[pair]
    while step is not None:
        pair, char = step
        chars.append(char)
        step = came[pair]
    return "".join(reversed(chars))
