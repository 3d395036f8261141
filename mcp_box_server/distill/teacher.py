"""The teacher: a chat model behind an on-disk cache of its replies, and a retry policy.

Every request is keyed on the endpoint (base URL), the model label, the messages
and every request parameter, so a re-run or a resumed run replays finished work
for free, and a different model behind the same label is asked afresh. Prompts
embed validation errors, so those are normalised (no temp paths, no pids)
before they are sent.

A request that fails for now (HTTP 429, 5xx, a timeout) is retried a bounded
number of times with exponential backoff, honouring `Retry-After`; what still
fails, an empty reply, or a prompt too long for the context, is a `TeacherFailed`:
one failed attempt of one task, never the end of the run, unless every one of the
first `stop_after` requests sent failed: then the teacher is unusable as set up
(`TeacherUnusable`), and asking on would only take time. The first failure of each
kind is told as it happens (`tell`), with its cause.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_box_server.llm import ChatClient, ChatModel, ContextTooLong, ModelBusy, ModelError, ModelTimeout

Message = dict[str, Any]
MAX_RETRY_WAIT_S = 120.0
# Servers known to continue a conversation's last assistant message, and what they need for it:
# vLLM renders it open with these chat-template flags; llama-server does so by itself.
PREFIX_PARAMS: dict[str, dict[str, Any]] = {
    "vllm": {"extra_body": {"continue_final_message": True, "add_generation_prompt": False}},
    "llamacpp": {},
}


class TeacherFailed(Exception):
    """One request got no usable reply; `context` when the prompt does not fit the model."""

    def __init__(self, reason: str, *, context: bool = False) -> None:
        super().__init__(reason)
        self.context = context


class TeacherUnusable(ModelError):
    """Every one of the first requests sent failed: the run stops, naming the cause."""


class NotCached(Exception):
    """A dry run reached a request the cache cannot answer: it would be sent."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcp-box" / "distill"


@dataclass(frozen=True, slots=True)
class Answer:
    """One reply; `truncated` when the model stopped at the token limit (finish_reason "length")."""

    text: str
    truncated: bool = False


