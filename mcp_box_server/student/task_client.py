"""The client side of MCP tasks (SEP-2663): declare the extension, poll a task to its end.

A server may answer a `tools/call` with a task instead of the result (`resultType:
"task"`): a long box call. `TaskPolling`, given to the official SDK's `Client(extensions=
[...])`, declares `io.modelcontextprotocol/tasks` and turns such an answer back into the
tool's result by polling `tasks/get` at the interval the server suggests. A task that
asks a question (`input_required`) is cancelled: this client has nobody to ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Literal

import mcp_types
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.shared.exceptions import MCPError
from pydantic import ConfigDict, Field, TypeAdapter

TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
_ANY = TypeAdapter(dict[str, Any])
_Request = mcp_types.Request[dict[str, Any], str]  # the bare `Request` drops params it does not know


class CreatedTask(mcp_types.Result):
    """What a `tools/call` answers when the server made a task of it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str
    poll_interval_ms: int = Field(default=500, alias="pollIntervalMs")


async def task_request(session: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """`tasks/get`, `tasks/update` or `tasks/cancel`, as a plain dict."""
    return await session.send_request(_Request(method=method, params=params), _ANY)


async def wait_for(
    session: Any,
    task: CreatedTask,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Poll `tasks/get` until the task is completed, failed, cancelled or waits for input."""
    interval = max(0.05, task.poll_interval_ms / 1000)
    async with asyncio.timeout(timeout):
        while True:
            shown = await task_request(session, "tasks/get", {"taskId": task.task_id})
            if on_status is not None:
                on_status(shown)
            if shown.get("status") in TERMINAL or shown.get("status") == "input_required":
                return shown
            await asyncio.sleep(interval)


def final_result(shown: dict[str, Any]) -> mcp_types.CallToolResult:
    """A finished task as the tool result it stands for; a failed task is the error it carries."""
    status = shown.get("status")
    if status == "completed":
        return mcp_types.CallToolResult.model_validate(shown.get("result") or {"content": []})
    if status == "failed":
        error = shown.get("error") or {}
        raise MCPError(int(error.get("code", -32603)), str(error.get("message", "the task failed")))
    why = "was cancelled" if status == "cancelled" else f"stopped as {status}"
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=f"the task {why}")], is_error=True
    )


class TaskPolling(ClientExtension):
    """Declares the tasks extension; a task answer is polled to its result."""

    identifier = TASKS

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def claims(self) -> Sequence[ResultClaim[Any]]:
        return (ResultClaim(result_type="task", model=CreatedTask, resolve=self._resolve),)

    async def _resolve(self, task: CreatedTask, context: ClaimContext) -> mcp_types.CallToolResult:
        shown = await wait_for(context.session, task, timeout=self.timeout)
        if shown.get("status") == "input_required":
            await task_request(context.session, "tasks/cancel", {"taskId": task.task_id})
            questions = ", ".join(shown.get("inputRequests") or {}) or "?"
            return mcp_types.CallToolResult(
                content=[mcp_types.TextContent(type="text", text=f"the task asked for input ({questions})")],
                is_error=True,
            )
        return final_result(shown)
