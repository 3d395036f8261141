"""Bearer-token auth for the HTTP transports, and the rule about public binds."""

from __future__ import annotations

import hmac
import ipaddress

from fastmcp.server.auth import AccessToken, TokenVerifier

TOKEN_ENV = "MCP_BOX_TOKEN"


class SharedTokenVerifier(TokenVerifier):
    """Accepts exactly one shared token, compared in constant time."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id="mcp-box-client", scopes=[])
        return None


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses: the only binds allowed without a token."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
