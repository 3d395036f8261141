"""Long box calls as MCP tasks (SEP-2663), through a real server and the official SDK client.

A 5 s call made as a task is polled to completion; a second is cancelled and its worker
is gone within a second (judged by its pid); a third asks a question inside the task and
completes after `tasks/update`; with two replicas behind nginx sharing a Redis store,
either replica answers for a task the other runs, a cancel on one stops the worker on
the other, and a listen stream on either hears the task end.
A client that does not declare the extension gets -32021 for a tool that requires it,
and the plain result for one that only allows it. A listen stream that names tasks hears
each change of their status; a task lives for the TTL its client asked for (within the
server's bounds), then is gone with its worker; a tool that asks before its task asks in
the request, and the call that brings the answer becomes the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import mcp_types
import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError

from mcp_box_server import tool
from mcp_box_server.box.manifest import ManifestError, read_manifest
from mcp_box_server.server.task_store import MemoryTaskStore, RedisTaskStore, TaskRecord
from mcp_box_server.student.connection import BoxConnection, ServerTarget
from mcp_box_server.student.task_client import CreatedTask, TaskPolling, final_result, task_request, wait_for
from tests.server.test_replicas import NGINX, replicas_behind_nginx
from tests.support.boxes import make_box
from tests.support.processes import alive, descendants
from tests.support.servers import free_port, server_process, stop_group

CRUNCH = '''
    @tool(task="optional")
    def crunch(seconds: float, hold: str = "") -> str:
        """Work for a while (a long call), then say so.

        Args:
            seconds: how long.
            hold: a file to keep open meanwhile (tests find the worker by it).
        """
        if hold:
            with open(hold, "w") as held:
                held.write("held")
                held.flush()
                time.sleep(seconds)
        else:
            time.sleep(seconds)
        return f"crunched for {seconds:g} s"
'''  # a tool module's function, after `import time` and `from mcp_box_server import tool`

LONG = (
    """
    import time

    from mcp_box_server import elicit, tool

"""
    + CRUNCH
    + '''


    def delete(item: str) -> str:
        """Delete an item once the user confirms.

        Args:
            item: what to delete.
        """
        answer = elicit(f"Delete {item}?", {"confirm": bool}, key="confirm")
        return f"deleted {item}" if answer["content"]["confirm"] else f"kept {item}"


    def fail() -> str:
        """Always fails."""
        raise ValueError("this job fails")


    @tool(task="required")
    def tally(n: int) -> int:
        """Count to n slowly (a tool that runs only as a task for a 2026-07-28 client).

        Args:
            n: how far.
        """
        time.sleep(0.5)
        return n


    @tool(task="after_questions")
    def greet() -> str:
        """Ask the user's name, then greet them after a while."""
        answer = elicit("Your name?", {"name": str}, key="user_name")
        time.sleep(0.5)
        return f"Hello, {answer['content']['name']}!"
