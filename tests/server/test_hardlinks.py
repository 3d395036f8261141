"""Hard links in a box folder to files outside it, judged by effect through a real server.

A box's writer may hard-link a file it cannot read into its box folder wherever
`fs.protected_hardlinks` is off; no descriptor tells where a file's other names are, so
a sandboxed box's file with more than one link is never copied into a snapshot, nor
read as its box.toml. Here the "secret" files are this test's own (the sysctl does not
matter for them): the sandboxed box's tool, asked through the official `mcp` client,
never returns the secret; the server names the linked file in the box's error; other
boxes keep serving. A trusted box (the user's own code, which reads whatever the server
may) keeps its hard links: an install may link its files to a package cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client.client import Client

from tests.support.boxes import make_box
from tests.support.servers import http_get, http_server

SECRET = "secret-outside-the-box-never-served"

READ = '''
    from pathlib import Path


    def read(name: str) -> str:
        """A file of this box, by its path in the box folder."""
        return (Path(__file__).resolve().parent.parent / name).read_text()
'''

SANDBOXED = 'trust = "sandboxed"\n'


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "secret.txt"
    secret.write_text(SECRET)
    stolen = outside / "stolen.toml"
    stolen.write_text(f'name = "stolen"\nversion = "1.0.0"\ndescription = "{SECRET}"\n')
    root = tmp_path_factory.mktemp("boxes")
    leaky = make_box(root, "leaky", {"read": READ}, manifest=SANDBOXED)
    (leaky / "data").mkdir()
    os.link(secret, leaky / "data" / "notes.txt")
    posing = make_box(root, "posing", {"read": READ}, manifest=SANDBOXED)
    (posing / "box.toml").unlink()
    os.link(stolen, posing / "box.toml")
    fine = make_box(root, "fine", {"read": READ}, manifest=SANDBOXED)
    cached = outside / "cache"  # as an installer's package cache: the same files, other names
    own = make_box(cached, "own", {"read": READ}, data__txt="installed from a cache")
    os.link(own / "box.toml", make_box(root, "own", {"read": READ}) / "box.toml.linked")
    os.replace(root / "own" / "box.toml.linked", root / "own" / "box.toml")
    os.link(own / "data.txt", root / "own" / "data.txt")
    (fine / "data").mkdir()
    (fine / "data" / "notes.txt").write_text("the fine box's own notes")
    assert secret.stat().st_nlink == 2 and stolen.stat().st_nlink == 2
    assert (root / "own" / "box.toml").stat().st_nlink == 2 == (root / "own" / "data.txt").stat().st_nlink
    with http_server("--boxes", str(root), "--no-reload") as base:
        yield base, root


def test_a_hard_link_to_a_file_outside_is_the_box_error_naming_it(served):
    base, root = served
    code, body = http_get(f"{base}/health")
    health = json.loads(body)
    assert code == 503 and health["status"] == "degraded"
    leaky = health["boxes"]["leaky"]
    assert not leaky["serving"]
    assert leaky["error"].startswith(
        f"{root.resolve() / 'leaky' / 'data' / 'notes.txt'}: is a file with 2 hard links"
    )
    assert health["boxes"]["fine"]["serving"] and health["boxes"]["own"]["serving"]
    assert SECRET not in body


def test_a_hard_linked_box_toml_is_not_read(served):
    base, root = served
    _, body = http_get(f"{base}/health")
    assert SECRET not in body and "stolen" not in body
    errors = [box["error"] for box in json.loads(body)["boxes"].values() if "error" in box]
    assert any(str(root / "posing" / "box.toml") in e and "2 hard links" in e for e in errors)


async def test_the_sandboxed_tool_never_returns_the_secret_and_other_boxes_serve(served):
    base, _ = served
    async with Client(f"{base}/mcp") as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert "fine_read" in names and "leaky_read" not in names and "posing_read" not in names
        own = await client.call_tool("fine_read", {"name": "data/notes.txt"})
        assert not own.is_error and own.content[0].text == "the fine box's own notes"
        linked = await client.call_tool("own_read", {"name": "data.txt"})
        assert not linked.is_error and linked.content[0].text == "installed from a cache"
        for tool in ("leaky_read", "posing_read"):
            answer = await client.call_tool(tool, {"name": "data/notes.txt"})
            assert answer.is_error and SECRET not in json.dumps(answer.model_dump(mode="json"))
        status = await client.call_tool("box_status", {})
        assert SECRET not in json.dumps(status.model_dump(mode="json"))
