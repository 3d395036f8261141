"""The snapshots a real server serves boxes from, attacked from outside.

A box folder's writer swaps a sub-folder for a link to a root-only folder, again and
again, while the server snapshots the box (every swap is an edit its watcher reloads);
other local users read the snapshot folders. Judged by effect only: the root-only
file never comes back from the box's own tool (asked through the official MCP
client), and no snapshot byte is readable by `nobody` or by another box's worker uid,
while a sandboxed box still serves from its snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_box_server.runtime.snapshot import box_group
from tests.support.boxes import make_box
from tests.support.races import FolderSwapper, root_only_folder
from tests.support.sdk import sdk_session
from tests.support.servers import server_process, stdio_args

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root-only files and other uids need root")

SECRET = "root-only-secret-the-box-must-never-serve"
NOBODY = 65534
OTHER_WORKER_UID = 2_100_000_000 + 4_194_305  # a worker-like uid no pid can give

READER = '''
from pathlib import Path


def read_all() -> str:
    """Every text file of this box, as its worker reads it."""
    box = Path(__file__).resolve().parents[1]
    return "\\n".join(f"{path.relative_to(box)}: {path.read_text()}" for path in sorted(box.rglob("*.txt")))
'''

HELLO = '''
def hello() -> str:
    """Say hello."""
    return "hello from a private folder"
'''

# Run as another uid: which of the paths given can it open (or list)?
PROBE = """
import os, sys
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
    except OSError:
        continue
    print(path)
"""

# Run as root: open the box folder, become a worker-like uid holding the groups given,
# then read every file under it through that descriptor (no folder above is crossed).
AS_WORKER = """
import os, sys
box, uid, groups = sys.argv[1], int(sys.argv[2]), [int(g) for g in sys.argv[3:]]
names = [os.path.relpath(os.path.join(top, f), box) for top, _, files in os.walk(box) for f in files]
fd = os.open(box, os.O_RDONLY | os.O_DIRECTORY)
os.setgroups(groups)
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
read = 0
for name in names:
    try:
        with open(os.open(name, os.O_RDONLY, dir_fd=fd), "rb") as file:
            file.read(1)
        read += 1
    except OSError:
        pass
print(read, len(names))
"""


def reader_box(boxes: Path) -> Path:
    """A sandboxed box with a sub-folder `sub` to swap, whose tool reads all its text files."""
    reader = make_box(boxes, "reader", {"read": READER}, manifest='trust = "sandboxed"\n')
    (reader / "sub").mkdir()
    (reader / "sub" / "ok.txt").write_text("fine")
    # Copied after `sub` was looked at and before it is entered: a wide window for the race.
    (reader / "tools" / "bulk").mkdir()
    for number in range(300):
        (reader / "tools" / "bulk" / f"{number}.dat").write_bytes(b"x" * 512)
    return reader


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """A sandboxed box with a sub-folder, a trusted box in a 0700 folder, a root-only secret, a server."""
    root = Path(tempfile.mkdtemp(prefix="mcp-box-snapshot-attacks-"))  # /tmp: reachable by any uid
    try:
        boxes = root / "boxes"
        reader = reader_box(boxes)
        closed = root / "closed"  # the user's own 0700 folder
        private = make_box(closed / "boxes", "private", {"hello": HELLO})
        hidden = root_only_folder(root / "root-only", SECRET, ("ok.txt", "secret.txt"))
        scratch = root / "tmp"  # the server's TMPDIR: open to every uid, as /tmp is
        scratch.mkdir()
        for path in (root, boxes, scratch):
            os.chmod(path, 0o755)
        os.chmod(closed, 0o700)
        env = dict(os.environ, TMPDIR=str(scratch), XDG_RUNTIME_DIR="")
        with server_process("--boxes", str(boxes), "--boxes", str(closed / "boxes"), env=env) as (
            base,
            server,
        ):
            yield {
                "base": base,
                "server": server,
                "root": root,
                "reader": reader,
                "private": private,
                "hidden": hidden,
                "scratch": scratch,
            }
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def text_of(client: ClientSession, tool: str) -> str:
    result = await client.call_tool(tool, {})
    return " ".join(getattr(part, "text", "") for part in result.content)


async def served(client: ClientSession, tool: str, wanted: str, timeout: float = 30) -> str:
    """Call `tool` until its answer holds `wanted` (a reload may still be under way)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if wanted in (text := await text_of(client, tool)):
                return text
        assert time.monotonic() < deadline, f"{tool} never answered with {wanted!r}"
        await asyncio.sleep(0.2)


