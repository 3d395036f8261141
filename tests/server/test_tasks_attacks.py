"""Attacks on MCP tasks (SEP-2663) and their listen streams, judged by their effect.

A real server with a bearer token, spoken to over HTTP on 127.0.0.1 by the official SDK
client, or by raw httpx2 where the SDK cannot say the attack. Each test looks outside for
the verdict: a worker's pid gone or still there, a file that a tool would have written,
bytes at a listener, the server's resident memory, what `tasks/get` shows afterwards.

A task id is the task's capability: whoever holds it (and the server's token) may read,
answer, cancel and listen to the task, as SEP-2663 allows; the server has one shared token,
so there is no second principal to tell apart. What is tested is that ids cannot be
guessed, that nothing answers without the token, and that no client can make the server
hold what it did not bound.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from itertools import pairwise
from pathlib import Path

import httpx2
import mcp_types
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from mcp_box_server.student.task_client import CreatedTask, TaskPolling, final_result, task_request, wait_for
from tests.server.test_tasks import CRUNCH, MODERN, events, holder, is_ack, unused
from tests.support.attacks import ATTACKS, Listener
from tests.support.boxes import make_box
from tests.support.processes import alive, descendants
from tests.support.servers import server_process

TOKEN = "task-attack-token"
SECRET = "task-secret-the-box-must-never-see"
MAX_TASKS = 40  # unfinished tasks the test server runs at once (MCP_BOX_MAX_TASKS)

JOBS = (
    """
    import os
    import time

    from mcp_box_server import elicit, tool


"""
    + CRUNCH
    + '''

    @tool(task="after_questions")
    def ask_then_hold(hold: str) -> str:
        """Ask a name, then work a long while holding `hold` open.

        Args:
            hold: a file to keep open meanwhile.
        """
        answer = elicit("Your name?", {"name": str}, key="name")
        with open(hold, "w") as held:
            held.write(answer["content"]["name"])
            held.flush()
            time.sleep(120)
        return "done"


    @tool(task="required")
    def confirm_write(marker: str) -> str:
        """Write `marker` once the user confirms.

        Args:
            marker: the file to write.
        """
        answer = elicit("Write it?", {"confirm": bool}, key="confirm")
        if answer["content"]["confirm"]:
            with open(marker, "w") as out:
                out.write("written")
        return "asked"


    @tool(task="required")
    def big(megabytes: int) -> str:
        """A result of `megabytes` MB (a box allows 8 unless it says more).

        Args:
            megabytes: how big.
        """
        return "x" * (megabytes * 1024 * 1024)
'''
)

JAIL = """
trust = "sandboxed"
memory_mb = 300
timeout = 20

[tools.write_file]
task = "required"

[tools.read_file]
task = "required"

[tools.connect_socket]
task = "required"
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("task-attacks")
    make_box(root / "boxes", "jobs", {"jobs": JOBS})
    make_box(root / "boxes", "jail", {"attacks": ATTACKS}, JAIL)
    secret = root / "secret.txt"
    secret.write_text(SECRET)
    markers = root / "markers"
    markers.mkdir()
    os.chmod(markers, 0o777)  # anyone may write here: only the sandbox can stop a write
    env = {**os.environ, "MCP_BOX_MAX_TASKS": str(MAX_TASKS)}
    env.pop("MCP_BOX_TASK_STORE", None)
    with server_process("--boxes", str(root / "boxes"), token=TOKEN, env=env) as (base, process):
        yield {"base": base, "pid": process.pid, "secret": secret, "markers": markers}


@contextlib.asynccontextmanager
async def connect(base: str, token: str = TOKEN, **kwargs) -> AsyncIterator[Client]:
    """The official client, declaring the tasks extension, sending `token` as its bearer."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(f"{base}/mcp", http_client=http)
        async with Client(transport, extensions=[TaskPolling()], **kwargs) as client:
            yield client


async def start(session, tool: str, arguments: dict, **kwargs) -> CreatedTask:
    created = await session.call_tool(tool, arguments, allow_claimed=True, **kwargs)
    assert isinstance(created, CreatedTask), created
    return created


async def worker_holding(server: int, path: Path) -> int:
    async with asyncio.timeout(30):
        while (pid := holder(server, path)) is None:
            await asyncio.sleep(0.05)
    return pid


async def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return not alive(pid)


def rpc(method: str, params: dict, request_id: str = "1") -> dict:
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "attacker", "version": "0"},
    }
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**params, "_meta": meta}}


def headers(method: str, token: str | None) -> dict[str, str]:
    sent = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
    }
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return sent


async def first_message(http: httpx2.AsyncClient, base: str, body: dict) -> dict:
    """The first JSON-RPC message of a POST's answer, whether plain JSON or an event stream."""
    method = body["method"]
    async with http.stream("POST", f"{base}/mcp", json=body, headers=headers(method, TOKEN)) as response:
        if response.headers.get("content-type", "").startswith("application/json"):
            return json.loads(await response.aread())
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                return json.loads(line[5:])
    raise AssertionError(f"no message in the answer to {method}")


