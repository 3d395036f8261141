"""Huge results through a real server: the box, the clients, and the server's peak memory.

The issue-17 scenario: a sandboxed box that allows itself 64 MB results, 1 GB workers and 8
of them, a tool returning 63 MB of text, called over streamable HTTP by `CLIENTS` `mcp` SDK
clients at once, `ROUNDS` times each. What is judged is the server process's peak resident
memory (`VmHWM`), read from /proc after the calls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.boxes import make_box

MB = 1024 * 1024
RESULT_MB = 63
CLIENTS = 8
ROUNDS = 2
TOOL = "big_blob"

BLOB = '''
    def blob(megabytes: int) -> str:
        """A text of `megabytes` MB."""
        return "x" * (megabytes * 1024 * 1024)
'''

MANIFEST = """\
trust = "sandboxed"
max_result_mb = 64
memory_mb = 1024
workers = 8
timeout = 120
"""


def make_big_box(root: Path) -> Path:
    """`root/big`, the box of the scenario; serve it with `--boxes root --box big`."""
    return make_box(root, "big", {"blob": BLOB}, manifest=MANIFEST)


async def call_concurrently(url: str, clients: int = CLIENTS, rounds: int = ROUNDS) -> list[int]:
    """`clients` SDK sessions at once, each calling the tool `rounds` times; the text sizes received.

    A call that fails (a result refused by the server's budget, say) counts as 0 bytes.
    """

    async def client() -> list[int]:
        sizes = []
        # the SDK refuses SSE events over 1 MB unless told otherwise; a reply may hold the text twice
        transport = streamable_http_client(url, max_sse_event_size=None)
        async with transport as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(rounds):
                result = await session.call_tool(TOOL, {"megabytes": RESULT_MB})
                sizes.append(0 if result.is_error else len(text_of(result)))
                del result
        return sizes

    received = await asyncio.gather(*(client() for _ in range(clients)))
    return [size for sizes in received for size in sizes]


def text_of(result: object) -> str:
    """The result's text, wherever the server put it (structured content or a text block)."""
    structured = getattr(result, "structured_content", None)
    if structured and isinstance(structured.get("result"), str):
        return structured["result"]
    return "".join(getattr(block, "text", "") for block in getattr(result, "content", []))


def peak_rss(pid: int) -> int:
    """The process's peak resident set (`VmHWM`), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")
