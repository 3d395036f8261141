"""Teacher prompts: readable templates shipped in `distill/prompts/`, filled with `$name`.

`string.Template` rather than `str.format` because the templates quote Python
and JSON, whose braces would otherwise all need doubling.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def template(name: str) -> Template:
    """The template `prompts/NAME.md`, read once."""
    text = resources.files("mcp_box_server.distill").joinpath("prompts", f"{name}.md").read_text("utf-8")
    return Template(text)


def render(name: str, **values: object) -> str:
    """Fill template NAME; a missing value raises KeyError (a bug, not a user error)."""
    return template(name).substitute({k: str(v) for k, v in values.items()}).strip() + "\n"