async def test_task_ids_are_unguessable(world):
    async with connect(world["base"]) as mcp:
        ids = [(await start(mcp.session, "jobs_crunch", {"seconds": 0})).task_id for _ in range(20)]
    assert len(set(ids)) == len(ids)
    for task_id in ids:
        raw = base64.urlsafe_b64decode(task_id + "=" * (-len(task_id) % 4))
        assert len(raw) >= 16, f"{task_id!r} carries {8 * len(raw)} bits"  # 128 at least
    # neither a counter nor a clock: ids made one after another share no prefix to speak of
    shared = [next(n for n, (x, y) in enumerate(zip(a, b, strict=True)) if x != y) for a, b in pairwise(ids)]
    assert max(shared) <= 3, ids


async def test_without_the_token_no_task_method_or_listen_stream_answers(world):
    base, server = world["base"], world["pid"]
    held = world["markers"] / "token-held"
    async with connect(base) as mcp:
        task = await start(mcp.session, "jobs_crunch", {"seconds": 60, "hold": str(held)})
        pid = await worker_holding(server, held)
        attempts = [
            ("tasks/get", {"taskId": task.task_id}),
            ("tasks/update", {"taskId": task.task_id, "inputResponses": {"x": {"action": "decline"}}}),
            ("tasks/cancel", {"taskId": task.task_id}),
            ("subscriptions/listen", {"notifications": {"taskIds": [task.task_id]}}),
        ]
        async with httpx2.AsyncClient(timeout=30) as http:
            for token in (None, "not-the-token"):
                for method, params in attempts:
                    answer = await http.post(
                        f"{base}/mcp", json=rpc(method, params), headers=headers(method, token)
                    )
                    assert answer.status_code == 401, (method, token, answer.status_code)
                    assert task.task_id not in answer.text
        await asyncio.sleep(0.5)  # a cancel that got through would have stopped the worker by now
        assert alive(pid), "a cancel without the token stopped the worker"
        shown = await task_request(mcp.session, "tasks/get", {"taskId": task.task_id})
        assert shown["status"] == "working"
        assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id}))
        assert await gone_within(pid, 2)


async def test_a_task_id_out_of_bounds_is_a_clear_error_that_does_not_echo_it(world):
    long_id = "A" * 100_000
    async with connect(world["base"]) as mcp:
        for method in ("tasks/get", "tasks/cancel"):
            with pytest.raises(MCPError) as refused:
                await task_request(mcp.session, method, {"taskId": long_id})
            assert refused.value.code == -32602 and "taskId" in str(refused.value)
            assert long_id not in str(refused.value)
        with pytest.raises(MCPError) as guessed:
            await task_request(mcp.session, "tasks/get", {"taskId": "a-guess"})
        assert guessed.value.code == -32602
    listen = rpc("subscriptions/listen", {"notifications": {"taskIds": [long_id[:129]]}})
    async with httpx2.AsyncClient(timeout=30) as http:
        answer = await first_message(http, world["base"], listen)
    assert answer["error"]["code"] == -32602 and "1 to 128 characters" in answer["error"]["message"]


async def test_cancel_stops_the_worker_of_a_task_that_asked_first(world):
    held = world["markers"] / "after-questions"

    async def name(_context, _params) -> mcp_types.ElicitResult:
        raise AssertionError("the answer comes in the request")

    async with connect(world["base"], elicitation_callback=name) as mcp:
        first = await mcp.session.call_tool(
            "jobs_ask_then_hold", {"hold": str(held)}, allow_input_required=True, allow_claimed=True
        )
        assert isinstance(first, mcp_types.InputRequiredResult), first
        task = await start(
            mcp.session,
            "jobs_ask_then_hold",
            {"hold": str(held)},
            input_responses={"name": {"action": "accept", "content": {"name": "Eve"}}},
            request_state=first.request_state,
            allow_input_required=True,
        )
        pid = await worker_holding(world["pid"], held)
        assert held.read_text() == "Eve"
        assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id}))
        assert await gone_within(pid, 1.0), "the worker outlived its cancelled task by a second"
        shown = await task_request(mcp.session, "tasks/get", {"taskId": task.task_id})
        assert shown["status"] == "cancelled"


