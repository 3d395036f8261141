"""A restarted server lists unchanged boxes from the spec cache; the workers have the last word."""

import asyncio
import json

from tests.support.boxes import make_box
from tests.support.servers import legacy_client, stdio_transport

TOOL = 'def double(x: int) -> int:\n    """Double a number."""\n    return 2 * x\n'


async def test_second_start_lists_from_the_cache_and_a_stale_entry_is_corrected(tmp_path):
    make_box(tmp_path / "boxes", "twice", {"m": TOOL})
    cache = tmp_path / "cache"
    transport_args = ("--boxes", str(tmp_path / "boxes"), "--no-reload")
    env = {"MCP_BOX_CACHE": str(cache)}

    async with legacy_client(stdio_transport(*transport_args, env=env)) as (client, _):
        assert [t.name for t in await client.list_tools() if t.name.startswith("twice")] == ["twice_double"]
    [entry] = list(cache.glob("*.json"))
    cached = json.loads(entry.read_text())
    assert [spec["name"] for spec in cached["specs"]] == ["twice_double"]

    # Make the entry lie: the server lists the extra tool at once, then the worker corrects it.
    ghost = dict(cached["specs"][0], name="twice_ghost", function="ghost")
    entry.write_text(json.dumps({"specs": [*cached["specs"], ghost], "failures": []}))
    async with legacy_client(stdio_transport(*transport_args, env=env)) as (client, changes):
        names = [t.name for t in await client.list_tools()]
        if "twice_ghost" in names:  # listed from the cache before the worker reported
            await changes.wait()
        names = [t.name for t in await client.list_tools() if t.name.startswith("twice")]
        assert names == ["twice_double"]
        assert (await client.call_tool("twice_double", {"x": 4})).structured_content == {"result": 8}
    assert [spec["name"] for spec in json.loads(entry.read_text())["specs"]] == ["twice_double"]


async def test_cache_off(tmp_path):
    make_box(tmp_path / "boxes", "twice", {"m": TOOL})
    env = {"MCP_BOX_CACHE": "off"}
    async with legacy_client(stdio_transport("--boxes", str(tmp_path / "boxes"), env=env)) as (client, _):
        assert (await client.call_tool("twice_double", {"x": 1})).structured_content == {"result": 2}


GATED = '''
import os
import pathlib
import time

GATE = pathlib.Path(os.environ["GATE_FILE"])
while not GATE.exists():  # the box loads only once the test opens the gate
    time.sleep(0.05)


def double(x: int) -> int:
    """Double a number."""
    return 2 * x
'''


async def test_a_cached_box_lists_tools_prompts_and_resources_before_its_worker_loads(tmp_path):
    """Listing from the cache waits for the box's files to be copied, never for its first worker."""
    box = make_box(tmp_path / "boxes", "gated", {"m": GATED}, manifest="load_timeout = 120\n")
    (box / "prompts").mkdir()
    (box / "prompts" / "greet.md").write_text("---\ndescription: Say hello.\n---\nHello!\n")
    (box / "resources").mkdir()
    (box / "resources" / "notes.txt").write_text("some notes\n")
    gate = tmp_path / "gate"
    env = {"MCP_BOX_CACHE": str(tmp_path / "cache"), "GATE_FILE": str(gate)}
    transport_args = ("--boxes", str(tmp_path / "boxes"), "--no-reload")

    gate.touch()  # first start: the worker loads and the cache is written
    async with legacy_client(stdio_transport(*transport_args, env=env)) as (client, _):
        assert "gated_double" in [t.name for t in await client.list_tools()]

    gate.unlink()  # second start: the worker cannot load until the gate opens again
    async with legacy_client(stdio_transport(*transport_args, env=env)) as (client, _):
        async with asyncio.timeout(60):  # far below the box's load timeout: no waiting for it
            assert "gated_double" in [t.name for t in await client.list_tools()]
            assert "gated_greet" in [p.name for p in await client.list_prompts()]
            assert "box://gated/notes.txt" in [str(r.uri) for r in await client.list_resources()]
        gate.touch()
        assert (await client.call_tool("gated_double", {"x": 4})).structured_content == {"result": 8}
