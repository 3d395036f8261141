"""Code mode through a real server and the official MCP SDK client (and `fastmcp.Client`).

A program's calls reach the boxes' own workers and come back as their real results;
every limit is a clear error judged by its effect (no file planted, no byte received
by a listener, no more calls reaching a box than the limit), and the server keeps
answering other calls meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from mcp import ClientSession

from tests.support.attacks import Listener, cpu_ticks
from tests.support.boxes import make_box
from tests.support.processes import alive, children, zygotes
from tests.support.sdk import sdk_session
from tests.support.servers import server_process

BUNDLED = Path(__file__).resolve().parents[2] / "boxes"
TIMEOUT = 6  # --code-timeout: seconds of one program
MEMORY_MB = 400

TALLY = '''
def count(path: str, note: str) -> int:
    """Append a line to a file; returns how many lines it holds (what reached the box, seen outside)."""
    with open(path, "a") as out:
        out.write(note + "\\n")
    with open(path) as lines:
        return len(lines.readlines())
'''

ASKING = '''
from mcp_box_server import elicit


def name() -> str:
    """Ask the user's name."""
    answer = elicit("What is your name?", {"name": str})
    return answer["content"]["name"] if answer["action"] == "accept" else "no name"
'''

HIDDEN = '''
def whisper() -> str:
    """A tool kept out of code mode."""
    return "psst"
