"""A tool that poisons its own worker's modules: the protocol holds, or the worker is replaced."""

from __future__ import annotations

import pytest

from mcp_box_server.box import read_manifest
from mcp_box_server.runtime import BoxPool, BoxRuntimeError
from tests.support.boxes import make_box

POISON = '''
import json


def poison_json() -> str:
    """Replace json's functions and classes in this worker."""
    json.dumps = lambda *args, **kwargs: "garbage"
    json.loads = lambda *args, **kwargs: {}
    json.JSONEncoder.encode = lambda self, o: "garbage"
    return "poisoned"


def poison_protocol() -> str:
    """Replace the worker's own encoder: replies become garbage."""
    import mcp_box_server.runtime.protocol as protocol

    protocol._ENCODE_STRICT = lambda message: "garbage"
    protocol._ENCODE = lambda message: "garbage"
    return "poisoned"


def echo(value: int) -> dict:
    """Echo a value."""
    return {"value": value}
'''


@pytest.mark.parametrize("trust", ["trusted", "sandboxed"])
async def test_replacing_json_does_not_break_the_worker(tmp_path, trust):
    box = make_box(tmp_path, "poison", {"poison": POISON}, manifest=f'trust = "{trust}"\nworkers = 1\n')
    pool = BoxPool(read_manifest(box))
    await pool.start()
    try:
        assert await pool.call("poison_json", {}) == "poisoned"
        for value in range(3):
            assert await pool.call("echo", {"value": value}) == {"value": value}
    finally:
        await pool.close()


async def test_a_worker_whose_protocol_is_poisoned_is_replaced(tmp_path):
    box = make_box(tmp_path, "poison", {"poison": POISON}, manifest="workers = 1\n")
    pool = BoxPool(read_manifest(box))
    await pool.start()
    try:
        with pytest.raises(BoxRuntimeError):
            await pool.call("poison_protocol", {})
        assert await pool.call("echo", {"value": 7}) == {"value": 7}
    finally:
        await pool.close()