async def test_a_cancelled_question_is_never_answered(world):
    """A task cancelled while it waits for input stays cancelled: a later answer runs nothing."""
    marker = world["markers"] / "confirmed"
    async with connect(world["base"], elicitation_callback=unused) as mcp:
        task = await start(mcp.session, "jobs_confirm_write", {"marker": str(marker)})
        shown = await wait_for(mcp.session, task, timeout=60)
        assert shown["status"] == "input_required"
        assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id}))
        answer = {"confirm": {"action": "accept", "content": {"confirm": True}}}
        update = {"taskId": task.task_id, "inputResponses": answer}
        assert is_ack(await task_request(mcp.session, "tasks/update", update))
        await asyncio.sleep(1.5)  # the runner looks at the store every 0.1 s
        shown = await task_request(mcp.session, "tasks/get", {"taskId": task.task_id})
    assert shown["status"] == "cancelled" and "result" not in shown
    assert not marker.exists(), "the tool ran with an answer given after its task was cancelled"


async def test_a_huge_update_is_refused_before_it_is_read_and_changes_nothing(world):
    marker = world["markers"] / "huge-update"
    async with connect(world["base"], elicitation_callback=unused) as mcp:
        task = await start(mcp.session, "jobs_confirm_write", {"marker": str(marker)})
        assert (await wait_for(mcp.session, task, timeout=60))["status"] == "input_required"
        padding = {f"k{n}": "x" * 1024 for n in range(5 * 1024)}  # 5 MB of keys nobody asked
        answer = {"confirm": {"action": "accept", "content": {"confirm": True}}, **padding}
        body = rpc("tasks/update", {"taskId": task.task_id, "inputResponses": answer})
        async with httpx2.AsyncClient(timeout=60) as http:
            refused = await http.post(
                f"{world['base']}/mcp", json=body, headers=headers("tasks/update", TOKEN)
            )
        assert refused.status_code == 413
        await asyncio.sleep(1.5)
        shown = await task_request(mcp.session, "tasks/get", {"taskId": task.task_id})
        assert shown["status"] == "input_required" and not marker.exists()
        assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id}))


async def test_a_sandboxed_box_run_as_a_task_keeps_its_sandbox(world):
    markers, secret = world["markers"], world["secret"]
    listener = Listener()
    try:
        async with connect(world["base"]) as mcp:
            calls = [
                ("jail_write_file", {"path": str(markers / "planted")}),
                ("jail_read_file", {"path": str(secret)}),
                ("jail_connect_socket", {"port": listener.port}),
            ]
            shown = []
            for tool, arguments in calls:
                task = await start(mcp.session, tool, arguments)
                shown.append(await wait_for(mcp.session, task, timeout=60))
        assert [s["status"] for s in shown] == ["completed"] * 3, shown
        assert not (markers / "planted").exists(), "a sandboxed task wrote outside its box"
        assert SECRET not in json.dumps(shown), "a sandboxed task read a file outside its box"
        time.sleep(1.2)  # the listener's accept loop polls every 0.2 s
        assert listener.received == [], "a sandboxed task reached a socket on 127.0.0.1"
    finally:
        listener.close()


