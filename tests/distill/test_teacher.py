"""The teacher: a cache keyed on everything sent, bounded retries, and failures that stay local."""

import time

import pytest

from mcp_box_server.distill.teacher import Answer, ReplyCache, Teacher, TeacherFailed, TeacherOptions
from mcp_box_server.llm import ModelError
from tests.distill.conftest import chat_model
from tests.support.scripted_openai import Script, ScriptedOpenAI

MESSAGES = [{"role": "user", "content": "Write a tool."}]
FAST = TeacherOptions(backoff_s=0.01)


async def test_cached_replies_survive_a_new_teacher(tmp_path):
    replies = iter(["first", "second", "third", "fourth"])
    with ScriptedOpenAI(lambda _: next(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            assert await teacher.ask(MESSAGES) == Answer("first")
            assert await teacher.ask(MESSAGES) == Answer("first")
            assert len(llm.requests) == 1 and "temperature" not in llm.requests[0]  # sent only when asked
            again = Teacher(model, ReplyCache(tmp_path))
            assert (await again.ask(MESSAGES)).text == "first"
            assert (again.stats.requests, again.stats.cached) == (1, 1)
            # the key covers messages and every request parameter
            assert (await again.ask([*MESSAGES, {"role": "user", "content": "More."}])).text == "second"
            warm = Teacher(model, ReplyCache(tmp_path), TeacherOptions(temperature=0.7))
            assert (await warm.ask(MESSAGES)).text == "third" and llm.requests[-1]["temperature"] == 0.7
            short = Teacher(model, ReplyCache(tmp_path), TeacherOptions(max_tokens=50))
            assert (await short.ask(MESSAGES)).text == "fourth" and llm.requests[-1]["max_tokens"] == 50
            assert len(llm.requests) == 4
    # the same model name at another address is another model: nothing is replayed
    with ScriptedOpenAI(lambda _: "elsewhere") as other:
        async with chat_model(other) as model:
            assert (await Teacher(model, ReplyCache(tmp_path)).ask(MESSAGES)).text == "elsewhere"


async def test_without_a_cache_every_call_goes_to_the_model():
    with ScriptedOpenAI(lambda _: "same") as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, None)
            await teacher.ask(MESSAGES)
            await teacher.ask(MESSAGES)
            assert len(llm.requests) == 2 and teacher.stats.prompt_tokens == 20


async def test_empty_replies_fail_the_request_and_are_not_cached(tmp_path):
    replies = iter(["  ", "ok"])
    with ScriptedOpenAI(lambda _: next(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            with pytest.raises(TeacherFailed, match="empty reply"):
                await teacher.ask(MESSAGES)
            assert list(tmp_path.rglob("*.json")) == []
            assert (await teacher.ask(MESSAGES)).text == "ok"
            assert len(list(tmp_path.rglob("*.json"))) == 1 and teacher.stats.failed == 1


async def test_busy_servers_are_retried_with_backoff_honouring_retry_after(tmp_path):
    busy = {"status": 429, "content": "rate limited", "headers": {"Retry-After": "0.3"}}
    script = Script.sequence([busy, {"status": 503, "content": "overloaded"}, "done"])
    with ScriptedOpenAI(script) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path), FAST)
            started = time.perf_counter()
            assert (await teacher.ask(MESSAGES)).text == "done"
            assert time.perf_counter() - started >= 0.3  # the server's Retry-After, not the 0.01 s backoff
            assert (len(llm.requests), teacher.stats.retries) == (3, 2)
    always = {"status": 500, "content": "boom"}
    with ScriptedOpenAI(lambda _: always) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, None, TeacherOptions(retries=2, backoff_s=0.01))
            with pytest.raises(TeacherFailed, match=r"HTTP 500: boom \(after 2 retries\)") as failed:
                await teacher.ask(MESSAGES)
            assert len(llm.requests) == 3 and not failed.value.context


async def test_context_overflow_is_not_retried_and_other_refusals_end_the_run():
    overflow = {"status": 400, "content": "This model's maximum context length is 8192 tokens."}
    with ScriptedOpenAI(lambda _: overflow) as llm:
        async with chat_model(llm) as model:
            with pytest.raises(TeacherFailed) as failed:
                await Teacher(model, None, FAST).ask(MESSAGES)
            assert failed.value.context and len(llm.requests) == 1
    refused = {"status": 400, "content": "Unsupported value: 'temperature' does not support 0.0"}
    with ScriptedOpenAI(lambda _: refused) as llm:
        async with chat_model(llm) as model:
            with pytest.raises(ModelError, match="Unsupported value"):
                await Teacher(model, None, FAST).ask(MESSAGES)


async def test_replies_cut_off_at_the_token_limit_are_marked_and_cached(tmp_path):
    cut = {"content": "```python\ndef f(", "finish_reason": "length"}
    with ScriptedOpenAI(lambda _: cut) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            assert await teacher.ask(MESSAGES) == Answer("```python\ndef f(", truncated=True)
            assert await Teacher(model, ReplyCache(tmp_path)).ask(MESSAGES) == Answer(
                "```python\ndef f(", True
            )
            assert len(llm.requests) == 1 and teacher.stats.truncated == 1


def test_keys_are_stable_and_distinct():
    key = ReplyCache.key("http://a/v1", "m", MESSAGES, {"temperature": 0.0})
    assert key == ReplyCache.key("http://a/v1", "m", [dict(MESSAGES[0])], {"temperature": 0.0})
    assert key != ReplyCache.key("http://a/v1", "other", MESSAGES, {"temperature": 0.0})
    assert key != ReplyCache.key("http://b/v1", "m", MESSAGES, {"temperature": 0.0})
    assert key != ReplyCache.key("http://a/v1", "m", MESSAGES, {})


def test_openai_gets_max_completion_tokens_and_others_max_tokens():
    options = TeacherOptions(max_tokens=900)
    assert options.params("openai") == {"max_completion_tokens": 900}
    assert options.params("ollama") == {"max_tokens": 900}
    assert TeacherOptions(temperature=0).params("vllm") == {"temperature": 0}


async def test_replies_are_streamed_and_assembled(tmp_path):
    long = "```python\n" + "# a long reply\n" * 200 + "```"
    replies = iter([long, {"content": "cut", "finish_reason": "length"}, "whole"])
    with ScriptedOpenAI(lambda _: next(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            assert await teacher.ask(MESSAGES) == Answer(long)
            assert await teacher.ask([*MESSAGES, *MESSAGES]) == Answer("cut", truncated=True)
            assert llm.requests[0]["stream"] is True and teacher.stats.completion_tokens == 10
            whole = Teacher(model, ReplyCache(tmp_path), TeacherOptions(stream=False))
            assert await whole.ask(MESSAGES) == Answer(long)  # streaming is not part of the cache key
            assert await whole.ask([MESSAGES[0]] * 3) == Answer("whole") and "stream" not in llm.requests[-1]
