"""The call log on stderr and Prometheus metrics at /metrics, from a real server over HTTP."""

import re

import pytest
from fastmcp import Client
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from prometheus_client.parser import text_string_to_metric_families

from tests.support.boxes import ARITH, make_box
from tests.support.servers import http_get, server_process, wait_for_tools, write_tool

TOKEN = "metrics-token-for-tests"
SECRET = 918273645  # an argument value: it must never reach the log at INFO
TRIPLE = '''
def triple(x: int) -> int:
    """Three times x."""
    return 3 * x
'''


@pytest.fixture
def world(tmp_path):
    boxes = tmp_path / "boxes"
    make_box(boxes, "calc", {"arith": ARITH})
    log = tmp_path / "server.log"
    with server_process("--boxes", str(boxes), token=TOKEN, log_file=log) as (base, _):
        yield {"base": base, "boxes": boxes, "log": log}


def scrape(base: str, token: str | None = TOKEN) -> tuple[int, dict[tuple[str, tuple], float]]:
    """GET /metrics; every sample as (name, sorted labels) → value."""
    status, body = http_get(f"{base}/metrics", {"Authorization": f"Bearer {token}"} if token else {})
    if status != 200:
        return status, {}
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return status, samples


async def test_calls_counted_logged_and_scraped(world):
    base = world["base"]
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with (
        http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        for a in (1, 2, SECRET):
            assert not (await client.call_tool("calc_add", {"a": a, "b": 1})).isError
        assert (await client.call_tool("calc_fail", {"message": f"boom {SECRET}"})).isError
        assert (await client.call_tool("calc_add", {"b": 1})).isError  # no 'a'

    status, samples = scrape(base)
    assert status == 200

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("mcp_box_tool_calls_total", tool="calc_add", outcome="ok") == 3
    assert value("mcp_box_tool_calls_total", tool="calc_add", outcome="error") == 1
    assert value("mcp_box_tool_calls_total", tool="calc_fail", outcome="error") == 1
    assert value("mcp_box_tool_errors_total", tool="calc_fail", kind="tool_failed") == 1
    assert value("mcp_box_tool_errors_total", tool="calc_add", kind="invalid_arguments") == 1
    assert value("mcp_box_tool_call_duration_seconds_count", tool="calc_add") == 4
    assert value("mcp_box_queue_wait_seconds_count", tool="calc_fail") == 1
    assert value("mcp_box_box_serving", box="calc") == 1
    assert value("mcp_box_reloads_total", box="calc") == 0
    states = {labels for (name, labels) in samples if name == "mcp_box_workers"}
    assert states == {(("box", "calc"), ("state", s)) for s in ("busy", "idle", "starting")}
    assert value("mcp_box_workers", box="calc", state="idle") >= 1  # the calls are over

    lines = [line for line in world["log"].read_text().splitlines() if " call session=" in line]
    assert len(lines) == 5, lines
    assert all(" INFO mcp_box.calls: " in line for line in lines)
    assert sum("tool=calc_add outcome=ok " in line for line in lines) == 3
    assert any("tool=calc_fail outcome=error error=tool_failed " in line for line in lines)
    for line in lines:
        assert re.search(
            r"session=\S+ .* ms=[\d.]+ waited_ms=[\d.]+ request_bytes=\d+ response_bytes=\d+$", line
        )
    sessions = {re.search(r"session=(\S+)", line)[1] for line in lines}
    assert len(sessions) == 1 and "-" not in sessions, sessions  # the one HTTP session the calls came in
    sizes = [re.search(r"request_bytes=(\d+) response_bytes=(\d+)$", line).groups() for line in lines]
    assert all(int(sent) > 0 for sent, _ in sizes)
    assert all(int(received) > 0 for _, received in sizes)  # an error's text counts too
    assert str(SECRET) not in world["log"].read_text()  # neither the argument nor the error text


async def test_a_reload_is_counted(world):
    async with Client(f"{world['base']}/mcp", auth=TOKEN) as client:
        write_tool(world["boxes"] / "calc", "extra", TRIPLE)
        await wait_for_tools(client, lambda names: "calc_triple" in names)
        assert (await client.call_tool("calc_triple", {"x": 2})).structured_content == {"result": 6}
    _, samples = scrape(world["base"])
    assert samples[("mcp_box_reloads_total", (("box", "calc"),))] == 1
    assert samples[("mcp_box_tool_calls_total", (("outcome", "ok"), ("tool", "calc_triple")))] == 1


def test_metrics_need_the_token(world):
    assert scrape(world["base"], token=None)[0] == 401
    assert scrape(world["base"], token="wrong")[0] == 401
    assert scrape(world["base"])[0] == 200
