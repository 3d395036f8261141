"""The reply cache: a re-run asks the model nothing it has answered before."""

import pytest

from mcp_box_server.distill.teacher import ReplyCache, Teacher
from mcp_box_server.llm import ModelError
from tests.distill.conftest import chat_model
from tests.support.scripted_openai import ScriptedOpenAI

MESSAGES = [{"role": "user", "content": "Write a tool."}]


async def test_cached_replies_survive_a_new_teacher(tmp_path):
    replies = iter(["first", "second", "third"])
    with ScriptedOpenAI(lambda _: next(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            assert await teacher.ask(MESSAGES) == "first"
            assert await teacher.ask(MESSAGES) == "first"
            assert len(llm.requests) == 1 and llm.requests[0]["temperature"] == 0.0
            again = Teacher(model, ReplyCache(tmp_path))
            assert await again.ask(MESSAGES) == "first"
            assert (again.stats.requests, again.stats.cached) == (1, 1)
            # the key covers messages and sampling parameters
            assert await again.ask([*MESSAGES, {"role": "user", "content": "More."}]) == "second"
            assert await Teacher(model, ReplyCache(tmp_path), temperature=0.7).ask(MESSAGES) == "third"
            assert len(llm.requests) == 3


async def test_without_a_cache_every_call_goes_to_the_model():
    with ScriptedOpenAI(lambda _: "same") as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, None)
            await teacher.ask(MESSAGES)
            await teacher.ask(MESSAGES)
            assert len(llm.requests) == 2 and teacher.stats.prompt_tokens == 20


async def test_empty_replies_are_errors_and_not_cached(tmp_path):
    replies = iter(["  ", "ok"])
    with ScriptedOpenAI(lambda _: next(replies)) as llm:
        async with chat_model(llm) as model:
            teacher = Teacher(model, ReplyCache(tmp_path))
            with pytest.raises(ModelError, match="empty reply"):
                await teacher.ask(MESSAGES)
            assert list(tmp_path.rglob("*.json")) == []
            assert await teacher.ask(MESSAGES) == "ok"
            assert len(list(tmp_path.rglob("*.json"))) == 1


def test_keys_are_stable_and_distinct():
    key = ReplyCache.key("m", MESSAGES, {"temperature": 0.0})
    assert key == ReplyCache.key("m", [dict(MESSAGES[0])], {"temperature": 0.0})
    assert key != ReplyCache.key("other", MESSAGES, {"temperature": 0.0})
