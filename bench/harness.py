"""Student harness benchmarks: the harness's own time per agent step, and eval scaling.

    .venv/bin/python bench/harness.py [--steps 200] [--tasks 16] [--latency 0.2]

1. Per-step overhead. (a) In-process: a zero-latency scripted `ChatClient` and an
   instant tool backend, 40 tools with retrieval on: what remains is the
   harness itself (tool selection, parsing, bookkeeping, messages). (b) Full
   stack: the scripted OpenAI-compatible HTTP server (zero latency, real
   `openai` client) and a real `mcp-box serve` over stdio with the bundled math
   box; per step we report the wall time, the model round trip, the MCP tool
   round trip, and the rest (the harness's own time).
2. Eval wall time against a model with a fixed latency per request, with the
   box (each task: a tool call, then the answer = 2 model requests), for
   concurrency 1, 2, 4, 8.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_box_server.llm import AssistantMessage, ChatModel, ChatResult, ToolCallRequest, Usage, resolve_model  # noqa: E402
from mcp_box_server.student.agent import Agent, AgentConfig  # noqa: E402
from mcp_box_server.student.benchmarks import load_benchmark  # noqa: E402
from mcp_box_server.student.connection import BoxConnection, ServerTarget, ToolOutcome, ToolSpec  # noqa: E402
from mcp_box_server.student.evaluation import run_arm  # noqa: E402
from tests.support.scripted_openai import Script, ScriptedOpenAI  # noqa: E402

CALL = {"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13]}}


class InstantModel:
    """A zero-latency `ChatClient`: always the same tool call (as text or native)."""

    label = "instant"

    def __init__(self, text_calls: bool) -> None:
        self.text_calls = text_calls

    async def chat(
        self, messages: list[Any], tools: Any = None, n: int = 1, temperature: Any = None, **_: Any
    ) -> ChatResult:
        if not tools:
            message = AssistantMessage("Final answer: (4 - 10) * (9 - 13)")
        elif self.text_calls:
            message = AssistantMessage(
                '<tool_call>{"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13]}}</tool_call>'
            )
        else:
            message = AssistantMessage(
                None, (ToolCallRequest("c1", "math_solve_24", '{"numbers": [4, 9, 10, 13]}'),)
            )
        return ChatResult((message,) * n, Usage(10, 5), 0.0, "instant")


class InstantTools:
    """40 tools, answered instantly."""

    def __init__(self) -> None:
        self.tools = [
            ToolSpec(
                f"math_tool_{i}",
                f"Tool number {i}: computes quantity {i} of a number, matrix or polynomial.",
                {"type": "object", "properties": {"x": {"type": "number", "description": "input"}}},
            )
            for i in range(39)
        ]
        self.tools.append(
            ToolSpec(
                "math_solve_24",
                "Find an arithmetic expression that makes 24 from four numbers (Game of 24).",
                {
                    "type": "object",
                    "properties": {"numbers": {"type": "array", "items": {"type": "integer"}}},
                },
            )
        )
        self.tools.append(ToolSpec("find_tools", "Find tools.", {"type": "object", "properties": {}}))

    async def list_tools(self) -> list[ToolSpec]:
        return self.tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        return ToolOutcome('{"expression": "(4 - 10) * (9 - 13)"}', {"expression": "(4 - 10) * (9 - 13)"})


QUESTION = "Use the numbers 4 9 10 13 and basic arithmetic operations (+ - * /) to obtain 24."


async def in_process(steps: int, text_calls: bool) -> float:
    """Mean harness time per step (ms), nothing else in the loop."""
    agent = Agent(InstantModel(text_calls), InstantTools(), AgentConfig(max_steps=steps, max_tools=8))
    await agent.solve(QUESTION)  # warm up
    started = time.perf_counter()
    run = await agent.solve(QUESTION)
    elapsed = time.perf_counter() - started
    return elapsed / (len(run.steps) + 1) * 1000


async def full_stack(steps: int) -> dict[str, float]:
    """Per-step wall, model, tool and own time (ms) with real HTTP and a real MCP server."""
    replies: list[Any] = [{"tool_calls": [CALL]}] * (steps * 2) + ["Final answer: x"] * 2
    with ScriptedOpenAI(Script.sequence(replies)) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model,
            BoxConnection(ServerTarget.local(box_names=["math"], reload=False)) as box,
        ):
            agent = Agent(model, box, AgentConfig(max_steps=steps))
            await agent.solve(QUESTION)  # warm up: worker start, connection pool
            started = time.perf_counter()
            run = await agent.solve(QUESTION)
            wall = time.perf_counter() - started
    generations = len(run.steps) + 1
    model_s = run.model_latency_s
    tool_s = sum(step.tool_latency_s for step in run.steps)
    return {
        "wall": wall / generations * 1000,
        "model": model_s / generations * 1000,
        "tool": tool_s / len(run.steps) * 1000,
        "own": (wall - model_s - tool_s) / generations * 1000,
        "history_messages": len(run.messages),
    }


async def scaling(tasks: int, latency: float, levels: list[int]) -> list[tuple[int, float, float]]:
    """(concurrency, wall s, accuracy) for a box eval against a model with fixed latency."""
    bench = load_benchmark("game24", (900, 900 + tasks))

    def respond(request: dict[str, Any]) -> Any:
        if len(request["messages"]) == 2:
            puzzle = request["messages"][1]["content"].split("numbers ", 1)[1].split(" and", 1)[0]
            numbers = [int(n) for n in puzzle.split()]
            return {"tool_calls": [{"name": "math_solve_24", "arguments": {"numbers": numbers}}]}
        import json

        result = json.loads(request["messages"][-1]["content"])
        return f"Final answer: {result.get('expression')}"

    rows = []
    with ScriptedOpenAI(respond, latency_s=latency) as llm:
        async with (
            ChatModel(resolve_model("scripted", base_url=llm.base_url)) as model,
            BoxConnection(ServerTarget.local(box_names=["math"], reload=False)) as box,
        ):
            await box.call_tool("math_solve_24", {"numbers": [1, 2, 3, 4]})  # warm the worker
            for level in levels:
                with tempfile.TemporaryDirectory() as folder:
                    trace = Path(folder) / "box.jsonl"
                    result = await run_arm(
                        bench, model, box, AgentConfig(), trace, arm="box", concurrency=level
                    )
                rows.append((level, result.summary.wall_s, result.summary.accuracy))
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()

    native = [await in_process(args.steps, text_calls=False) for _ in range(3)]
    text = [await in_process(args.steps, text_calls=True) for _ in range(3)]
    print("## per step, in process (zero-latency model, instant tools, 40 tools, retrieval on)")
    print(
        f"native tool_calls: {statistics.median(native):.3f} ms/step (median of 3 runs of {args.steps} steps)"
    )
    print(f"text <tool_call>:  {statistics.median(text):.3f} ms/step")
    stack_steps = min(args.steps, 50)
    stack = await full_stack(stack_steps)
    print(
        f"\n## per step, full stack ({stack_steps} steps: HTTP scripted model, mcp-box serve stdio, math box)"
    )
    for key in ("wall", "model", "tool", "own"):
        print(f"{key:>5}: {stack[key]:.2f} ms")
    latency_ms = args.latency * 1000
    print(f"\n## eval wall time, {args.tasks} game24 tasks with the box, model latency {latency_ms:.0f} ms")
    print("| concurrency | wall (s) | speed-up | accuracy |")
    print("|---:|---:|---:|---:|")
    rows = await scaling(args.tasks, args.latency, [1, 2, 4, 8])
    base = rows[0][1]
    for level, wall, accuracy in rows:
        print(f"| {level} | {wall:.2f} | {base / wall:.2f}x | {accuracy:.0%} |")


if __name__ == "__main__":
    asyncio.run(main())
