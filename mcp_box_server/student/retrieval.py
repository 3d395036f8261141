"""Tool retrieval (RAG-MCP, arXiv 2505.03275): show a small model only the relevant tools.

Small models choose worse as the tool list grows. When a box offers more tools
than `max_tools`, each question sees the `max_tools` box tools ranked best by
BM25 over name, description and parameter text (the same ranking the server's
`find_tools` uses, `mcp_box_server.box.search`), plus the meta-tool
`find_tools` so the model can still reach the rest. Tools the model found with
`find_tools` during a run are offered from then on. Numbers in the question are
left out of the ranking: they say which instance it is, not which tool it needs, so
questions of one kind get the same tools (and a server caching the prompt's prefix
reuses it).

With `max_tools` at or above the number of box tools, every box tool is offered
and the meta-tools are not (they would only add noise).

Demonstrations (`--shots K`) are chosen the same way: the K demos whose questions
rank best for the question, never one with the very same question.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp_box_server.box.search import Document, rank

if TYPE_CHECKING:  # the CLI reads DEFAULT_MAX_TOOLS at start: keep the MCP client out of it
    from mcp_box_server.box.demos import Demo
    from mcp_box_server.student.connection import ToolSpec

DEFAULT_MAX_TOOLS = 8
FIND_TOOLS = "find_tools"
_MEMO_SIZE = 4096
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def tool_document(tool: ToolSpec) -> Document:
    """The searchable text of a tool: name, description, parameter names and descriptions."""
    words = [tool.name, tool.description]
    for param, schema in (tool.input_schema.get("properties") or {}).items():
        words.append(param)
        if isinstance(schema, dict):
            words.append(str(schema.get("description", "")))
    return Document(tool.name, " ".join(words))


@dataclass(frozen=True, slots=True)
class ToolSelector:
    """Chooses the tools offered for one question; `max_tools=None` offers every box tool.

    Rankings are memoised per (question, tool list object): an agent asks at every
    step, and a connection hands out a new list object only when the server's
    tools change.
    """

    max_tools: int | None = DEFAULT_MAX_TOOLS
    _ranked: dict[tuple[str, int], tuple[Sequence[ToolSpec], frozenset[str]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def select(self, query: str, tools: Sequence[ToolSpec], pinned: Collection[str] = ()) -> list[ToolSpec]:
        """The tools to offer, in server order: top-k box tools, pinned ones, and `find_tools`."""
        box_tools = [t for t in tools if not t.is_meta]
        if self.max_tools is None or len(box_tools) <= self.max_tools:
            return box_tools
        key = (query, id(tools))
        memo = self._ranked.get(key)
        if memo is not None and memo[0] is tools:
            ranked = memo[1]
        else:
            if len(self._ranked) >= _MEMO_SIZE:
                self._ranked.clear()
            words = _NUMBER.sub(" ", query)  # numbers name the instance, not the tool it needs
            found = rank(words, [tool_document(t) for t in box_tools], self.max_tools)
            ranked = frozenset(name for name, _ in found)
            self._ranked[key] = (tools, ranked)  # holding `tools` keeps its id from being reused
        chosen = ranked | set(pinned)
        offered = [t for t in box_tools if t.name in chosen]
        offered += [t for t in tools if t.name == FIND_TOOLS]
        return offered


def found_tool_names(structured: Any) -> list[str]:
    """Tool names in a `find_tools` result (`{"tools": [{"name": ...}, ...]}`)."""
    if not isinstance(structured, dict):
        return []
    found = structured.get("tools")
    if not isinstance(found, list):
        return []
    return [item["name"] for item in found if isinstance(item, dict) and isinstance(item.get("name"), str)]


def nearest_demos(question: str, demos: Sequence[Demo], k: int) -> list[Demo]:
    """Up to `k` demos nearest `question` by BM25 over their questions, best first.

    Numbers are left out of the match: they say which instance a question is, not what
    kind (every Game of 24 puzzle then gets the same demos, and a server that caches
    the prompt's prefix reuses it). A demo asking the very question is left out (a task
    must not be shown its own answer), and so is one sharing no word with it; ties keep
    file order.
    """
    pool = [d for d in demos if d.question.strip() != question.strip()]
    if k <= 0 or not pool:
        return []
    documents = [Document(f"{index:06d}", _NUMBER.sub(" ", d.question)) for index, d in enumerate(pool)]
    return [pool[int(key)] for key, _ in rank(_NUMBER.sub(" ", question), documents, k)]
