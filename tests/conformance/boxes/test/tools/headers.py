"""The tool of the conformance scenario http-custom-header-server-validation (SEP-2243).

`x-mcp-header` on a parameter's schema asks 2026-07-28 HTTP clients to mirror the
argument in an `Mcp-Param-Region` header, so that a gateway can route on it without
reading the body; the server then rejects a call whose header is missing, is bad
Base64 (`=?base64?...?=`), or disagrees with the argument (HTTP 400, -32020). The
annotation is an ordinary pydantic `Field` in the type hint: nothing in mcp-box knows
of the scenario.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["header_echo"]


def header_echo(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
    """Echo the region a call was routed by.

    Args:
        region: A region name, mirrored in the Mcp-Param-Region header.
    """
    return f"region: {region}"