class ReplyCache:
    """One JSON file per request under `root/ab/<sha256>.json`; writes are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written = 0  # replies this cache stored (so a stopped run can say what it kept)

    @staticmethod
    def key(endpoint: str, model: str, messages: list[Message], params: dict[str, Any]) -> str:
        blob = {"endpoint": endpoint, "model": model, "messages": messages, "params": params}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Answer | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        reply = data.get("reply") if isinstance(data, dict) else None
        return Answer(reply, bool(data.get("truncated"))) if isinstance(reply, str) else None

    def put(self, key: str, model: str, answer: Answer) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"model": model, "reply": answer.text, "truncated": answer.truncated}, handle)
        os.replace(tmp, path)
        self.written += 1


@dataclass(frozen=True, slots=True)
class TeacherOptions:
    """How to ask: sampling is sent only when set (reasoning models reject a temperature)."""

    temperature: float | None = None
    max_tokens: int | None = None
    retries: int = 3  # per request, for 429, 5xx and timeouts
    backoff_s: float = 2.0  # first wait; doubled per retry unless the server says Retry-After
    concurrency: int = 4
    stream: bool = True  # receive replies as a stream: a long reply does not hit the client timeout
    stop_after: int = 5  # stop when the first this many requests sent all fail (0: never)

    def params(self, provider: str) -> dict[str, Any]:
        """The request parameters, as sent and as keyed in the cache."""
        params: dict[str, Any] = {}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.max_tokens:
            # OpenAI's reasoning models take only max_completion_tokens; other servers know max_tokens.
            params["max_completion_tokens" if provider == "openai" else "max_tokens"] = self.max_tokens
        return params


@dataclass(slots=True)
class TeacherStats:
    requests: int = 0
    cached: int = 0
    failed: int = 0  # requests with no usable reply (after retries)
    retries: int = 0
    truncated: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    largest_prompt: int = 0  # characters in the messages of the largest request
    largest_reply: int = 0  # characters in the longest reply
    to_send: int = 0  # in a dry run: requests the cache could not answer
    sent: int = 0  # requests sent to the server, retries included
    failures: Counter[str] = field(default_factory=Counter)  # requests sent that failed, by kind


class Teacher:
    """Asks a `ChatClient` for one reply at a time, through the cache.

    `offline` (a dry run) answers from the cache only and raises `NotCached` for
    the rest, counting them: the run then follows every cached conversation as
    far as it goes without sending anything.
    """

    def __init__(
        self,
        model: ChatClient,
        cache: ReplyCache | None,
        options: TeacherOptions | None = None,
        *,
        offline: bool = False,
        tell: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model
        self.tell = tell or (lambda _: None)  # a line for the user, as a failure happens
        self.cache = cache
        self.offline = offline
        self.options = options or TeacherOptions()
        config = model.config if isinstance(model, ChatModel) else None
        self.endpoint = config.base_url if config else ""
        self.provider = config.provider if config else ""
        self.params = self.options.params(self.provider)
        self.stats = TeacherStats()
        self._limit = asyncio.Semaphore(self.options.concurrency)
        self._answered = False  # any request answered: from then on failures never stop the run
        self._failed_first = 0  # failed requests (not 429) before the first answer

    @property
    def label(self) -> str:
        return self.model.label

    @property
    def continues_prefix(self) -> bool:
        """Whether the server continues a trailing assistant message instead of answering anew."""
        return self.provider in PREFIX_PARAMS

    async def ask(self, messages: list[Message]) -> Answer:
        """The reply; raises `TeacherFailed` for this request, `ModelError` when the teacher is unusable.

        When the last message is the assistant's (a prefix, only where `continues_prefix`),
        the answer is that prefix followed by the model's continuation.
        """
        prefix = messages[-1]["content"] if messages[-1]["role"] == "assistant" else None
        params = (
            {**self.params, **PREFIX_PARAMS.get(self.provider, {})} if prefix is not None else self.params
        )
        stats = self.stats
        stats.requests += 1
        stats.largest_prompt = max(stats.largest_prompt, sum(len(str(m.get("content"))) for m in messages))
        key = ReplyCache.key(self.endpoint, self.label, messages, params)
        answer = self.cache.get(key) if self.cache is not None else None
        if answer is not None:
            stats.cached += 1
        elif self.offline:
            stats.to_send += 1
            raise NotCached
        else:
            answer = await self._send(messages, params)
            if prefix is not None:  # the reply continues the prefix: the whole message is both
                answer = Answer(f"{prefix}{answer.text}", answer.truncated)
            if self.cache is not None:
                self.cache.put(key, self.label, answer)
        stats.largest_reply = max(stats.largest_reply, len(answer.text))
        stats.truncated += answer.truncated
        return answer

    async def _send(self, messages: list[Message], params: dict[str, Any]) -> Answer:
        retried = 0
        while True:
            try:
                async with self._limit:
                    self.stats.sent += 1
                    # `stream` is how the reply travels, not what it says: not in the cache key
                    result = await self.model.chat(messages, **params, stream=self.options.stream)
                break
            except ContextTooLong as exc:
                self._failed("prompt too long for the context", exc)
                self.stats.failed += 1
                raise TeacherFailed(str(exc), context=True) from None
            except (ModelBusy, ModelTimeout) as exc:
                busy = isinstance(exc, ModelBusy)
                kind = "timeout" if not busy else f"HTTP {exc.status}" if exc.status else "no usable reply"
                self._failed(kind, exc, counts=not (busy and exc.status == 429))  # 429: slow down, not broken
                if retried == self.options.retries:
                    self.stats.failed += 1
                    raise TeacherFailed(f"{exc} (after {retried} retries)") from None
                hint = exc.retry_after if busy else None
                wait = hint if hint is not None else self.options.backoff_s * 2**retried
                retried += 1
                self.stats.retries += 1
                await asyncio.sleep(min(wait, MAX_RETRY_WAIT_S))
        self.stats.prompt_tokens += result.usage.prompt_tokens
        self.stats.completion_tokens += result.usage.completion_tokens
        text = result.message.content or ""
        truncated = result.message.finish_reason == "length"
        if not text.strip() and not truncated:
            self._failed("empty reply", f"{self.label} returned an empty reply")
            self.stats.failed += 1
            raise TeacherFailed(f"{self.label} returned an empty reply")
        self._answered = True
        return Answer(text, truncated)

    def _failed(self, kind: str, cause: object, *, counts: bool = True) -> None:
        """Count a failed request; tell the first of its kind; stop when the first N all failed."""
        failures = self.stats.failures
        failures[kind] += 1
        if failures[kind] == 1:
            self.tell(f"teacher request failed ({kind}): {cause}")
        if counts:
            self._failed_first += 1
        stop_after = self.options.stop_after
        if stop_after and not self._answered and self._failed_first >= stop_after:
            raise TeacherUnusable(
                f"stopped: each of the first {self._failed_first} requests to the teacher failed; "
                f"the last: {cause}"
            )
