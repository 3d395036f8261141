"""Bearer-token auth for the HTTP transports."""

from __future__ import annotations

import hmac

from fastmcp.server.auth import AccessToken, TokenVerifier


class SharedTokenVerifier(TokenVerifier):
    """Accepts exactly one shared token, compared in constant time."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token=token, client_id="mcp-box-client", scopes=[])
        return None


def presents(authorization: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries `token` as its bearer token (constant time).

    For routes outside MCP (`/health`), which FastMCP's bearer middleware does not guard.
    """
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
