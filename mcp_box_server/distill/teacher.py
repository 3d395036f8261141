"""The teacher: a chat model behind an on-disk cache of its replies.

Every request is keyed on the model label, the messages and the sampling
parameters, so a re-run or a resumed run replays finished work for free and
asks the model only what it has not answered before. Prompts embed validation
errors, so those are normalised (no temp paths, no pids) before they are sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_box_server.llm import ChatClient, ModelError

Message = dict[str, Any]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcp-box" / "distill"


class ReplyCache:
    """One JSON file per request under `root/ab/<sha256>.json`; writes are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @staticmethod
    def key(model: str, messages: list[Message], params: dict[str, Any]) -> str:
        blob = json.dumps({"model": model, "messages": messages, "params": params}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        reply = data.get("reply") if isinstance(data, dict) else None
        return reply if isinstance(reply, str) else None

    def put(self, key: str, model: str, reply: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"model": model, "reply": reply}, handle)
        os.replace(tmp, path)


@dataclass(slots=True)
class TeacherStats:
    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Teacher:
    """Asks a `ChatClient` for one reply at a time, through the cache."""

    def __init__(
        self,
        model: ChatClient,
        cache: ReplyCache | None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        concurrency: int = 4,
    ) -> None:
        self.model = model
        self.cache = cache
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stats = TeacherStats()
        self._limit = asyncio.Semaphore(concurrency)

    @property
    def label(self) -> str:
        return self.model.label

    async def ask(self, messages: list[Message]) -> str:
        """The reply text; raises `ModelError` when the model fails or says nothing."""
        params: dict[str, Any] = {"temperature": self.temperature}
        if self.max_tokens:
            params["max_tokens"] = self.max_tokens
        key = ReplyCache.key(self.label, messages, params)
        self.stats.requests += 1
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.stats.cached += 1
            return hit
        extra = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        async with self._limit:
            result = await self.model.chat(messages, temperature=self.temperature, **extra)
        self.stats.prompt_tokens += result.usage.prompt_tokens
        self.stats.completion_tokens += result.usage.completion_tokens
        text = result.message.content or result.message.reasoning or ""
        if not text.strip():
            raise ModelError(f"{self.label} returned an empty reply")
        if self.cache is not None:
            self.cache.put(key, self.label, text)
        return text
