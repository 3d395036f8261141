"""The distillation stages: generate+validate, abstract, cluster, consolidate.

Each stage turns validated tools into validated tools; nothing the teacher writes
is kept before a sandboxed worker has reproduced the answer of every task it
claims. A failure goes back to the teacher as the next turn of the same
conversation, at most `repairs` times, and every failed attempt is recorded
with its reason for the report.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from mcp_box_server.distill import cluster as clustering
from mcp_box_server.distill import consolidate as consolidation
from mcp_box_server.distill import grouping, names, substeps
from mcp_box_server.distill.cards import arg_docs
from mcp_box_server.distill.extract import Call, Example, ExtractError, extract, strip_reasoning
from mcp_box_server.distill.gate import public_functions
from mcp_box_server.distill.progress import Stages
from mcp_box_server.distill.prompts import render
from mcp_box_server.distill.records import Outcome, Rejection, Tool
from mcp_box_server.distill.tasks import Task
from mcp_box_server.distill.teacher import Message, NotCached, Teacher, TeacherFailed
from mcp_box_server.distill.validate import MAX_TOOL_NAME, Validator, Verdict

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_MARKER = re.compile(r"^(?:[-*•]\s*|\d+[.)]\s*|(?:step\s*1|first step)\s*[:.-]\s*)+", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
# What the ```json block of a repaired answer holds, per kind of request.
_SHAPES = {"call": "the call", "mappings": "the list of mappings, one per old tool"}
T = TypeVar("T")
# What checking one teacher reply gives: the module source, a verdict (or why there is none),
# and the calls it made, one per task checked.
Checked = tuple[str | None, Verdict | str, list[Call]]
Check = Callable[[str], Awaitable[Checked]]


@dataclass(frozen=True, slots=True)
class Settings:
    repairs: int = 2
    first_thought: bool = False
    cluster: str = "teacher"  # one of grouping.METHODS
    cluster_threshold: float = clustering.DEFAULT_THRESHOLD
    max_members: int = consolidation.MAX_MEMBERS
    sample_tasks: int = consolidation.SAMPLE_TASKS
    prompt_budget: int = consolidation.PROMPT_BUDGET

    def __post_init__(self) -> None:
        if self.cluster not in grouping.METHODS:
            raise ValueError(f"cluster must be one of {', '.join(grouping.METHODS)}, got {self.cluster!r}")
        if self.repairs < 0 or self.max_members < 2 or self.sample_tasks < 1:
            raise ValueError("repairs >= 0, max_members >= 2 and sample_tasks >= 1")


@dataclass(slots=True)
class _Attempt:
    """The result of one teacher reply: a tool, or why there is none."""

    tool: Tool | None
    reason: str
    wrote_module: bool
    context: bool = False  # the prompt did not fit the teacher's context
    reply: str = ""  # the reply that gave the tool


class Pipeline:
    """Runs the stages for one task set; `run()` returns the `Outcome` emit needs."""

    def __init__(self, teacher: Teacher, validator: Validator, settings: Settings, stages: Stages) -> None:
        self.teacher = teacher
        self.validator = validator
        self.settings = settings
        self.stages = stages
        self.outcome = Outcome()
        self.tasks: dict[str, Task] = {}  # the task file's, then the helpers' examples
        self._examples: dict[str, list[Example]] = {}  # task id -> helper examples in its reply
        limits = validator.limits
        self._system = render(
            "system",
            allow_imports=", ".join(limits.allow_imports) or "nothing (standard builtins only)",
            timeout=f"{limits.timeout:g}",
        )

    async def run(self, tasks: list[Task]) -> Outcome:
        counts = self.outcome.counts
        counts.tasks = len(tasks)
        self.tasks = {task.id: task for task in tasks}
        with self.stages.stage("generate", len(tasks)) as advance:
            generated = await _all(self._advancing(advance, self.generate(t)) for t in tasks)
        valid = [tool for tool in generated if tool is not None]
        helpers = await _all(self.sub_steps(t) for t in valid)
        with self.stages.stage("abstract", len(valid)) as advance:
            kept = await _all(self._advancing(advance, self.abstract(t)) for t in valid)
        kept += [helper for found in helpers for helper in found]
        with self.stages.stage("cluster", 1) as advance:
            kept = await self.dedupe(kept)
            groups = await self.cluster(kept)
            counts.clusters = len(groups)
            self.outcome.clusters = [[kept[i].function for i in g] for g in groups]
            advance()
        merges = [g for g in groups if len(g) > 1]
        final: list[Tool] = [kept[g[0]] for g in groups if len(g) == 1]
        with self.stages.stage("consolidate", len(merges)) as advance:
            merged = await _all(
                self._advancing(advance, self.consolidate(groups.index(g) + 1, [kept[i] for i in g]))
                for g in merges
            )
        for tools in merged:
            final.extend(tools)
        final = await self.distinct_names(final)
        order = {task_id: n for n, task_id in enumerate(self.tasks)}
        final.sort(key=lambda t: min(order[task_id] for task_id in t.calls))
        self.outcome.tools = final
        return self.outcome

    async def cluster(self, tools: list[Tool]) -> list[list[int]]:
        """Indices of `tools` grouped by function: by the teacher, or by TF-IDF when asked or as fallback."""
        threshold = self.settings.cluster_threshold
        if self.settings.cluster == "teacher" and len(tools) > 1:
            try:
                found = await grouping.by_teacher(self.teacher, self._system, tools, threshold)
            except NotCached:  # a dry run stops here: consolidation depends on the answer
                found = grouping.Grouping([grouping.Group([i], "") for i in range(len(tools))], "not cached")
            groups, self.outcome.cluster_method = found.groups, found.method
        else:
            groups, self.outcome.cluster_method = grouping.by_tfidf(tools, threshold), "tfidf"
        self.outcome.cluster_why = [g.why for g in groups]
        return [g.members for g in groups]

    async def distinct_names(self, tools: list[Tool]) -> list[Tool]:
        """Merge same-named tools that solve each other's tasks; ask the teacher to rename the rest."""
        tools = await self.dedupe(tools)
        limit = MAX_TOOL_NAME - len(self.validator.box) - 1
        for function, same in names.clashes(tools).items():
            taken = {t.function for t in tools} - {function}
            new = await names.ask_names(self.teacher, self._system, function, same, taken, limit)
            if isinstance(new, str):
                self.outcome.renames += [(function, "", f"kept for a numbered suffix at emit: {new}")]
                continue
            for tool, name in zip(same, new, strict=True):
                renamed = names.rename(tool, name)
                checks = [(self.tasks[t], c) for t, c in renamed.calls.items()]
                if (await self.validator.validate(renamed.source, checks)).ok:
                    tools[tools.index(tool)] = renamed
                    self.outcome.renames.append((function, name, "named by the teacher"))
        return tools

    @staticmethod
    async def _advancing(advance: Callable[[], None], coroutine: Awaitable[T]) -> T:
        try:
            return await coroutine
        finally:
            advance()

    # ---- generate + validate ------------------------------------------------------------

    async def generate(self, task: Task) -> Tool | None:
        """Ask for a tool that answers `task`; repair it with the error until it passes.

        With `first_thought`, the first step of the teacher's own plain answer opens its
        reply (an assistant prefix it continues, arXiv 2505.17612) where the server can
        continue a message, and is a hint in the prompt elsewhere.
        """
        thought = await self._first_thought(task) if self.settings.first_thought else ""
        prefill = bool(thought) and self.teacher.continues_prefix
        hint = render("first_thought_hint", thought=thought) if thought and not prefill else ""
        messages = self._conversation(render("solve", question=task.question, first_thought=hint))
        if prefill:
            messages.append({"role": "assistant", "content": thought})
        subject = f"task {task.id}"
        attempt = await self._solve(messages, "generate", subject, [task], lambda r: self._one(task, r))
        if attempt.tool is not None:
            self._examples[task.id] = list(extract(attempt.reply).examples)
        counts = self.outcome.counts
        if attempt.wrote_module:
            counts.generated += 1
        if attempt.tool is not None:
            counts.valid += 1
            counts.repaired += int(attempt.tool.origin == "repaired")
        return attempt.tool

    async def sub_steps(self, tool: Tool) -> list[Tool]:
        """The helpers of a generated tool that pass the teacher's examples, each as a tool."""
        ((task_id, _),) = tool.calls.items()
        kept = []
        for helper, checks in substeps.example_tasks(
            self.tasks[task_id], self._examples.get(task_id, [])
        ).items():
            subject = f"task {task_id} helper {helper}"
            source = substeps.helper_module(tool.source, helper, tool.function)
            if source is None:
                why = f"'{helper}' is not a private helper defined in the module, or its public name is taken"
                self.outcome.rejections.append(Rejection("generate", subject, 0, why))
                continue
            verdict = await self.validator.validate(source, checks)
            if not verdict.ok or verdict.function is None:
                self.outcome.rejections.append(
                    Rejection("generate", subject, 0, verdict.reason(), verdict.function)
                )
                continue
            self.tasks.update((task.id, task) for task, _ in checks)
            calls = {task.id: call for task, call in checks}
            kept.append(Tool(verdict.function, source, calls, verdict.results, "helper"))
            self.outcome.counts.helpers += 1
        return kept

    async def _first_thought(self, task: Task) -> str:
        """The first step of a plain chain-of-thought answer, its reasoning block stripped."""
        prompt = render("first_thought", question=task.question)
        try:
            reply = await self.teacher.ask([{"role": "user", "content": prompt}])
        except (TeacherFailed, NotCached):
            return ""  # solve without it
        if reply.truncated:
            return ""
        return first_step(reply.text)

    async def _one(self, task: Task, reply_text: str) -> Checked:
        reply = extract(reply_text)
        calls = [call for task_id, call in reply.calls if task_id in (None, task.id)] or [reply.calls[0][1]]
        verdict = await self.validator.validate(reply.source, [(task, calls[0])])
        return reply.source, verdict, calls[:1]

    # ---- abstract ---------------------------------------------------------------------------

    async def abstract(self, tool: Tool) -> Tool:
        """Turn task constants into parameters; keep the original when no rewrite passes."""
        ((task_id, call),) = tool.calls.items()
        task = self.tasks[task_id]
        prompt = render(
            "abstract",
            question=task.question,
            source=tool.source.rstrip(),
            call=json.dumps({"function": call.function, "arguments": call.arguments}),
        )

        async def check(reply_text: str) -> Checked:
            source, verdict, calls = await self._one(task, reply_text)
            if not (isinstance(verdict, Verdict) and verdict.ok and source is not None):
                return source, verdict, calls
            if not _parameters(source):
                return (
                    source,
                    "the rewritten tool has no parameters: make the task's constants parameters",
                    calls,
                )
            baked = task_defaults(source, task.question)
            if baked:
                shown = ", ".join(f"{p} = {v!r}" for p, v in baked.items())
                return (
                    source,
                    f"defaults taken from this task ({shown}): a caller that leaves them out would silently "
                    "get this task's answer; make them required parameters (no default)",
                    calls,
                )
            return source, _documented(source, verdict), calls

        attempt = await self._solve(self._conversation(prompt), "abstract", f"task {task_id}", [task], check)
        if attempt.tool is None:
            return tool
        self.outcome.counts.abstracted += 1
        attempt.tool.origin = "abstracted"
        return attempt.tool

    # ---- consolidate --------------------------------------------------------------------

    async def consolidate(self, number: int, members: list[Tool]) -> list[Tool]:
        """Merge a cluster, in parts of bounded size; members that do not merge stay as they are."""
        groups = consolidation.parts(members, self.settings.max_members)
        merged = await _all(
            self._merge(f"cluster {number}" + (f" part {i}" if len(groups) > 1 else ""), group)
            for i, group in enumerate(groups, start=1)
        )
        return [tool for tools in merged for tool in tools]

    async def _merge(self, name: str, members: list[Tool]) -> list[Tool]:
        """One tool passing every member task, else the members; too big a prompt is halved."""
        if len(members) < 2:
            return members
        prompt = consolidation.prompt(members, self.tasks, self.settings.sample_tasks)
        half = len(members) // 2
        if len(prompt) > self.settings.prompt_budget:
            return await self._merge(f"{name}a", members[:half]) + await self._merge(
                f"{name}b", members[half:]
            )
        tasks = [self.tasks[task_id] for member in members for task_id in member.calls]
        subject = f"{name} ({', '.join(m.function for m in members)})"

        async def check(reply_text: str) -> Checked:
            reply = extract(reply_text)
            calls = consolidation.mapped_calls(reply, members)
            if isinstance(calls, str):
                return reply.source, calls, []
            checks = [(t, calls[t.id]) for t in tasks]
            verdict = await self.validator.validate(reply.source, checks)
            return reply.source, _documented(reply.source, verdict), [c for _, c in checks]

        attempt = await self._solve(
            self._conversation(prompt), "consolidate", subject, tasks, check, "mappings"
        )
        if attempt.context:  # the teacher's context is smaller than the budget: ask about fewer tools
            return await self._merge(f"{name}a", members[:half]) + await self._merge(
                f"{name}b", members[half:]
            )
        if attempt.tool is None:
            return members
        self.outcome.counts.consolidated += 1
        attempt.tool.origin = "consolidated"
        attempt.tool.members = tuple(m.function for m in members)
        return [attempt.tool]

    async def dedupe(self, tools: list[Tool]) -> list[Tool]:
        """One copy of a function written for several tasks, if it passes all their tasks.

        Abstraction often yields the same function from several tasks (`miles_to_km`
        with different defaults); a copy that fails another's task stays separate.
        """

        async def merge(same: list[Tool]) -> list[Tool]:
            kept: list[Tool] = []
            for tool in same:
                checks = [(self.tasks[t], c) for t, c in tool.calls.items()]
                for other in kept:
                    # the same code gives the same results: no need to run it again
                    same = other.source == tool.source
                    verdict = None if same else await self.validator.validate(other.source, checks)
                    if verdict is None or verdict.ok:
                        other.calls.update(tool.calls)
                        other.results.update(tool.results if verdict is None else verdict.results)
                        break
                else:
                    kept.append(tool)
            return kept

        by_name: dict[str, list[Tool]] = {}
        for tool in tools:
            by_name.setdefault(tool.function, []).append(tool)
        merged = await _all(merge(same) for same in by_name.values())
        return [tool for group in merged for tool in group]

    # ---- the shared ask / validate / repair loop -----------------------------------------

    def _conversation(self, prompt: str) -> list[Message]:
        return [{"role": "system", "content": self._system}, {"role": "user", "content": prompt}]

    async def _solve(
        self,
        messages: list[Message],
        stage: str,
        subject: str,
        tasks: list[Task],
        check: Check,
        shape: str = "call",
    ) -> _Attempt:
        """Ask, check, and repair in the same conversation, at most `repairs` times.

        A request the teacher could not answer (busy, empty) is a failed attempt asked
        again; a reply cut off at the token limit gets a "be shorter" turn; a prompt too
        long for the context ends the loop (`_Attempt.context`), since asking again won't fit.
        """
        wrote = False
        reason = ""
        for attempt in range(self.settings.repairs + 1):
            function = None
            try:
                answer = await self.teacher.ask(messages)
            except NotCached:
                return _Attempt(None, "not in the cache (dry run)", wrote)
            except TeacherFailed as exc:
                reason = f"no reply from the teacher: {exc}"
                self.outcome.rejections.append(Rejection(stage, subject, attempt, reason))
                if exc.context:
                    return _Attempt(None, reason, wrote, context=True)
                continue
            if answer.truncated:
                reason = "the reply was cut off at the token limit"
                follow_up = render("shorter")
            else:
                try:
                    source, verdict, calls = await check(answer.text)
                except ExtractError as exc:
                    reason = str(exc)
                else:
                    wrote = True
                    if isinstance(verdict, Verdict):
                        function = verdict.function
                        reason = verdict.reason()
                        if verdict.ok and source is not None and function is not None:
                            tool = Tool(
                                function,
                                source,
                                {t.id: c for t, c in zip(tasks, calls, strict=True)},
                                verdict.results,
                                "repaired" if attempt else "generated",
                            )
                            return _Attempt(tool, "", wrote, reply=answer.text)
                    else:
                        reason = verdict
                follow_up = render("repair", error=reason, json=_SHAPES[shape])
            self.outcome.rejections.append(Rejection(stage, subject, attempt, reason, function))
            if messages[-1]["role"] == "assistant":  # the prefix is now part of the reply
                messages = messages[:-1]
            messages = [
                *messages,
                {"role": "assistant", "content": answer.text},
                {"role": "user", "content": follow_up},
            ]
        return _Attempt(None, reason, wrote)


