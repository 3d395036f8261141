"""Short model specs for OpenAI-compatible endpoints.

A spec is `PROVIDER:MODEL[@BASE_URL]`, or a bare `MODEL` when a base URL is given:

    ollama:qwen3:8b                          -> http://localhost:11434/v1
    vllm:Qwen/Qwen3-8B@http://host:8000/v1   -> the given URL
    llamacpp:qwen3-8b                        -> http://localhost:8080/v1  (llama-server)
    lmstudio:qwen3-8b                        -> http://localhost:1234/v1
    openai:gpt-4o-mini                       -> https://api.openai.com/v1 (key: OPENAI_API_KEY)
    my-model  (with base_url=...)            -> any OpenAI-compatible server

Only the first `:` separates the provider (Ollama tags keep theirs), and only an
`@` followed by `http://` or `https://` starts a URL. An explicit `base_url` or
`api_key` argument wins over the spec and the provider's defaults.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mcp_box_server.llm.errors import ModelSpecError


@dataclass(frozen=True, slots=True)
class Provider:
    """Defaults of one kind of OpenAI-compatible server."""

    name: str
    base_url: str
    api_key_env: str | None
    api_key_default: str | None
    hint: str  # how to start the server, shown when nothing answers


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", "ollama", "start it with `ollama serve`"
        ),
        Provider(
            "vllm",
            "http://localhost:8000/v1",
            "VLLM_API_KEY",
            "EMPTY",
            "start it with `vllm serve MODEL --enable-auto-tool-choice --tool-call-parser hermes`",
        ),
        Provider(
            "llamacpp",
            "http://localhost:8080/v1",
            "LLAMA_API_KEY",
            "none",
            "start it with `llama-server -m MODEL.gguf --jinja`",
        ),
        Provider(
            "lmstudio",
            "http://localhost:1234/v1",
            "LMSTUDIO_API_KEY",
            "lm-studio",
            "start the LM Studio server (`lms server start`)",
        ),
        Provider("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", None, "check your network"),
    )
}
ALIASES = {
    "llama.cpp": "llamacpp",
    "llama-server": "llamacpp",
    "llama_cpp": "llamacpp",
    "lm-studio": "lmstudio",
}
GENERIC = Provider("openai-compatible", "", "OPENAI_API_KEY", "none", "check that the server is running")

_URL_SUFFIX = re.compile(r"@(https?://\S+)$")


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Everything needed to talk to one model; build it with `resolve_model`."""

    provider: str
    model: str
    base_url: str
    api_key: str
    timeout_s: float = 600.0
    max_retries: int = 2
    hint: str = ""

    @property
    def label(self) -> str:
        """A short human name, e.g. `ollama:qwen3:8b`."""
        return f"{self.provider}:{self.model}"


def resolve_model(
    spec: str,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    timeout_s: float = 600.0,
    max_retries: int = 2,
) -> ModelConfig:
    """Turn a spec like `ollama:qwen3:8b` into a `ModelConfig`.

    Raises `ModelSpecError` for an empty spec, a bare model name without a base
    URL, or `openai:` without an API key.
    """
    text = spec.strip()
    if not text:
        raise ModelSpecError("empty model spec; expected e.g. 'ollama:qwen3:8b'")
    spec_url: str | None = None
    match = _URL_SUFFIX.search(text)
    if match:
        spec_url = match.group(1)
        text = text[: match.start()]
    head, sep, rest = text.partition(":")
    key = ALIASES.get(head.lower(), head.lower())
    if sep and key in PROVIDERS:
        provider, model = PROVIDERS[key], rest
    else:
        provider, model = GENERIC, text
    if not model:
        raise ModelSpecError(f"model spec {spec!r} names no model; expected e.g. '{provider.name}:MODEL'")
    url = base_url or spec_url or provider.base_url
    if not url:
        known = ", ".join(sorted(PROVIDERS))
        raise ModelSpecError(
            f"model spec {spec!r} has no provider ({known}) and no base URL; "
            f"use e.g. 'ollama:{model}', '{model}@http://host:8000/v1' or --base-url"
        )
    if not url.startswith(("http://", "https://")):
        raise ModelSpecError(f"base URL {url!r} must start with http:// or https://")
    key_value = api_key or (os.environ.get(provider.api_key_env) if provider.api_key_env else None)
    key_value = key_value or provider.api_key_default
    if key_value is None:
        raise ModelSpecError(
            f"{provider.name} needs an API key: set {provider.api_key_env} or pass --api-key"
        )
    return ModelConfig(
        provider=provider.name,
        model=model,
        base_url=url.rstrip("/"),
        api_key=key_value,
        timeout_s=timeout_s,
        max_retries=max_retries,
        hint=provider.hint,
    )