def snapshot_roots(world: dict[str, Any]) -> dict[str, Path]:
    """The roots the server made, by box name: `<TMPDIR>/mcp-box-0/mcp-box-NAME-xxxx`."""
    roots = sorted(world["scratch"].glob("mcp-box-0/mcp-box-*"))
    return {root.name.removeprefix("mcp-box-").rsplit("-", 1)[0]: root for root in roots}


async def test_a_folder_swapped_for_a_root_only_link_is_never_served(world):
    reader = world["reader"]
    answers: list[str] = []
    async with sdk_session(world["base"]) as client:
        assert "sub/ok.txt: fine" in await served(client, "reader_read_all", "fine")
        # Each swap is also an edit: the watcher reloads, and every reload takes a snapshot.
        with FolderSwapper(reader / "sub", world["root"] / "spare", world["hidden"], pause=0.002) as swapper:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):  # a call may meet a reload: only what it returns counts
                    answers.append(await text_of(client, "reader_read_all"))
                await asyncio.sleep(0.02)
        assert swapper.swaps > 100 and answers
        assert [answer for answer in answers if SECRET in answer] == []
        (reader / "sub" / "ok.txt").write_text("after the race")  # the server still reloads and serves
        assert SECRET not in await served(client, "reader_read_all", "after the race")


async def test_a_box_raced_as_the_server_starts_never_serves_a_root_only_file(tmp_path):
    """The first snapshot, with no watcher to take a later one: what it copied is what is served."""
    reader = reader_box(tmp_path / "boxes")
    hidden = root_only_folder(tmp_path / "root-only", SECRET, ("ok.txt", "secret.txt"))
    command, args = stdio_args("--boxes", str(tmp_path / "boxes"), "--no-reload")
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ, MCP_BOX_CACHE="off"))

    async def first_answer() -> str:
        async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            result = await client.call_tool("reader_read_all", {})  # waits for the box to load
        return " ".join(getattr(part, "text", "") for part in result.content)

    answers = []
    for start in range(12):  # the copy wins the race or refuses the box ("unknown tool"): never a leak
        with FolderSwapper(reader / "sub", tmp_path / f"spare-{start}", hidden, pause=0.002):
            answers.append(await first_answer())
    assert [answer for answer in answers if SECRET in answer] == []
    assert "sub/ok.txt: fine" in await first_answer()  # unraced, the same box serves


async def test_no_snapshot_file_is_readable_by_nobody(world):
    async with sdk_session(world["base"]) as client:
        assert await served(client, "private_hello", "hello") == "hello from a private folder"
        assert "sub/ok.txt" in await served(client, "reader_read_all", "ok.txt")  # sandboxed: still serves
        roots = snapshot_roots(world)
        assert {"reader", "private"} <= roots.keys()
        base = world["scratch"] / "mcp-box-0"
        paths = [base, *sorted(base.rglob("*"))]
        as_nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run(
            [*as_nobody, "/usr/bin/python3", "-c", PROBE, *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert probe.stdout == ""
        # Not even with the folder above opened for it: no file or folder has a bit for others.
        assert stat.S_IMODE(base.stat().st_mode) == 0o700
        assert [p for p in paths if not p.is_symlink() and p.lstat().st_mode & 0o007] == []
        assert (roots["private"] / "box" / "tools" / "hello.py").exists()  # there, just not readable


async def test_a_box_worker_uid_reads_only_its_own_snapshot(world):
    async with sdk_session(world["base"]) as client:
        await served(client, "private_hello", "hello")
        await served(client, "reader_read_all", "ok.txt")
        roots = snapshot_roots(world)
        reader_box, private_box = roots["reader"] / "box", roots["private"] / "box"
        own, other = box_group(reader_box), box_group(private_box)
        assert own is not None and other is not None and own != other

        def files_read(box: Path, *groups: int) -> tuple[int, int]:
            argv = [sys.executable, "-c", AS_WORKER, str(box), str(OTHER_WORKER_UID), *map(str, groups)]
            read, total = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
            return int(read), int(total)

        read, total = files_read(reader_box, own)
        assert total >= 3 and read == total  # what a worker of the box holds: its whole snapshot
        assert files_read(reader_box, other) == (0, total)  # another box's worker: nothing
        assert files_read(reader_box) == (0, total)  # any other uid: nothing
