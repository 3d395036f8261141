"""Model specs and the OpenAI-compatible client, against the scripted HTTP server."""

from __future__ import annotations

import pytest

from mcp_box_server.llm import (
    ChatModel,
    ModelAuthError,
    ModelError,
    ModelNotFound,
    ModelSpecError,
    ModelUnreachable,
    resolve_model,
)
from tests.support.scripted_openai import Script, ScriptedOpenAI, free_port


@pytest.mark.parametrize(
    ("spec", "provider", "model", "url"),
    [
        ("ollama:qwen3:8b", "ollama", "qwen3:8b", "http://localhost:11434/v1"),
        ("vllm:Qwen/Qwen3-8B@http://host:8000/v1", "vllm", "Qwen/Qwen3-8B", "http://host:8000/v1"),
        ("llamacpp:qwen3-8b", "llamacpp", "qwen3-8b", "http://localhost:8080/v1"),
        ("llama-server:q", "llamacpp", "q", "http://localhost:8080/v1"),
        ("lmstudio:qwen3-8b", "lmstudio", "qwen3-8b", "http://localhost:1234/v1"),
        ("ollama:qwen3:8b@http://gpu:11434/v1/", "ollama", "qwen3:8b", "http://gpu:11434/v1"),
        ("my-model@https://x.example/v1", "openai-compatible", "my-model", "https://x.example/v1"),
    ],
)
def test_specs(spec: str, provider: str, model: str, url: str) -> None:
    config = resolve_model(spec)
    assert (config.provider, config.model, config.base_url) == (provider, model, url)


def test_openai_spec_needs_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelSpecError, match="OPENAI_API_KEY"):
        resolve_model("openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    config = resolve_model("openai:gpt-4o-mini")
    assert (config.base_url, config.api_key) == ("https://api.openai.com/v1", "sk-test")


def test_overrides_win() -> None:
    config = resolve_model("ollama:qwen3:8b@http://a:1/v1", base_url="http://b:2/v1", api_key="k")
    assert (config.base_url, config.api_key) == ("http://b:2/v1", "k")
    assert resolve_model("qwen3:8b", base_url="http://b:2/v1").model == "qwen3:8b"


@pytest.mark.parametrize("spec", ["", "  ", "qwen3:8b", "ollama:", "x@ftp://host"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ModelSpecError):
        resolve_model(spec)


async def test_chat_returns_message_usage_latency() -> None:
    reply = {"content": "hi", "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}}
    with ScriptedOpenAI(Script.sequence([reply])) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            result = await model.chat([{"role": "user", "content": "hello"}], temperature=0.2)
    assert result.message.content == "hi"
    usage = result.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 3, 10)
    assert result.latency_s > 0
    assert llm.requests[0]["temperature"] == 0.2
    assert "tools" not in llm.requests[0]


async def test_native_tool_calls_are_exposed() -> None:
    reply = {"tool_calls": [{"name": "math_add", "arguments": {"a": 1}}]}
    tools = [{"type": "function", "function": {"name": "math_add", "parameters": {"type": "object"}}}]
    with ScriptedOpenAI(Script.sequence([reply])) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            result = await model.chat([{"role": "user", "content": "add"}], tools=tools)
    (call,) = result.message.tool_calls
    assert (call.name, call.arguments) == ("math_add", '{"a": 1}')
    assert llm.requests[0]["tools"] == tools
    assert result.message.to_message()["tool_calls"][0]["function"]["name"] == "math_add"


async def test_n_is_filled_when_server_ignores_it() -> None:
    with ScriptedOpenAI(Script.sequence(["a", "b", "c"]), honour_n=False) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            result = await model.chat([{"role": "user", "content": "q"}], n=3)
    assert sorted(c.content or "" for c in result.choices) == ["a", "b", "c"]
    assert len(llm.requests) == 3
    assert result.usage.total_tokens == 45


async def test_n_in_one_request_when_server_honours_it() -> None:
    with ScriptedOpenAI(Script.sequence(["a", "b"])) as llm:
        async with ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model:
            result = await model.chat([{"role": "user", "content": "q"}], n=2)
    assert [c.content for c in result.choices] == ["a", "b"]
    assert len(llm.requests) == 1 and llm.requests[0]["n"] == 2


async def test_dead_endpoint_is_unreachable() -> None:
    config = resolve_model(f"ollama:qwen3:8b@http://127.0.0.1:{free_port()}/v1", max_retries=0)
    async with ChatModel(config) as model:
        expected = r"nothing answers at http://127\.0\.0\.1:\d+/v1.*ollama serve"
        with pytest.raises(ModelUnreachable, match=expected):
            await model.chat([{"role": "user", "content": "q"}])


async def test_unknown_model_lists_available() -> None:
    with ScriptedOpenAI(Script.sequence(["x"]), models=("qwen3:8b", "llama3.2:3b")) as llm:
        async with ChatModel(resolve_model("qwen3:14b", base_url=llm.base_url)) as model:
            expected = r"'qwen3:14b' not found.*available: llama3\.2:3b, qwen3:8b"
            with pytest.raises(ModelNotFound, match=expected):
                await model.chat([{"role": "user", "content": "q"}])


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        (401, ModelAuthError, "rejected the API key"),
        (500, ModelError, "HTTP 500: boom"),
    ],
)
async def test_http_errors_are_mapped(status: int, error: type[Exception], match: str) -> None:
    with ScriptedOpenAI(Script.sequence([{"status": status, "content": "boom"}])) as llm:
        config = resolve_model("scripted", base_url=llm.base_url, max_retries=0)
        async with ChatModel(config) as model:
            with pytest.raises(error, match=match):
                await model.chat([{"role": "user", "content": "q"}])


async def test_timeout_is_unreachable() -> None:
    with ScriptedOpenAI(Script.sequence([{"content": "late", "delay": 1}])) as llm:
        config = resolve_model("scripted", base_url=llm.base_url, max_retries=0, timeout_s=0.3)
        async with ChatModel(config) as model:
            with pytest.raises(ModelUnreachable, match=r"within 0\.3 s"):
                await model.chat([{"role": "user", "content": "q"}])
