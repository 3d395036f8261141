from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_box_server.distill import Limits
from mcp_box_server.llm import ChatModel, resolve_model
from tests.distill import family
from tests.support.scripted_openai import ScriptedOpenAI

# Small limits keep the infinite loop and memory bomb cheap.
TEST_LIMITS = Limits(timeout=1.0, memory_mb=256)


@pytest.fixture
def scripted_teacher() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(family.teacher) as llm:
        yield llm


def chat_model(llm: ScriptedOpenAI) -> ChatModel:
    """The teacher retries by itself, as the CLI sets it up: the client's own retries are off."""
    return ChatModel(resolve_model("scripted", base_url=llm.base_url, api_key="test", max_retries=0))


def write_tasks(path: Path, rows: list[tuple[str, str, tuple[float, ...]]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in family.task_lines(rows)), encoding="utf-8")
    return path