def resident_mb(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def test_listen_streams_that_never_read_do_not_copy_what_they_watch(world):
    """Each stream used to load every task it names, results and all, before sending one:
    streams that never read held a copy per stream and task. Now each loads one at a time,
    as its client takes them."""
    base, server = world["base"], world["pid"]
    async with connect(base) as mcp:
        tasks = [await start(mcp.session, "jobs_big", {"megabytes": 4}) for _ in range(16)]
        for task in tasks:
            assert (await wait_for(mcp.session, task, timeout=60))["status"] == "completed"
    ids = [task.task_id for task in tasks]
    body = rpc("subscriptions/listen", {"notifications": {"taskIds": ids}}, "stuck")
    before = resident_mb(server)
    limits = httpx2.Limits(max_connections=None)
    async with httpx2.AsyncClient(timeout=60, limits=limits) as http, contextlib.AsyncExitStack() as streams:
        for _ in range(8):  # 8 streams x 16 tasks x 4 MB: 512 MB if each stream loaded every task
            response = await streams.enter_async_context(
                http.stream("POST", f"{base}/mcp", json=body, headers=headers("subscriptions/listen", TOKEN))
            )
            assert response.status_code == 200
        await asyncio.sleep(3)  # time to load what it would
        grown = resident_mb(server) - before
        async with connect(base) as mcp:  # still answering meanwhile
            shown = await task_request(mcp.session, "tasks/get", {"taskId": ids[0]})
            assert shown["status"] == "completed"
    assert grown < 250, f"the server grew {grown:.0f} MB for streams that never read"


async def test_one_client_cannot_hold_every_listen_stream(tmp_path):
    """Every client has the same token: one that opened streams up to the cap used to lock
    every other client out of notifications (-32603). Now the oldest stream ends (its
    result, as at a shutdown) and the newcomer hears its task."""
    make_box(tmp_path / "boxes", "jobs", {"jobs": JOBS})
    env = {**os.environ, "MCP_BOX_MAX_LISTEN_STREAMS": "4"}
    env.pop("MCP_BOX_TASK_STORE", None)
    limits = httpx2.Limits(max_connections=None)
    with server_process("--boxes", str(tmp_path / "boxes"), token=TOKEN, env=env) as (base, _):
        async with (
            asyncio.timeout(60),
            httpx2.AsyncClient(timeout=60, limits=limits) as http,
            contextlib.AsyncExitStack() as streams,
        ):

            async def listen(notifications: dict, request_id: str) -> AsyncIterator[dict]:
                body = rpc("subscriptions/listen", {"notifications": notifications}, request_id)
                sent = headers("subscriptions/listen", TOKEN)
                response = await streams.enter_async_context(
                    http.stream("POST", f"{base}/mcp", json=body, headers=sent)
                )
                messages = events(response)
                ack = await anext(messages)
                assert ack.get("method") == "notifications/subscriptions/acknowledged", ack
                return messages

            hogged = [await listen({"toolsListChanged": True}, f"hog{n}") for n in range(4)]
            async with connect(base) as mcp:
                task = await start(mcp.session, "jobs_crunch", {"seconds": 2})
            heard = await listen({"taskIds": [task.task_id]}, "late")
            statuses = []
            async for message in heard:
                assert message["method"] == "notifications/tasks"
                statuses.append(message["params"]["status"])
                if statuses[-1] != "working":
                    break
            assert statuses[-1] == "completed"
            ended = [message async for message in hogged[0]]  # to its end: the stream was closed
            assert ended and ended[-1]["id"] == "hog0" and "result" in ended[-1]


async def test_unfinished_tasks_are_bounded(world):
    base = world["base"]
    async with connect(base) as mcp:
        running = [await start(mcp.session, "jobs_crunch", {"seconds": 120}) for _ in range(MAX_TASKS)]
        with pytest.raises(MCPError) as refused:
            await start(mcp.session, "jobs_crunch", {"seconds": 120})
        assert f"{MAX_TASKS} unfinished tasks" in str(refused.value)
        for task in running:
            assert is_ack(await task_request(mcp.session, "tasks/cancel", {"taskId": task.task_id}))
        async with asyncio.timeout(30):  # room again once the runners end
            while True:
                with contextlib.suppress(MCPError):
                    task = await start(mcp.session, "jobs_crunch", {"seconds": 0})
                    break
                await asyncio.sleep(0.1)
        shown = await wait_for(mcp.session, task, timeout=60)
        assert final_result(shown).content[0].text == "crunched for 0 s"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_a_server_stopped_with_running_tasks_leaves_no_worker(tmp_path, stop):
    make_box(tmp_path / "boxes", "jobs", {"jobs": JOBS})
    held = [tmp_path / f"held-{n}" for n in range(3)]
    with server_process("--boxes", str(tmp_path / "boxes"), token=TOKEN) as (base, process):
        async with connect(base) as mcp:
            for path in held:
                await start(mcp.session, "jobs_crunch", {"seconds": 120, "hold": str(path)})
            workers = [await worker_holding(process.pid, path) for path in held]
            everything = descendants(process.pid)
        os.kill(process.pid, stop)  # the server alone, not its process group
        process.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)], "a task's worker outlived the server"
        assert not [pid for pid in everything if alive(pid)], "a process of the server outlived it"


async def test_the_results_finished_tasks_keep_are_bounded(tmp_path):
    """Unfinished tasks are bounded, finished ones keep their results for their TTL (a day, if
    asked): past MCP_BOX_TASK_RESULTS_MB, a result fails its task instead of being kept."""
    make_box(tmp_path / "boxes", "jobs", {"jobs": JOBS})
    env = {**os.environ, "MCP_BOX_TASK_RESULTS_MB": "20"}
    env.pop("MCP_BOX_TASK_STORE", None)
    with server_process("--boxes", str(tmp_path / "boxes"), token=TOKEN, env=env) as (base, _):
        async with connect(base) as mcp:
            shown = []
            for _ in range(7):  # 4 MB each: four fit in 20 MB, a fifth does not
                task = await start(mcp.session, "jobs_big", {"megabytes": 4})
                shown.append(await wait_for(mcp.session, task, timeout=60))
            assert [s["status"] for s in shown] == ["completed"] * 4 + ["failed"] * 3
            for refused in shown[4:]:
                assert "result" not in refused and refused["error"]["code"] == -32603
                assert "MCP_BOX_TASK_RESULTS_MB" in refused["error"]["message"]
            quick = await start(mcp.session, "jobs_crunch", {"seconds": 0})  # small results still fit
            done = final_result(await wait_for(mcp.session, quick, timeout=60))
            assert done.content[0].text == "crunched for 0 s"
            kept = final_result(shown[0]).structured_content["result"]
            assert len(kept) == 4 * 1024 * 1024  # the first kept whole
