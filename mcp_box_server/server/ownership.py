"""Which box serves which resource URI: one owner per URI, decided in one fixed order.

Without it, the first box in sorted order answered every URI its templates match,
so a sandboxed box's `data://{kind}/{id}` answered reads meant for a trusted box's
`data://item/{id}` (and learned which ones clients read). Two rules:

- a sandboxed box serves URIs only under its own `box://<name>/`;
- a URI or template that can name a URI another box already serves (decided by
  matching, `uri_overlap`) is refused on the box that comes later: trusted boxes
  before sandboxed ones, then by name. One of the two always keeps serving it.

The server's own URIs (`box://status`, the `box://<name>/readme` of each box
with a README) come before every box. A refusal is the declaring box's error, shown with its status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import AnyUrl, ValidationError

from mcp_box_server.server.uri_overlap import literal_prefix, overlap

STATUS_URI = "box://status"
SERVER = "the server"


def readme_uri(box: str) -> str:
    return f"box://{box}/readme"


@dataclass(frozen=True, slots=True)
class Declared:
    """What one serving box declares: static resource URIs and URI templates."""

    box: str
    trusted: bool
    uris: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    readme: bool = False  # the server serves its README at box://<box>/readme


@dataclass(frozen=True, slots=True)
class _Claim:
    owner: str
    text: str
    template: bool
    prefix: str


@dataclass(slots=True)
class _Claims:
    """What is served so far: static URIs by URI (most claims, compared by equality), templates."""

    uris: dict[str, _Claim] = field(default_factory=dict)
    templates: list[_Claim] = field(default_factory=list)

    def add(self, claim: _Claim) -> None:
        if claim.template:
            self.templates.append(claim)
        else:
            self.uris.setdefault(claim.text, claim)

    def overlapping(self, mine: _Claim) -> tuple[_Claim, str] | None:
        """The first claim that names a URI `mine` names too, and that URI."""
        same = None if mine.template else self.uris.get(mine.text)
        if same is not None:
            return same, mine.text
        others = self.templates if not mine.template else [*self.templates, *self.uris.values()]
        for claim in others:
            if claim.prefix.startswith(mine.prefix) or mine.prefix.startswith(claim.prefix):
                both = overlap(claim.text, mine.text, a_template=claim.template, b_template=mine.template)
                if both is not None:
                    return claim, both
        return None


def refusals(boxes: Iterable[Declared]) -> dict[str, dict[str, str]]:
    """For each box that may not serve some of its URIs or templates: each one, and why."""
    ordered = sorted(boxes, key=lambda d: (not d.trusted, d.box))
    claims = _Claims()
    for uri in [STATUS_URI, *(readme_uri(d.box) for d in ordered if d.readme)]:
        claims.add(_claim(SERVER, uri, False))
    refused: dict[str, dict[str, str]] = {}
    for declared in ordered:
        mine: list[_Claim] = []
        declares = [(uri, False) for uri in declared.uris] + [(t, True) for t in declared.templates]
        for text, template in declares:
            claim = _claim(declared.box, text, template)
            reason = _outside(declared, text) or _taken(claims, claim)
            if reason:
                refused.setdefault(declared.box, {})[text] = reason
            else:
                mine.append(claim)
        for claim in mine:  # after the box: its own URIs may overlap each other, it answers both
            claims.add(claim)
    return refused


def _outside(declared: Declared, text: str) -> str | None:
    home = f"box://{declared.box}/"
    if declared.trusted or text.startswith(home):
        return None
    return f"{_kind(text)} {text!r} is not served: a sandboxed box serves URIs only under {home}"


def _taken(claims: _Claims, mine: _Claim) -> str | None:
    found = claims.overlapping(mine)
    if found is None:
        return None
    claim, both = found
    who = SERVER if claim.owner == SERVER else f"box '{claim.owner}'"
    same = "" if both == mine.text == claim.text else f" (both name {both!r})"
    return (
        f"{_kind(mine.text)} {mine.text!r} is not served: it overlaps {claim.text!r} of {who}{same}, "
        "which comes first (the server, then trusted boxes, then sandboxed ones, each by name)"
    )


def _claim(owner: str, text: str, template: bool) -> _Claim:
    if not template:
        text = _served(text)
    return _Claim(owner, text, template, literal_prefix(text, template))


@lru_cache(maxsize=8192)
def _served(uri: str) -> str:
    """A static URI as FastMCP serves and looks it up: normalized by pydantic's `AnyUrl`."""
    try:
        return str(AnyUrl(uri))
    except ValidationError:
        return uri


def _kind(text: str) -> str:
    return "template" if "{" in text else "resource"
