"""A 2026-07-28 client may answer a first round before it is asked (SEP-2322).

Through a real server over streamable HTTP and the official SDK client, driving the
rounds by hand (`allow_input_required=True`): `inputResponses` with no `requestState`
answer what the tool asks in its first round, keys it does not ask are ignored, and a
later round's question still needs the sealed state of the round before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import types
from mcp.client.client import Client

from tests.support.servers import http_server

BOXES = Path(__file__).resolve().parent / "boxes"
NAME = {"action": "accept", "content": {"name": "Alice"}}
COLOUR = {"action": "accept", "content": {"color": "teal"}}
EXTRA = {"unknown_extra_key": {"action": "accept", "content": {"foo": "bar"}}}


@pytest.fixture(scope="module")
def base() -> AsyncIterator[str]:
    with http_server("--boxes", str(BOXES)) as url:
        yield url


def responses(answers: dict[str, dict]) -> dict[str, types.ElicitResult]:
    return {key: types.ElicitResult.model_validate(value) for key, value in answers.items()}


async def call(base: str, tool: str, answers: dict[str, dict], state: str | None = None):
    async with Client(f"{base}/mcp", elicitation_callback=_never) as client:
        return await client.session.call_tool(
            tool, {}, input_responses=responses(answers), request_state=state, allow_input_required=True
        )


async def _never(*_: object) -> types.ElicitResult:
    raise AssertionError("the rounds are driven by hand: no callback should run")


async def test_answers_given_before_the_question_complete_the_first_round(base):
    result = await call(base, "test_input_required_result_elicitation", {"user_name": NAME} | EXTRA)
    assert isinstance(result, types.CallToolResult) and not result.is_error
    assert result.content[0].text == "Hello, Alice!"


async def test_an_answer_of_the_wrong_shape_or_key_is_not_taken(base):
    sampled = {"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"}
    for answers in ({"other": NAME}, EXTRA):
        result = await call(base, "test_input_required_result_elicitation", answers)
        assert isinstance(result, types.InputRequiredResult), answers
        assert list(result.input_requests) == ["user_name"]
    async with Client(f"{base}/mcp", elicitation_callback=_never) as client:
        result = await client.session.call_tool(
            "test_input_required_result_elicitation",
            {},
            input_responses={"user_name": types.CreateMessageResult.model_validate(sampled)},
            allow_input_required=True,
        )
    assert isinstance(result, types.InputRequiredResult)  # a model's reply is no answer to a form


async def test_a_later_round_still_needs_the_sealed_state(base):
    both = {"step1": NAME, "step2": COLOUR}
    second = await call(base, "test_input_required_result_multi_round", both)
    assert isinstance(second, types.InputRequiredResult)  # step1 taken; step2 was not asked yet
    assert list(second.input_requests) == ["step2"] and second.request_state
    done = await call(base, "test_input_required_result_multi_round", {"step2": COLOUR}, second.request_state)
    assert isinstance(done, types.CallToolResult) and done.content[0].text == "Alice likes teal"
