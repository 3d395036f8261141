"""ASGI middleware for the HTTP transports."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MISSING_TOKEN = json.dumps(
    {
        "error": "missing_token",
        "error_description": "this mcp-box server requires 'Authorization: Bearer <token>'; "
        "the token is the one the server was started with (--token or $MCP_BOX_TOKEN)",
    }
).encode()


class ExplainMissingToken:
    """Give the bare 401 that a request without a token gets a body that says why.

    The SDK's bearer middleware answers a missing token with an empty 401; a
    wrong token already gets an `invalid_token` description, which passes through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_explained(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = dict(message.get("headers", []))
                if headers.get(b"content-length") == b"0":
                    replaced = True
                    headers[b"content-length"] = str(len(MISSING_TOKEN)).encode()
                    headers[b"content-type"] = b"application/json"
                    message = {**message, "headers": list(headers.items())}
            elif message["type"] == "http.response.body" and replaced:
                message = {**message, "body": MISSING_TOKEN}
            await send(message)

        await self.app(scope, receive, send_explained)
