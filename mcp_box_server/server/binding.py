"""Which addresses may be bound without a token. Kept free of FastMCP imports: the
`serve` command checks this before it starts the box zygotes and imports FastMCP."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

TOKEN_ENV = "MCP_BOX_TOKEN"


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses: the only binds allowed without a token."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin(text: str) -> tuple[str, str, int]:
    """`scheme://host[:port]` as (scheme, host, port), the port made explicit (`--allow-origin`).

    A ValueError names what is wrong: anything but an http(s) origin (a path, no host).
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        port, parts = None, None
    scheme = parts.scheme.lower() if parts else ""
    if parts is None or scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{text!r} is not an origin (http[s]://host[:port])")
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)