'''


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="mcp-box-code-"))
    boxes = root / "boxes"
    make_box(boxes, "tally", {"tally": TALLY}, manifest='trust = "trusted"\n')
    make_box(boxes, "hidden", {"hidden": HIDDEN}, manifest='trust = "trusted"\ncode_mode = false\n')
    make_box(boxes, "asking", {"asking": ASKING}, manifest='trust = "sandboxed"\n')
    markers = root / "markers"
    markers.mkdir()
    os.chmod(root, 0o755)
    os.chmod(markers, 0o777)  # any uid may write here: only the sandbox can stop a program
    listener = Listener()
    args = ("--boxes", str(boxes), "--boxes", str(BUNDLED), "--code-mode")
    args += ("--code-timeout", str(TIMEOUT), "--code-memory-mb", str(MEMORY_MB))
    try:
        with server_process(*args) as (base, server):
            yield {"base": base, "server": server, "root": root, "markers": markers, "listener": listener}
    finally:
        listener.close()
        shutil.rmtree(root, ignore_errors=True)


def text_of(result: Any) -> str:
    return "\n".join(getattr(part, "text", "") for part in result.content)


async def execute(client: ClientSession, code: str, **options: Any) -> Any:
    return await client.call_tool("execute", {"code": code}, **options)


async def still_answering(client: ClientSession) -> None:
    """A direct call and a small program both answer."""
    direct = await client.call_tool("bio_reverse_complement", {"sequence": "AACG"})
    assert not direct.is_error and "CGTT" in text_of(direct)
    program = await execute(client, "bio.reverse_complement(sequence='AACG')")
    assert not program.is_error and "CGTT" in text_of(program), text_of(program)


async def test_a_program_gets_the_real_results_of_two_boxes(world):
    code = (
        "puzzle = math.solve_24(numbers=[4, 9, 10, 13])\n"
        "gc = [bio.gc_content(sequence=s)['gc_percent'] for s in ['ATGC', 'GGCC', 'ATAT']]\n"
        "print('root', math.sqrt(16))\n"  # the standard module's names, beside the box's tools
        "{'puzzle': puzzle, 'gc': gc}\n"
    )
    async with sdk_session(world["base"]) as client:
        result = await execute(client, code)
        assert not result.is_error, text_of(result)
        direct = await client.call_tool("math_solve_24", {"numbers": [4, 9, 10, 13]})
        value = result.structured_content["value"]
        assert value["puzzle"] == direct.structured_content
        assert value["gc"] == [50.0, 100.0, 0.0]
        assert result.structured_content["output"] == "root 4.0\n"
        assert result.structured_content["tool_calls"] == 4


async def test_final_answer_help_get_schema_and_pictures(world):
    async with sdk_session(world["base"]) as client:
        answered = await execute(
            client, "x = bio.gc_content(sequence='GC')\nfinal_answer(x['gc_count'])\n1/0"
        )
        assert not answered.is_error and answered.structured_content["value"] == 2
        helped = await execute(client, "import bio\nhelp(bio.gc_content)")
        assert "gc_content(sequence: str" in text_of(helped) and "GC content" in text_of(helped)
        schema = await client.call_tool("get_schema", {"names": ["math_solve_24", "bio.gc_content"]})
        assert "def solve_24(numbers: list[" in text_of(schema)
        assert "def gc_content(sequence: str" in text_of(schema)
        picture = await execute(client, "math.plot(expressions=['x^2'], start=-2, end=2)")
        assert not picture.is_error, text_of(picture)
        assert [part.type for part in picture.content] == ["text", "image"]
        assert picture.content[1].mime_type == "image/png"


async def test_a_box_kept_out_of_code_mode_is_not_reachable_from_a_program(world):
    async with sdk_session(world["base"]) as client:
        result = await execute(client, "hidden.whisper()")
        assert result.is_error and "NameError" in text_of(result)
        schema = await client.call_tool("get_schema", {"names": ["hidden_whisper"]})
        assert schema.is_error and "hidden_whisper" in text_of(schema)
        direct = await client.call_tool("hidden_whisper", {})
        assert text_of(direct) == "psst"  # still served as a tool


async def test_a_program_that_loops_forever_is_stopped_while_others_answer(world):
    async with sdk_session(world["base"]) as client:
        looping = asyncio.create_task(execute(client, "while True:\n    pass"))
        await asyncio.sleep(1)
        await still_answering(client)
        result = await looping
        assert result.is_error and f"time limit: the program ran past {TIMEOUT} s" in text_of(result)
        await still_answering(client)


async def test_memory_past_the_cap_is_a_clear_error(world):
    async with sdk_session(world["base"]) as client:
        for code in (
            f"block = bytearray({2 * MEMORY_MB} * 1024 * 1024)",
            "kept = []\nwhile True:\n    kept.append(bytearray(10 * 1024 * 1024))",
        ):
            result = await execute(client, code)
            assert (
                result.is_error
                and f"memory limit: the program ran out of memory (a cap of {MEMORY_MB} MB)"
                in (text_of(result))
            )
            await still_answering(client)


async def test_the_51st_tool_call_is_refused_and_never_reaches_the_box(world):
    path = world["root"] / "tally.txt"
    code = f"for i in range(60):\n    tally.count(path={str(path)!r}, note=str(i))"
    async with sdk_session(world["base"]) as client:
        result = await execute(client, code)
        assert result.is_error and "tool call limit: the program made more than 50 tool calls" in text_of(
            result
        )
        assert len(path.read_text().splitlines()) == 50
        await still_answering(client)


async def test_printing_100_mb_is_stopped_at_the_output_limit(world):
    async with sdk_session(world["base"]) as client:
        for code in ("print('x' * 100_000_000)", "for _ in range(100_000):\n    print('y' * 1000)"):
            result = await execute(client, code)
            text = text_of(result)
            assert (
                result.is_error and "output limit: the program printed more than 1,000,000 characters" in text
            )
            assert len(text) < 10_000
            await still_answering(client)


async def test_a_socket_sends_nothing(world):
    listener = world["listener"]
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), 2).sendall(b'leak')\n"
    async with sdk_session(world["base"]) as client:
        result = await execute(client, code)
        assert result.is_error and "program error:" in text_of(result), text_of(result)
        await asyncio.sleep(0.5)
        assert listener.received == []
        await still_answering(client)


async def test_writes_outside_the_temp_dir_plant_nothing(world):
    markers = world["markers"]
    code = f"open({str(markers / 'planted')!r}, 'w').write('x')\n"
    async with sdk_session(world["base"]) as client:
        result = await execute(client, code)
        assert result.is_error and "program error:" in text_of(result), text_of(result)
        inside = await execute(client, "open('scratch.txt', 'w').write('ok')\nopen('scratch.txt').read()")
        assert inside.structured_content["value"] == "ok"  # its own temp dir is writable
        assert list(markers.iterdir()) == []
        await still_answering(client)


async def test_each_program_runs_in_a_fresh_worker(world):
    async with sdk_session(world["base"]) as client:
        first = await execute(client, "import os\nopen('left.txt', 'w').write('x')\nos.getpid()")
        second = await execute(client, "import os\n(os.path.exists('left.txt'), os.getpid())")
        assert not first.is_error and not second.is_error
        assert second.structured_content["value"] == [False, second.structured_content["value"][1]]
        # Poisoning the runtime of one worker reaches no later program.
        await execute(client, "import builtins\nbuiltins.print = None\nimport bio\nbio.gc_content = None")
        after = await execute(client, "print('clean')\nbio.gc_content(sequence='GC')['gc_count']")
        assert after.structured_content["output"] == "clean\n" and after.structured_content["value"] == 2


async def test_progress_notes_during_a_program(world):
    notes: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, message))

    code = "for s in ['A', 'C', 'G']:\n    bio.gc_content(sequence=s)\nprogress(9, 10, 'almost')"
    async with sdk_session(world["base"]) as client:
        result = await execute(client, code, progress_callback=on_progress)
        assert not result.is_error, text_of(result)
    messages = [message for _, message in notes]
    assert messages[:3] == ["called bio_gc_content"] * 3 and "almost" in messages


@pytest.mark.parametrize("mode", ["legacy", None])
async def test_both_protocol_eras(world, mode):
    kwargs = {"mode": mode} if mode else {}
    async with Client(f"{world['base']}/mcp", **kwargs) as client:
        result = await client.call_tool(
            "execute", {"code": "math.solve_24(numbers=[1, 2, 3, 4])['solvable']"}
        )
        assert result.structured_content["value"] is True


async def test_cancelling_a_program_kills_its_worker(world):
    server = world["server"]
    async with sdk_session(world["base"]) as client:
        looping = asyncio.create_task(execute(client, "while True:\n    pass"))
        busy: list[int] = []
        for _ in range(20):  # the first program may wait for code mode's zygote to start
            if busy := [pid for pid in await _spinning(_workers(server.pid)) if _sandboxed(pid)]:
                break
        assert len(busy) == 1, busy
        looping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await looping
        for _ in range(40):
            if not alive(busy[0]):
                break
            await asyncio.sleep(0.1)
        assert not alive(busy[0])  # well before the program's own time limit
        await still_answering(client)


def _workers(server: int) -> list[int]:
    return [pid for zygote in zygotes(server) for pid in children(zygote)]


def _sandboxed(pid: int) -> bool:
    """Run by an unprivileged uid of its own (as root, only sandboxed workers are: here, programs)."""
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    return os.geteuid() != 0 or uid != 0


async def _spinning(pids: list[int]) -> list[int]:
    """The processes that used CPU over a second (a busy program; idle workers use none)."""
    before = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            before[pid] = cpu_ticks(pid)
    await asyncio.sleep(1.0)
    busy = []
    for pid, ticks in before.items():
        with contextlib.suppress(OSError):
            if cpu_ticks(pid) - ticks >= 2:  # even on a loaded machine
                busy.append(pid)
    return busy


async def test_code_mode_only_offers_three_tools(tmp_path):
    with server_process("--boxes", str(BUNDLED), "--code-mode-only") as (base, _):
        async with sdk_session(base) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert names == {"find_tools", "get_schema", "execute"}
            refused = await client.call_tool("math_solve_24", {"numbers": [4, 7, 8, 8]})
            assert refused.is_error and "code mode only" in text_of(refused)
            found = await client.call_tool("find_tools", {"query": "game of 24"})
            assert "math_solve_24" in text_of(found)
            result = await execute(client, "math.solve_24(numbers=[4, 7, 8, 8])['solvable']")
            assert result.structured_content["value"] is True


async def test_without_landlock_no_program_runs(tmp_path):
    """Fail closed: where the kernel lacks a layer, execute says so and runs nothing."""
    from mcp import StdioServerParameters
    from mcp.client.stdio import stdio_client

    from tests.support.kernel import LANDLOCK, without_syscalls

    marker = tmp_path / "ran"
    boxes = tmp_path / "boxes"
    make_box(boxes, "tally", {"tally": TALLY}, manifest='trust = "trusted"\n')
    serve = [
        sys.executable,
        "-m",
        "mcp_box_server",
        "serve",
        "--boxes",
        str(boxes),
        "--no-bundled",
        "--code-mode",
    ]
    command = without_syscalls(LANDLOCK, serve)
    parameters = StdioServerParameters(command=command[0], args=command[1:])
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        result = await execute(client, f"open({str(marker)!r}, 'w').write('x')")
        assert result.is_error and "sandbox not enforced here" in text_of(result), text_of(result)
        assert not marker.exists()
        direct = await client.call_tool("tally_count", {"path": str(tmp_path / "t.txt"), "note": "x"})
        assert text_of(direct) == "1"  # a trusted box still serves


@pytest.mark.parametrize("mode", ["legacy", None])
async def test_a_tool_a_program_calls_asks_the_client_where_it_can_wait(world, mode):
    """Handshake era: the question reaches the client mid-program. 2026-07-28: a program cannot
    end its round to wait for an answer, so the tool's call fails, clearly, inside the program."""
    from fastmcp.client.elicitation import ElicitResult

    async def on_elicit(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"name": "Grace"})

    kwargs = {"mode": mode} if mode else {}
    code = "try:\n    print(asking.name())\nexcept ToolError as error:\n    print('refused:', error)"
    async with Client(f"{world['base']}/mcp", elicitation_handler=on_elicit, **kwargs) as client:
        result = await client.call_tool("execute", {"code": code})
    output = result.structured_content["output"]
    if mode == "legacy":
        assert output == "Grace\n"
    else:
        assert output.startswith("refused: asking_name:") and "client" in output, output
