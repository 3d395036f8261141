"""Model access for mcp-box: short specs and an async OpenAI-compatible chat client.

Shared by the student harness and the distillation pipeline. The public API:

    config = resolve_model("ollama:qwen3:8b")            # or base_url=/api_key= overrides
    async with ChatModel(config) as model:
        result = await model.chat(messages, tools=tools, n=1, temperature=None)
        result.message.content, result.message.tool_calls, result.usage, result.latency_s

Errors: `ModelError` and its subclasses `ModelSpecError`, `ModelUnreachable` (and its
`ModelTimeout`), `ModelBusy`, `NotAChatReply`, `ContextTooLong`, `ModelNotFound`,
`ModelAuthError`, `ToolsUnsupported` (see `mcp_box_server.llm.errors`).
`ChatClient` is the protocol to implement for a scripted or custom model.
"""

from mcp_box_server.llm.client import (
    AssistantMessage,
    ChatClient,
    ChatModel,
    ChatResult,
    Message,
    ToolCallRequest,
    Usage,
)
from mcp_box_server.llm.errors import (
    ContextTooLong,
    ModelAuthError,
    ModelBusy,
    ModelError,
    ModelNotFound,
    ModelSpecError,
    ModelTimeout,
    ModelUnreachable,
    NotAChatReply,
    ToolsUnsupported,
)
from mcp_box_server.llm.specs import PROVIDERS, ModelConfig, resolve_model

__all__ = [
    "PROVIDERS",
    "AssistantMessage",
    "ChatClient",
    "ChatModel",
    "ChatResult",
    "ContextTooLong",
    "Message",
    "ModelAuthError",
    "ModelBusy",
    "ModelConfig",
    "ModelError",
    "ModelNotFound",
    "ModelSpecError",
    "ModelTimeout",
    "ModelUnreachable",
    "NotAChatReply",
    "ToolCallRequest",
    "ToolsUnsupported",
    "Usage",
    "resolve_model",
]
