"""The tool of the conformance scenario json-schema-2020-12 (exposed as `json_schema_2020_12_tool`).

Its input schema comes, like every box tool's, from the type hints: the nested
TypedDict becomes `$defs.address` referenced by `$ref` (with the `$anchor` its pydantic
config adds), and box tools always forbid unknown arguments (`additionalProperties: false`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from typing_extensions import TypedDict  # pydantic needs it for TypedDict on Python < 3.12

__all__ = ["schema_2020_12_tool"]


class address(TypedDict, total=False):  # lower case: the scenario expects the $defs key "address"
    __pydantic_config__ = ConfigDict(json_schema_extra={"$anchor": "addressDef"})  # a SEP-2106 keyword

    street: str
    city: str


def schema_2020_12_tool(name: str | None = None, address: address | None = None) -> dict[str, Any]:
    """Tool with JSON Schema 2020-12 features; echoes its arguments.

    Args:
        name: Any name.
        address: A street and a city.
    """
    return {"name": name, "address": address}
