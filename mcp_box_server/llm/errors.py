"""The model-access exception hierarchy.

Every failure of an OpenAI-compatible endpoint is mapped at the boundary
(`mcp_box_server.llm.client`) from `openai`'s own exceptions into these, so
callers never import `openai` to handle errors:

    ModelError              any model-side failure (base class)
    ├── ModelSpecError      the model spec or its settings are wrong (also a ValueError)
    ├── ModelUnreachable    nothing answers at the address (connection refused, DNS, timeout)
    │   └── ModelTimeout    it accepted the request but did not answer in time
    ├── ModelBusy           overloaded or failing for now (HTTP 429, 5xx, no choices): retry later
    ├── NotAChatReply       a success status with a body that is no chat reply (an HTML page)
    ├── ContextTooLong      the request does not fit the model's context window
    ├── ModelNotFound       the server answers but does not know the model
    ├── ModelAuthError      the server refuses the API key
    └── ToolsUnsupported    the server refuses `tools` (tool calling not enabled for it)
"""

from __future__ import annotations


class ModelError(Exception):
    """A model endpoint failed; the message says what to do about it."""


class ModelSpecError(ModelError, ValueError):
    """A model spec such as `ollama:qwen3:8b` cannot be resolved."""


class ModelUnreachable(ModelError):
    """Nothing answers at the endpoint's address, or it did not answer in time."""


class ModelTimeout(ModelUnreachable):
    """No answer within the client's timeout; a long reply, not necessarily a dead server."""


class ModelBusy(ModelError):
    """The endpoint refused or failed this request for now; `retry_after` is its hint in seconds,
    `status` the HTTP status (None: no choices, a broken stream)."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class NotAChatReply(ModelError):
    """A success status whose body is no OpenAI chat reply: a login page, a web UI, a proxy's
    notice. The base URL is wrong or something stands in front of the server: asking again
    gets the same page."""


class ContextTooLong(ModelError):
    """The prompt (plus the reply budget) exceeds the model's context: send less, not again."""


class ModelNotFound(ModelError):
    """The endpoint answers but has no model of that name."""


class ModelAuthError(ModelError):
    """The endpoint rejects the API key (HTTP 401/403)."""


class ToolsUnsupported(ModelError):
    """The server rejects requests with `tools` (e.g. vLLM without `--enable-auto-tool-choice`,
    llama-server without `--jinja`, an Ollama model whose template has no tools)."""
