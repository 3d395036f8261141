"""Which addresses may be bound without a token. Kept free of FastMCP imports: the
`serve` command checks this before it starts the box zygotes and imports FastMCP."""

from __future__ import annotations

import ipaddress

TOKEN_ENV = "MCP_BOX_TOKEN"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses: the only binds allowed without a token."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
