"""Tools read from source (`box.source`) are the tools a worker reports, as far as text can say."""

from __future__ import annotations

import os
from typing import Any

import pytest

from mcp_box_server.box import bundled_boxes_dir, read_manifest
from mcp_box_server.box.loader import load_box
from mcp_box_server.box.source import read_tools
from tests.support.boxes import make_box


def _untitled(schema: Any) -> Any:
    """A schema without pydantic's `title`s, which say nothing a client needs."""
    if isinstance(schema, dict):
        return {key: _untitled(value) for key, value in schema.items() if key != "title"}
    if isinstance(schema, list):
        return [_untitled(value) for value in schema]
    return schema


@pytest.mark.parametrize("name", ["math", "bio"])
def test_the_bundled_boxes_read_from_source_match_what_their_worker_reports(name):
    manifest = read_manifest(bundled_boxes_dir() / name)
    specs, failures = read_tools(manifest)
    loaded = load_box(manifest.path)  # what a worker runs (this test's process stands in for one)
    assert failures == [] and loaded.failures == []
    assert [spec.name for spec in specs] == [spec.name for spec in loaded.specs]
    for spec, real in zip(specs, loaded.specs, strict=True):
        fields = ("function", "description", "timeout", "file", "line", "task")
        assert [getattr(spec, f) for f in fields] == [getattr(real, f) for f in fields], spec.name
        assert spec.parameters == _untitled(real.parameters), spec.name


TOOLS = '''
from __future__ import annotations

from typing import Literal, Optional

from mcp_box_server import tool

Size = Literal["s", "m", "l"]
LIMIT = compute_limit()  # box code: never run here


def plain(n: int, label: str = "x", ratio: float = 0.5) -> str:
    """Plain types.

    Args:
        n: how many.
    """


@tool(name="renamed", timeout=7)
def original(size: Size, tags: list[str] | None = None, weights: dict[str, float] = {}) -> str:
    """Renamed by its decorator."""


@tool(hidden=True)
def hidden() -> None:
    """Not a tool."""


def opaque(thing: SomeClass, maybe: Optional[int] = LIMIT) -> None:
    """A type only an import could describe."""


def undocumented() -> None:
    pass


def spread(*args: int) -> None:
    """Takes anything."""


def _private() -> None:
    """Not a tool."""
'''


def test_a_module_read_from_source_gives_its_tools_and_its_failures(tmp_path):
    box = make_box(tmp_path, "demo", {"tools": TOOLS, "broken": "def f(:\n"}, manifest="timeout = 3\n")
    specs, failures = read_tools(read_manifest(box))
    by_name = {spec.name: spec for spec in specs}
    assert sorted(by_name) == ["demo_opaque", "demo_plain", "demo_renamed"]
    plain = by_name["demo_plain"].parameters
    assert plain["properties"] == {
        "n": {"type": "integer", "description": "how many."},
        "label": {"type": "string", "default": "x"},
        "ratio": {"type": "number", "default": 0.5},
    }
    assert plain["required"] == ["n"] and by_name["demo_plain"].timeout == 3
    renamed = by_name["demo_renamed"]
    assert renamed.function == "renamed" and renamed.timeout == 7
    assert renamed.parameters["properties"] == {
        "size": {"enum": ["s", "m", "l"], "type": "string"},
        "tags": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
            "default": None,
        },
        "weights": {"type": "object", "additionalProperties": {"type": "number"}, "default": {}},
    }
    opaque = by_name["demo_opaque"].parameters  # a default computed at import is not known either
    assert opaque["properties"] == {"thing": {}, "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}
    assert opaque["required"] == ["thing"]
    problems = sorted((failure.file.rsplit("/", 1)[-1], failure.message) for failure in failures)
    assert problems == [
        ("broken.py", "syntax error: invalid syntax"),
        ("tools.py", "function 'spread': *args and **kwargs cannot be described as tool parameters"),
        ("tools.py", "function 'undocumented' has no docstring"),
    ]


def test_all_decides_what_is_a_tool_and_a_fifo_is_not_read(tmp_path):
    source = '''
__all__ = ["_kept"]


def _kept() -> int:
    """Kept."""


def dropped() -> int:
    """Not in __all__."""
'''
    box = make_box(tmp_path, "demo", {"tools": source})
    fifo = box / "tools" / "pipe.py"
    os.mkfifo(fifo)
    specs, failures = read_tools(read_manifest(box))
    assert [spec.name for spec in specs] == ["demo__kept"]
    assert [(f.file, f.message) for f in failures] == [(str(fifo), "cannot read: not a regular file")]
