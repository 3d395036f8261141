"""Group tools by what they do: the teacher reads their cards; TF-IDF is the fallback.

Word overlap puts momentum with density (both take `mass_kg`) and leaves Ohm's-law
current apart from electric power; AgentDistill groups tools by function, which
takes a reader. The teacher gets numbered one-line cards, at most `MAX_CARDS` per
request (ordered by TF-IDF cluster so related tools share a request), and answers
with groups and a reason for each. A reply that cannot be used, or no reply,
leaves that batch to TF-IDF, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_box_server.distill import cluster as tfidf
from mcp_box_server.distill.cards import card
from mcp_box_server.distill.extract import fenced_blocks, loads, strip_reasoning
from mcp_box_server.distill.prompts import render
from mcp_box_server.distill.records import Tool
from mcp_box_server.distill.teacher import Teacher, TeacherFailed

METHODS = ("teacher", "tfidf")
MAX_CARDS = 40


@dataclass(frozen=True, slots=True)
class Group:
    members: list[int]  # indices into the tools grouped
    why: str


@dataclass(frozen=True, slots=True)
class Grouping:
    groups: list[Group]
    method: str  # what decided: "teacher", "tfidf", or "tfidf (fallback: why)"


def by_tfidf(tools: list[Tool], threshold: float) -> list[Group]:
    indices = tfidf.cluster([tfidf.describe(t.source) for t in tools], threshold)
    return [Group(g, "similar names, summaries and parameters" if len(g) > 1 else "") for g in indices]


async def by_teacher(teacher: Teacher, system: str, tools: list[Tool], threshold: float) -> Grouping:
    """The teacher's groups, batch by batch; a batch it cannot group falls back to TF-IDF.

    Raises `NotCached` in a dry run that reaches an uncached grouping: what follows
    depends on the teacher's answer, so a guess would only miscount the requests.
    """
    order = [i for group in by_tfidf(tools, threshold) for i in group.members]
    groups: list[Group] = []
    fallbacks: list[str] = []
    for start in range(0, len(order), MAX_CARDS):
        batch = order[start : start + MAX_CARDS]
        found = await _ask(teacher, system, [tools[i] for i in batch])
        if isinstance(found, str):
            fallbacks.append(found)
            found = by_tfidf([tools[i] for i in batch], threshold)
        groups += [Group([batch[i] for i in g.members], g.why) for g in found]
    groups.sort(key=lambda g: min(g.members))
    method = f"tfidf (fallback: {'; '.join(fallbacks)})" if fallbacks else "teacher"
    return Grouping([Group(sorted(g.members), g.why) for g in groups], method)


async def _ask(teacher: Teacher, system: str, tools: list[Tool]) -> list[Group] | str:
    """Groups of `tools` by the teacher, or why there are none."""
    cards = "\n".join(f"{n}. {card(t.function, t.source, t.function)}" for n, t in enumerate(tools, start=1))
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": render("group", count=len(tools), cards=cards)},
    ]
    try:
        answer = await teacher.ask(messages)
    except TeacherFailed as exc:
        return f"no reply from the teacher: {exc}"
    if answer.truncated:
        return "the grouping reply was cut off"
    return parse(answer.text, len(tools))


def parse(text: str, count: int) -> list[Group] | str:
    """Groups from a reply `[{"tools": [1, 3], "why": "..."}]`; each tool once, the rest alone."""
    text = strip_reasoning(text)
    payloads = [body for _, body in fenced_blocks(text) if body.lstrip().startswith("[")]
    data = None
    for payload in payloads or [text[text.find("[") : text.rfind("]") + 1]]:
        try:
            data = loads(payload)
            break
        except ValueError:
            continue
    if not isinstance(data, list):
        return "the grouping reply holds no JSON list"
    seen: set[int] = set()
    groups: list[Group] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("tools"), list):
            continue
        members = []
        for number in item["tools"]:
            if isinstance(number, int) and 1 <= number <= count and number - 1 not in seen:
                seen.add(number - 1)
                members.append(number - 1)
        if members:
            groups.append(Group(members, str(item.get("why") or "").strip()))
    if not groups:
        return "the grouping reply names no tools"
    groups += [Group([i], "") for i in range(count) if i not in seen]
    return groups