'''
)

MANIFEST = """
[tools.delete]
task = "required"

[tools.fail]
task = "optional"
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[str, int]:
    root = tmp_path_factory.mktemp("task-boxes")
    make_box(root, "long", {"jobs": LONG}, MANIFEST)
    with server_process("--boxes", str(root)) as (url, process):
        yield url, process.pid


@pytest.fixture(scope="module")
def base(served) -> str:
    return served[0]


def holder(server: int, path: Path) -> int | None:
    """The process under `server` that holds `path` open: the worker running the call
    (its own pid is 1 inside its PID namespace, so it cannot tell us)."""
    for pid in descendants(server):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    return None


def client(base: str, **kwargs) -> Client:
    return Client(f"{base}/mcp", extensions=[TaskPolling()], **kwargs)


async def unused(*_: object) -> mcp_types.ElicitResult:
    raise AssertionError("a task asks through input_required, never by a request to the client")


def is_ack(answer: dict) -> bool:
    """The empty answer of tasks/update and tasks/cancel: no task envelope (the server's `_meta` aside)."""
    return answer.get("resultType") == "complete" and set(answer) <= {"resultType", "_meta"}


async def start(session, tool: str, arguments: dict) -> CreatedTask:
    created = await session.call_tool(tool, arguments, allow_claimed=True)
    assert isinstance(created, CreatedTask), created
    assert created.status == "working" and created.task_id
    return created


async def test_a_long_call_made_as_a_task_is_polled_to_completion(base):
    async with client(base) as mcp:
        began = time.monotonic()
        task = await start(mcp.session, "long_crunch", {"seconds": 5})
        assert time.monotonic() - began < 4  # answered with a task, not after the call
        wire = task.model_dump(by_alias=True)
        assert isinstance(wire["ttlMs"], int) and isinstance(wire["pollIntervalMs"], int)
        assert "requestState" not in wire and "result" not in wire
        seen: list[str] = []
        shown = await wait_for(mcp.session, task, on_status=lambda s: seen.append(s["status"]), timeout=60)
        assert seen[0] == "working" and shown["status"] == "completed"
        assert final_result(shown).content[0].text == "crunched for 5 s"
        assert (await mcp.call_tool("long_crunch", {"seconds": 0.2})).content[0].text == "crunched for 0.2 s"


async def test_a_cancelled_task_stops_its_worker_within_a_second(served, tmp_path: Path):
    base, server = served
    held = tmp_path / "held"
    async with client(base) as mcp:
        task = await start(mcp.session, "long_crunch", {"seconds": 60, "hold": str(held)})
        async with asyncio.timeout(30):
            while (pid := holder(server, held)) is None:
                await asyncio.sleep(0.05)
        assert alive(pid)
        ack = await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id})
        assert is_ack(ack)
        cancelled = time.monotonic()
        while alive(pid) and time.monotonic() - cancelled < 1.0:
            await asyncio.sleep(0.02)
        assert not alive(pid), "the worker outlived its cancelled task by a second"
        shown = await task_request(mcp.session, "tasks/get", {"taskId": task.task_id})
        assert shown["status"] == "cancelled" and "result" not in shown
        again = await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id})
        assert is_ack(again)  # idempotent on a finished task


async def test_a_question_inside_a_task_is_answered_with_tasks_update(base):
    async with client(base, elicitation_callback=unused) as mcp:  # declares elicitation
        task = await start(mcp.session, "long_delete", {"item": "report.txt"})
        shown = await wait_for(mcp.session, task, timeout=60)
        assert shown["status"] == "input_required"
        request = shown["inputRequests"]["confirm"]
        assert (
            request["method"] == "elicitation/create" and "Delete report.txt?" in request["params"]["message"]
        )
        answer = {"action": "accept", "content": {"confirm": True}}
        ignored = {"action": "accept", "content": {"confirm": False}}
        ack = await task_request(
            mcp.session,
            "tasks/update",
            {"taskId": task.task_id, "inputResponses": {"confirm": answer, "x": ignored}},
        )
        assert is_ack(ack)
        shown = await wait_for(mcp.session, task, timeout=60)
        assert shown["status"] == "completed", shown
        assert final_result(shown).content[0].text == "deleted report.txt"


async def test_tool_errors_complete_with_is_error_and_unknown_ids_are_invalid_params(base):
    async with client(base) as mcp:
        task = await start(mcp.session, "long_fail", {})
        shown = await wait_for(mcp.session, task, timeout=60)
        assert shown["status"] == "completed" and shown["result"]["isError"] is True
        assert "this job fails" in shown["result"]["content"][0]["text"]
        with pytest.raises(MCPError) as unknown:
            await task_request(mcp.session, "tasks/get", {"taskId": "no-such-task"})
        assert unknown.value.code == -32602


async def test_a_client_without_the_extension(base):
    async with Client(f"{base}/mcp") as plain:
        with pytest.raises(MCPError) as refused:
            await plain.call_tool("long_delete", {"item": "x"})
        assert refused.value.code == -32021 and "io.modelcontextprotocol/tasks" in str(refused.value)
        result = await plain.call_tool("long_crunch", {"seconds": 0.1})  # optional: the plain result
        assert isinstance(result, mcp_types.CallToolResult) and result.content[0].text == "crunched for 0.1 s"
        with pytest.raises(MCPError) as gated:
            await task_request(plain.session, "tasks/get", {"taskId": "any"})
        assert gated.value.code == -32021


@pytest.fixture
def redis_url(tmp_path: Path) -> str:
    """A private redis-server on a free loopback port (Debian's package; .ci/run installs it)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start within 10 s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_group(process)


@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed")
async def test_with_a_shared_store_any_replica_answers_for_a_task(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv("MCP_BOX_TASK_STORE", redis_url)
    held = tmp_path / "held"
    root = tmp_path / "boxes"
    make_box(root, "long", {"jobs": LONG}, MANIFEST)
    (tmp_path / "nginx").mkdir()
    with replicas_behind_nginx(root, tmp_path / "nginx") as (balanced, replicas):
        async with client(balanced) as mcp:
            task = await start(mcp.session, "long_crunch", {"seconds": 3})
            doomed = await start(mcp.session, "long_crunch", {"seconds": 30, "hold": str(held)})
        # a listen stream on each replica hears the task end, the one that does not run it too
        heard = await asyncio.gather(*(told(f"http://127.0.0.1:{r.port}", task.task_id) for r in replicas))
        assert [[shown["status"] for shown in tale] for tale in heard] == [["working", "completed"]] * 2
        assert all(tale[-1]["result"]["content"][0]["text"] == "crunched for 3 s" for tale in heard)
        for replica in replicas:  # each replica directly: the one that runs it and the other
            async with client(f"http://127.0.0.1:{replica.port}") as direct:
                shown = await task_request(direct.session, "tasks/get", {"taskId": task.task_id})
                assert shown["taskId"] == task.task_id and shown["status"] in ("working", "completed")
        async with asyncio.timeout(30):
            while not (running := [(r, pid) for r in replicas if (pid := holder(r.process.pid, held))]):
                await asyncio.sleep(0.05)
        ((runner, pid),) = running
        other = next(r for r in replicas if r is not runner)
        async with client(f"http://127.0.0.1:{other.port}") as elsewhere:  # cancelled where it does not run
            assert is_ack(await task_request(elsewhere.session, "tasks/cancel", {"taskId": doomed.task_id}))
        cancelled_at = time.monotonic()
        while alive(pid) and time.monotonic() - cancelled_at < 2.0:
            await asyncio.sleep(0.02)
        assert not alive(pid), "a cancel on the other replica did not stop the worker within 2 s"
        async with client(f"http://127.0.0.1:{runner.port}") as first:
            shown = await wait_for(first.session, task, timeout=60)
            assert final_result(shown).content[0].text == "crunched for 3 s"
            cancelled = await task_request(first.session, "tasks/get", {"taskId": doomed.task_id})
            assert cancelled["status"] == "cancelled"


async def test_through_redis_a_cancel_ends_its_task_however_its_writes_interleave(tmp_path, redis_url):
    """A real server on Redis; the test plays a second replica with the store's own class.
    First, that replica's `tasks/update` read the task before a cancel and saves after it:
    the task stays cancelled, and the answer runs nothing. Then a cancel whose replica went
    between its two writes (the flag up, the record not yet saved): the runner stops the
    worker and says "cancelled" itself, where the task used to say "working" until its TTL."""
    held = tmp_path / "held"
    make_box(tmp_path / "boxes", "long", {"jobs": LONG}, MANIFEST)
    env = {**os.environ, "MCP_BOX_TASK_STORE": redis_url}
    replica = RedisTaskStore(redis_url)
    with server_process("--boxes", str(tmp_path / "boxes"), env=env) as (url, process):
        try:
            async with client(url, elicitation_callback=unused) as mcp:
                asking = await start(mcp.session, "long_delete", {"item": "report.txt"})
                assert (await wait_for(mcp.session, asking, timeout=60))["status"] == "input_required"
                stale = await replica.load(asking.task_id)
                assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": asking.task_id}))
                stale.answers["confirm"] = {"action": "accept", "content": {"confirm": True}}
                stale.move("working", input_requests={}, asked={})
                refused = await replica.save(stale)
                await asyncio.sleep(1.5)  # past the runner's RECHECK: it would have run the answer
                shown = await task_request(mcp.session, "tasks/get", {"taskId": asking.task_id})
                assert shown["status"] == "cancelled" and refused is False

                doomed = await start(mcp.session, "long_crunch", {"seconds": 60, "hold": str(held)})
                async with asyncio.timeout(30):
                    while (pid := holder(process.pid, held)) is None:
                        await asyncio.sleep(0.05)
                await replica.request_cancel(doomed.task_id)  # the flag only: its replica went
                flagged = time.monotonic()
                while alive(pid) and time.monotonic() - flagged < 2.0:
                    await asyncio.sleep(0.02)
                assert not alive(pid), "the cancel's flag did not stop the worker within 2 s"
                shown = await wait_for(mcp.session, doomed, timeout=5)
                assert shown["status"] == "cancelled"
        finally:
            await replica.close()


async def test_the_student_harness_gets_the_result_of_a_task_tool(base):
    """The harness speaks the handshake era (for list_changed), which has no task wire: a tool
    that requires a task for a 2026-07-28 client answers it as any tool does."""
    async with BoxConnection(ServerTarget.remote(f"{base}/mcp")) as box:
        outcome = await box.call_tool("long_tally", {"n": 7})
    assert outcome.error is None and outcome.text == "7"
    async with client(base) as mcp:
        task = await start(mcp.session, "long_tally", {"n": 3})
        assert final_result(await wait_for(mcp.session, task, timeout=60)).structured_content == {"result": 3}


def test_a_task_mode_other_than_the_three_is_a_clear_error(tmp_path):
    box = make_box(tmp_path, "odd", {"jobs": LONG}, '[tools.crunch]\ntask = "sometimes"\n')
    with pytest.raises(
        ManifestError,
        match=r'tools.crunch.task must be "optional", "required" or "after_questions", got .sometimes.',
    ):
        read_manifest(box)
    with pytest.raises(ValueError, match='tool task must be "optional", "required" or "after_questions"'):
        tool(task="always")  # type: ignore[arg-type]


async def test_the_memory_store_forgets_a_task_once_its_ttl_is_over():
    store = MemoryTaskStore()
    kept = TaskRecord(task_id="kept", tool="t", ttl_ms=60_000, poll_ms=500)
    gone = TaskRecord(task_id="gone", tool="t", ttl_ms=50, poll_ms=500)
    await store.save(kept)
    await store.save(gone)
    assert (await store.load("gone")) is not None
    await asyncio.sleep(0.1)
    assert (await store.load("gone")) is None and (await store.load("kept")).task_id == "kept"


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_save_that_read_the_task_before_its_cancel_never_brings_it_back(kind, request):
    """A `tasks/update` reads the task, a cancel (on another replica) raises its flag and
    saves "cancelled", then the update saves its answered, "working" copy: played here in
    that order, step by step, through the store itself. It used to overwrite the cancel: the
    task said "working" for its whole TTL while its worker was stopped."""
    store = MemoryTaskStore() if kind == "memory" else RedisTaskStore(request.getfixturevalue("redis_url"))
    asked = TaskRecord(task_id="t", tool="long_delete", ttl_ms=60_000, poll_ms=500)
    asked.move("input_required", input_requests={"confirm": {}}, asked={"confirm": "elicit"})
    try:
        await store.save(asked)
        stale = await store.load("t")  # the update's read
        await store.request_cancel("t")  # the cancel's two writes
        cancelled = await store.load("t")
        cancelled.move("cancelled")
        await store.save(cancelled)
        stale.answers["confirm"] = {"action": "accept", "content": {"confirm": True}}
        stale.move("working", input_requests={}, asked={})  # the update's write, last
        refused = await store.save(stale)
        assert (await store.load("t")).status == "cancelled"
        finished = await store.load("t")
        finished.move("completed", result={"content": []})  # nor does a late runner's result land
        refused_too = await store.save(finished)
        assert (await store.load("t")).status == "cancelled"
        assert refused is False and refused_too is False  # and the saver is told so
    finally:
        await store.close()


async def test_a_question_the_client_cannot_answer_fails_the_task_with_32021(base):
    async with client(base) as mcp:  # the extension, but no elicitation
        task = await start(mcp.session, "long_delete", {"item": "x"})
        shown = await wait_for(mcp.session, task, timeout=60)
    assert shown["status"] == "failed" and "result" not in shown
    assert shown["error"]["code"] == -32021 and "elicitation" in shown["error"]["message"]


MODERN = "2026-07-28"


@contextlib.asynccontextmanager
async def task_stream(
    base: str, task_ids: list[str], extension: bool = True
) -> AsyncIterator[AsyncIterator[dict]]:
    """A `subscriptions/listen` stream naming tasks, over plain HTTP: the SDK's `listen()`
    asks for the core event kinds only. Yields the stream's JSON-RPC messages one by one."""
    capabilities = {"extensions": {"io.modelcontextprotocol/tasks": {}}} if extension else {}
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "test_tasks", "version": "0"},
    }
    body = {
        "jsonrpc": "2.0",
        "id": "watch",
        "method": "subscriptions/listen",
        "params": {"notifications": {"taskIds": task_ids}, "_meta": meta},
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "subscriptions/listen",
    }
    async with (
        httpx2.AsyncClient(timeout=60) as http,
        http.stream("POST", f"{base}/mcp", json=body, headers=headers) as response,
    ):
        yield events(response)


async def events(response: httpx2.Response) -> AsyncIterator[dict]:
    """The JSON-RPC messages of a listen stream's answer, as they come (an error comes as JSON)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        yield json.loads(await response.aread())
        return
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            yield json.loads(line[5:])


async def test_a_listen_stream_hears_each_status_of_the_tasks_it_names(base):
    async with client(base, elicitation_callback=unused) as mcp, client(base) as mute:
        asking = await start(mcp.session, "long_delete", {"item": "report.txt"})
        doomed = await start(mcp.session, "long_crunch", {"seconds": 60})
        failing = await start(mute.session, "long_delete", {"item": "x"})  # no elicitation: it fails
        assert (await wait_for(mute.session, failing, timeout=60))["status"] == "failed"
        unnamed = await start(mcp.session, "long_crunch", {"seconds": 0.1})
        named = sorted([asking.task_id, doomed.task_id, failing.task_id])
        heard: dict[str, list[dict]] = {name: [] for name in named}
        async with asyncio.timeout(60), task_stream(base, named) as stream:
            ack = await anext(stream)
            assert ack["method"] == "notifications/subscriptions/acknowledged"
            assert ack["params"]["notifications"] == {"taskIds": named}
            async for message in stream:
                task = message["params"]
                assert message["method"] == "notifications/tasks"
                assert task["_meta"]["io.modelcontextprotocol/subscriptionId"] == "watch"
                heard[task["taskId"]].append(task)
                if task["taskId"] == asking.task_id and task["status"] == "input_required":
                    answer = {"action": "accept", "content": {"confirm": True}}
                    update = {"taskId": asking.task_id, "inputResponses": {"confirm": answer}}
                    assert is_ack(await task_request(mcp.session, "tasks/update", update))
                if task["taskId"] == asking.task_id and task["status"] == "completed":
                    assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": doomed.task_id}))
                if task["taskId"] == doomed.task_id and task["status"] == "cancelled":
                    break
        assert unnamed.task_id not in heard
    statuses = {name: [task["status"] for task in tasks] for name, tasks in heard.items()}
    # its state when the stream began (failed already), then nothing: a finished task does not change
    assert statuses[failing.task_id] == ["failed"]
    assert heard[failing.task_id][0]["error"]["code"] == -32021
    assert statuses[asking.task_id][-3:] == ["input_required", "working", "completed"]
    assert set(statuses[asking.task_id]) <= {"working", "input_required", "completed"}
    assert heard[asking.task_id][-1]["result"]["content"][0]["text"] == "deleted report.txt"
    assert statuses[doomed.task_id] == ["working", "cancelled"]


async def told(base: str, task_id: str) -> list[dict]:
    """The task as a listen stream tells it, from the stream's start to the task's end."""
    shown: list[dict] = []
    async with asyncio.timeout(60), task_stream(base, [task_id]) as stream:
        await anext(stream)  # the ack
        async for message in stream:
            shown.append(message["params"])
            if shown[-1]["status"] in ("completed", "failed", "cancelled"):
                return shown
    raise AssertionError(f"the listen stream ended before the task did: {shown}")


async def test_a_listen_stream_naming_tasks_needs_the_extension_and_a_short_list_of_ids(base):
    async with client(base) as mcp:
        task = await start(mcp.session, "long_crunch", {"seconds": 0.1})
    async with asyncio.timeout(30), task_stream(base, [task.task_id], extension=False) as stream:
        answer = await anext(stream)
    assert "result" not in answer and answer["error"]["code"] == -32021
    assert "io.modelcontextprotocol/tasks" in answer["error"]["message"]
    for wrong, problem in (([7], "a list of task id strings"), (["t"] * 1001, "a stream may watch 1000")):
        async with asyncio.timeout(30), task_stream(base, wrong) as stream:
            answer = await anext(stream)
        assert answer["error"]["code"] == -32602 and problem in answer["error"]["message"]


class AskedTTL(TaskPolling):
    """Declares the tasks extension with the TTL a client wants for its tasks."""

    def __init__(self, ttl_ms: object) -> None:
        super().__init__()
        self.ttl_ms = ttl_ms

    def settings(self) -> dict:
        return {"ttlMs": self.ttl_ms}


async def ttl_task(base: str, arguments: dict, ttl: object) -> dict:
    """`long_crunch` from a client that asks for a TTL: the task answer, as on the wire."""
    async with Client(f"{base}/mcp", extensions=[AskedTTL(ttl)]) as mcp:
        return (await start(mcp.session, "long_crunch", arguments)).model_dump(by_alias=True)


async def test_a_task_lives_for_the_ttl_its_client_asked_then_is_gone_with_its_worker(served, tmp_path):
    base, server = served
    held = tmp_path / "held"
    quick = await ttl_task(base, {"seconds": 0.1}, ttl=2500)
    began = time.monotonic()
    assert quick["ttlMs"] == 2500 and quick["pollIntervalMs"] == 250  # a tenth of its TTL
    long = await ttl_task(base, {"seconds": 60, "hold": str(held)}, ttl=1500)
    async with asyncio.timeout(30):
        while (pid := holder(server, held)) is None:
            await asyncio.sleep(0.05)
    async with client(base) as mcp:
        await asyncio.sleep(0.3)
        shown = await task_request(mcp.session, "tasks/get", {"taskId": quick["taskId"]})
        assert time.monotonic() - began < 2.5 and shown["status"] == "completed"  # within its TTL
        while alive(pid) and time.monotonic() - began < 3.5:  # its 1.5 s, and a second to stop
            await asyncio.sleep(0.05)
        assert not alive(pid), "the worker of a task past its TTL still ran"
        await asyncio.sleep(max(0.0, began + 3.0 - time.monotonic()))
        for gone in (quick, long):
            with pytest.raises(MCPError) as unknown:
                await task_request(mcp.session, "tasks/get", {"taskId": gone["taskId"]})
            assert unknown.value.code == -32602
        plain = await start(mcp.session, "long_crunch", {"seconds": 0})
        assert plain.model_dump(by_alias=True)["ttlMs"] == 3_600_000  # asked for none: an hour
    bounds = [await ttl_task(base, {"seconds": 0}, ttl=ttl) for ttl in (1, 10**12)]
    assert [(b["ttlMs"], b["pollIntervalMs"]) for b in bounds] == [(1_000, 100), (86_400_000, 500)]
    async with Client(f"{base}/mcp", extensions=[AskedTTL("an hour")]) as odd:
        with pytest.raises(MCPError) as refused:
            await odd.session.call_tool("long_crunch", {"seconds": 0}, allow_claimed=True)
    assert refused.value.code == -32602 and "ttlMs must be a positive integer" in str(refused.value)


async def test_a_tool_that_asks_first_becomes_a_task_once_answered(base):
    asked: list[str] = []

    async def name(_context, params) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"name": "Alice"})

    async with client(base, elicitation_callback=name) as mcp:
        first = await mcp.session.call_tool("long_greet", {}, allow_input_required=True, allow_claimed=True)
        assert isinstance(first, mcp_types.InputRequiredResult), first  # asked in the request
        assert list(first.input_requests) == ["user_name"]
        answer = {"user_name": {"action": "accept", "content": {"name": "Alice"}}}
        task = await mcp.session.call_tool(
            "long_greet",
            {},
            input_responses=answer,
            request_state=first.request_state,
            allow_input_required=True,
            allow_claimed=True,
        )
        assert isinstance(task, CreatedTask), task  # the answered call goes on as a task
        assert "requestState" not in task.model_dump(by_alias=True)
        shown = await wait_for(mcp.session, task, timeout=60)
        assert shown["status"] == "completed" and final_result(shown).content[0].text == "Hello, Alice!"
        assert (await mcp.call_tool("long_greet", {})).content[
            0
        ].text == "Hello, Alice!"  # the SDK's own loop
    async with Client(f"{base}/mcp", elicitation_callback=name) as plain:  # no extension: no task at all
        assert (await plain.call_tool("long_greet", {})).content[0].text == "Hello, Alice!"
