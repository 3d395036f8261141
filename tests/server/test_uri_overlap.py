"""`uri_overlap` and `ownership` against FastMCP's own matcher: what it says two claims share,
both really match; what both really match, it says they share."""

from __future__ import annotations

import pytest
from fastmcp.resources.template import match_uri_template
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_box_server.server.ownership import Declared, refusals
from mcp_box_server.server.uri_overlap import overlap

LITERALS = ["item", "a", "7", "x y", "é", "%41", "A"]
VALUES = ["item", "a", "7", "A", "x%20y", "%C3%A9", "b/c", "q?z", "&"]


def matches(uri: str, claim: str, template: bool) -> bool:
    return match_uri_template(uri, claim) is not None if template else uri == claim


@st.composite
def templates(draw: st.DrawFn) -> str:
    """Templates of the shapes boxes write: literal and variable segments, query forms."""
    parts = []
    for index in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["literal", "var", "star", "mixed"]))
        if kind == "literal":
            parts.append(draw(st.sampled_from(LITERALS)))
        elif kind == "var":
            parts.append(f"{{v{index}}}")
        elif kind == "star":
            parts.append(f"{{s{index}*}}")
        else:
            parts.append(draw(st.sampled_from(LITERALS)) + f"{{m{index}}}")
    tail = draw(st.sampled_from(["", "{?q}", "?k={w}", "#top"]))
    return "d://" + "/".join(parts) + tail


@st.composite
def uris(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=4))
    tail = draw(st.sampled_from(["", "?k=1", "?k=", "#f", "?k=1&q=2"]))
    return "d://" + "/".join(segments) + tail


def expand(template: str, draw: st.DrawFn) -> str:
    """A URI `template` names, each variable filled with a drawn value."""
    out, rest = [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        out.append(before)
        if not name.startswith("?"):
            out.append(draw(st.sampled_from(VALUES)))
    return "".join(out) + rest


@settings(max_examples=250, deadline=None)
@given(st.data(), templates(), templates())
def test_a_uri_both_templates_match_is_an_overlap(data, a, b):
    uri = expand(a, data.draw)
    if matches(uri, a, True) and matches(uri, b, True):
        assert overlap(a, b) is not None, (a, b, uri)


@settings(max_examples=250, deadline=None)
@given(templates(), templates())
def test_the_witness_is_matched_by_both_and_the_answer_is_symmetric(a, b):
    witness = overlap(a, b)
    assert (witness is None) == (overlap(b, a) is None)
    if witness is not None:
        assert matches(witness, a, True) and matches(witness, b, True), (a, b, witness)


@settings(max_examples=250, deadline=None)
@given(uris(), templates())
def test_a_static_uri_overlaps_a_template_exactly_when_the_template_matches_it(uri, template):
    assert (overlap(uri, template, a_template=False) is not None) == matches(uri, template, True)
    assert overlap(uri, uri, a_template=False, b_template=False) == uri


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        ("data://{kind}/{id}", "data://item/{id}", True),
        ("data://{kind}/{id}", "data://item/7", True),
        ("a://{x}/b", "a://c/{y}", True),  # neither's text matches the other's pattern
        ("a://{x}/b", "a://c/{y}/d", False),
        ("a://x/{p*}", "a://x/y/{z}", True),
        ("a://x/{p}", "a://x/y/{z}", False),
        ("a://é/{x}", "a://%C3%A9/{y}", True),  # as written or percent-encoded
        ("a://item/{id}", "a://item/{id}{?page}", True),  # the query is not matched
        ("a://items?k={v}", "a://items/{v}", False),
        ("a://{x}", "a://{x}/{y}", False),
    ],
)
def test_known_pairs(a, b, shared):
    static = "{" not in b
    assert (overlap(a, b, b_template=not static) is not None) == shared


def test_a_sandboxed_box_serves_only_under_its_own_name():
    found = refusals(
        [
            Declared("jail", trusted=False, uris=("box://jail/a.txt", "data://x"), templates=("data://{k}",)),
        ]
    )
    assert set(found["jail"]) == {"data://x", "data://{k}"}
    assert "only under box://jail/" in found["jail"]["data://x"]


def test_trusted_boxes_come_first_then_names_and_never_both_lose():
    found = refusals(
        [
            Declared("aaa", trusted=False, templates=("box://aaa/item/{id}",)),
            Declared("zed", trusted=True, templates=("data://{kind}/{id}",)),
            Declared("items", trusted=True, uris=("data://item/7",), templates=("data://item/{id}",)),
            Declared("bbb", trusted=True, templates=("box://aaa/{kind}/{n}",)),
        ]
    )
    assert set(found) == {"zed", "aaa"}
    assert "of box 'items'" in found["zed"]["data://{kind}/{id}"]
    assert "of box 'bbb'" in found["aaa"]["box://aaa/item/{id}"]  # trusted before sandboxed, not by name


def test_the_servers_own_uris_come_before_every_box():
    found = refusals(
        [Declared("m", True, uris=("box://status", "box://m/readme", "box://m/ok"), readme=True)]
    )
    assert set(found["m"]) == {"box://status", "box://m/readme"}
    assert "of the server" in found["m"]["box://status"]
    assert refusals([Declared("m", trusted=True, templates=("box://m/{page}",))]) == {}  # no README: free


def test_a_box_may_overlap_itself():
    assert (
        refusals([Declared("m", trusted=True, uris=("d://a/1",), templates=("d://a/{x}", "d://{y}/1"))]) == {}
    )


def test_one_static_uri_in_two_boxes_is_served_by_the_first_as_written_or_normalized():
    found = refusals(
        [
            Declared("b", trusted=True, uris=("DATA://x/a b",)),
            Declared("a", trusted=True, uris=("data://x/a%20b",)),
        ]
    )
    assert list(found) == ["b"]
    assert "overlaps 'data://x/a%20b' of box 'a'" in found["b"]["DATA://x/a b"]
