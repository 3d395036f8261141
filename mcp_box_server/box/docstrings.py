"""Split a tool docstring into a description and per-parameter descriptions.

Understands the three styles teacher models write: Google (`Args:`), NumPy
(`Parameters` + dashes) and Sphinx (`:param x:`). Parameter sections are removed
from the description because their text moves into the JSON schema.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_ARGS = re.compile(r"^(Args|Arguments|Parameters|Params)\s*:\s*$", re.IGNORECASE)
_NUMPY_ARGS = re.compile(r"^(Parameters|Params|Arguments)\s*$", re.IGNORECASE)
_SECTION = re.compile(
    r"^(Returns?|Raises|Yields?|Examples?|Notes?|See Also|Attributes)\s*:?\s*$", re.IGNORECASE
)
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SPHINX_OTHER = re.compile(r"^:(type|rtype|returns?|raises?)\b")


@dataclass(slots=True)
class Docstring:
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> Docstring:
    """Parse a docstring; unknown layouts become the description unchanged."""
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    params: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        is_numpy = (
            _NUMPY_ARGS.match(stripped) and index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"}
        )
        if _GOOGLE_ARGS.match(stripped) or is_numpy:
            index = _read_params(lines, index + (2 if is_numpy else 1), params, bool(is_numpy))
            continue
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            name, text = sphinx.groups()
            index += 1
            while index < len(lines) and lines[index].startswith((" ", "\t")):
                text += " " + lines[index].strip()
                index += 1
            params[name] = text.strip()
            continue
        if _SPHINX_OTHER.match(stripped):
            index += 1
            continue
        kept.append(line)
        index += 1
    description = "\n".join(kept).strip()
    description = re.sub(r"\n{3,}", "\n\n", description)
    return Docstring(description=description, params=params)


def _read_params(lines: list[str], index: int, params: dict[str, str], numpy: bool) -> int:
    """Read an indented parameter block; return the index of the first line after it."""
    current: str | None = None
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            index += 1
            if index < len(lines) and not lines[index].startswith((" ", "\t")) and not numpy:
                return index
            continue
        if not numpy and not line.startswith((" ", "\t")):
            return index
        if numpy and _SECTION.match(stripped) and not line.startswith((" ", "\t")):
            return index
        if numpy and not line.startswith((" ", "\t")):
            current = stripped.split(":", 1)[0].strip().lstrip("*")
            params[current] = ""
        else:
            item = _GOOGLE_ITEM.match(stripped) if not numpy else None
            if item and (current is None or _indent(line) <= _indent_of_item(lines, index)):
                current = item.group(1).lstrip("*")
                params[current] = item.group(3).strip()
            elif current is not None:
                params[current] = f"{params[current]} {stripped}".strip()
        index += 1
    return index


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indent_of_item(lines: list[str], index: int) -> int:
    """Indentation of the first item line of the block containing `index`."""
    while index > 0 and lines[index - 1].strip() and _indent(lines[index - 1]) > 0:
        index -= 1
    return _indent(lines[index])
