"""Huge results are held once and a few at a time: the server's peak memory stays bounded.

The issue-17 scenario (tests/support/big_results.py): a sandboxed box with `max_result_mb =
64`, `memory_mb = 1024` and `workers = 8`, a tool returning 63 MB, 8 clients at once over
streamable HTTP, twice each. Judged by the effect: every client gets its 63 MB whole, and
the server process's peak resident memory (VmHWM) stays under the issue's 512 MB (main at
e1363ac peaked at 1.6 to 1.9 GB). Also: a box's `max_result_mb` is cut to the server's
`--max-result-mb`, and a code-mode program taking two big results within one request does not
wait on the room its own request holds.
"""

from __future__ import annotations

import os

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.big_results import (
    CLIENTS,
    MB,
    RESULT_MB,
    ROUNDS,
    TOOL,
    call_concurrently,
    make_big_box,
    peak_rss,
    text_of,
)
from tests.support.servers import server_process

PEAK_BOUND = 512 * MB
ENV = os.environ | {"MCP_BOX_CACHE": "off"}


@pytest.mark.timeout(600)  # 16 results of 63 MB, a few at a time, parsed by the clients: minutes on 2 cores
async def test_eight_clients_of_63_mb_results_keep_the_server_under_512_mb(tmp_path):
    make_big_box(tmp_path)
    serve = ["--boxes", str(tmp_path), "--box", "big", "--no-reload", "--max-workers", "8"]
    with server_process(*serve, env=ENV) as (base, process):
        sizes = await call_concurrently(f"{base}/mcp")
        peak = peak_rss(process.pid)
    print(f"\nserver VmHWM {peak / MB:.0f} MB after {len(sizes)} results of {RESULT_MB} MB")
    assert sizes == [RESULT_MB * MB] * (CLIENTS * ROUNDS)
    assert peak < PEAK_BOUND, f"server peak RSS {peak / MB:.0f} MB"


async def test_a_box_result_cap_is_cut_to_the_server_ceiling(tmp_path):
    make_big_box(tmp_path)  # asks for 64 MB results
    serve = ["--boxes", str(tmp_path), "--box", "big", "--no-reload", "--max-result-mb", "2"]
    with server_process(*serve, env=ENV) as (base, _):
        async with (
            streamable_http_client(f"{base}/mcp", max_sse_event_size=None) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            fits = await session.call_tool(TOOL, {"megabytes": 1})
            assert not fits.is_error and len(text_of(fits)) == MB
            refused = await session.call_tool(TOOL, {"megabytes": 3})
    assert refused.is_error
    message = refused.content[0].text
    assert message.startswith("result too large: ") and "over the box's 2 MB cap" in message, message


async def test_a_program_takes_two_big_results_within_one_request(tmp_path):
    make_big_box(tmp_path)  # a budget of 2 MB: the first result's 1 MB stays held until the response
    serve = ["--boxes", str(tmp_path), "--box", "big", "--no-reload", "--max-result-mb", "2", "--code-mode"]
    code = "first = big.blob(megabytes=1)\nsecond = big.blob(megabytes=1)\nlen(first) + len(second)\n"
    with server_process(*serve, env=ENV) as (base, _):
        async with (
            streamable_http_client(f"{base}/mcp") as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("execute", {"code": code})
    assert not result.is_error, result.content
    assert result.structured_content["value"] == 2 * MB
