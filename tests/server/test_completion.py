"""Completion candidates and which subscribed URIs a reload touches."""

from mcp_box_server.server.catalog import Changes
from mcp_box_server.server.completion import matching


def test_declared_values_that_start_with_the_typed_text_in_order():
    values = ("Paris", "park", "party", "Lyon")
    assert matching(values, "PAR") == ["Paris", "park", "party"]
    assert matching(values, "") == list(values)
    assert matching((), "x") == []


def test_a_reload_touches_changed_files_and_uris_of_reloaded_templates():
    changes = Changes(updated=frozenset({"docs://notes"}), templates=frozenset({"docs://item/{id}"}))
    assert changes.touches("docs://notes")
    assert changes.touches("docs://item/42")
    assert not changes.touches("docs://other")
    assert not changes.touches("docs://item/42/extra")