async def _all(coroutines: Iterable[Awaitable[T]]) -> list[T]:
    """Like `asyncio.gather`, but a failure (the teacher is gone) cancels the siblings."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(c)) for c in coroutines]
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return [task.result() for task in tasks]


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def first_step(text: str, limit: int = 300) -> str:
    """One step: the first line with words (list markers dropped), up to its first sentence end."""
    lines = [line.strip() for line in strip_reasoning(text).splitlines() if re.search(r"\w", line)]
    if not lines:
        return ""
    line = _MARKER.sub("", lines[0])
    return _SENTENCE.split(line)[0][:limit].strip()


def task_defaults(source: str, question: str) -> dict[str, object]:
    """Parameters whose default is a number or word from the task's question (not a convention)."""
    fn = public_functions(ast.parse(source))[0]
    args = fn.args.posonlyargs + fn.args.args
    pairs = list(zip(args[len(args) - len(fn.args.defaults) :], fn.args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True) if d is not None]
    numbers = {float(n) for n in _NUMBER.findall(question.replace(",", ""))}
    words = {w.casefold() for w in re.findall(r"[^\W\d_]{2,}", question)}
    baked: dict[str, object] = {}
    for arg, node in pairs:
        try:
            value = ast.literal_eval(node)
        except ValueError:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if (number and float(value) in numbers) or (isinstance(value, str) and value.casefold() in words):
            baked[arg.arg] = value
    return baked


def _documented(source: str, verdict: Verdict) -> Verdict | str:
    """A passing verdict, unless a parameter is missing from the docstring's `Args:`.

    A student sees only the description: a parameter it cannot read about is one it guesses.
    """
    if not verdict.ok:
        return verdict
    fn = public_functions(ast.parse(source))[0]
    missing = [p for p in _parameters(source) if p not in arg_docs(ast.get_docstring(fn) or "")]
    if missing:
        shown = ", ".join(missing)
        return f"describe every parameter under `Args:` in the docstring, with its unit: missing {shown}"
    return verdict


def _parameters(source: str | None) -> list[str]:
    if source is None:
        return []
    fn = public_functions(ast.parse(source))[0]
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
