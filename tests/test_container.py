"""The container: the seccomp profile helper, what a profile that refuses Landlock looks like
from inside, and (when .ci/container.sh has started the image) the image itself over HTTP.

`MCP_BOX_CONTAINER_URL` and `MCP_BOX_CONTAINER_TOKEN` point at a running container; without
them the image test is skipped (CI runs it from .ci/container.sh, which builds the image).
"""

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from prometheus_client.parser import text_string_to_metric_families

from tests.support.kernel import LANDLOCK, without_syscalls
from tests.support.servers import http_get

ROOT = Path(__file__).resolve().parents[1]
SECCOMP = runpy.run_path(str(ROOT / "deploy" / "seccomp.py"))
URL = os.environ.get("MCP_BOX_CONTAINER_URL")
TOKEN = os.environ.get("MCP_BOX_CONTAINER_TOKEN", "")


def doctor(errno: int) -> tuple[int, dict]:
    command = without_syscalls(LANDLOCK, [sys.executable, "-m", "mcp_box_server", "doctor", "--json"], errno)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_landlock_refused_by_a_seccomp_profile_is_named_as_such():
    code, report = doctor(errno=1)  # EPERM: what Docker's and podman's profiles answer
    assert code == 1 and report["landlock_abi"] == 0
    assert report["landlock_unavailable"].startswith("blocked by seccomp (EPERM)")
    assert "blocked by seccomp (EPERM)" in report["sandboxed"]["required_missing"]["landlock"]
    assert not report["sandboxed"]["serving"]


def test_a_kernel_without_landlock_is_named_as_such():
    code, report = doctor(errno=38)  # ENOSYS
    assert code == 1 and report["landlock_unavailable"].startswith("the kernel lacks it, or a seccomp")


def test_the_profile_helper_adds_only_the_landlock_calls(tmp_path):
    base = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "EQ"}]},
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        ],
    }
    made = SECCOMP["with_landlock"](base)
    assert made["syscalls"][1]["names"] == sorted(["read", "write", *SECCOMP["LANDLOCK"]])
    assert made["syscalls"][0] == base["syscalls"][0] and made["syscalls"][2] == base["syscalls"][2]
    assert base["syscalls"][1]["names"] == ["read", "write"]  # the base is left as it was
    assert SECCOMP["with_landlock"](made) == made  # idempotent: a recent default is returned as is

    path = tmp_path / "base.json"
    path.write_text(json.dumps({"syscalls": []}))
    done = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "seccomp.py"), str(path)], capture_output=True
    )
    assert done.returncode == 2 and b"expected a seccomp profile" in done.stderr


@pytest.mark.skipif(not URL, reason="no running container (.ci/container.sh sets MCP_BOX_CONTAINER_URL)")
async def test_the_image_serves_tools_over_http_with_the_token():
    assert http_get(f"{URL}/health")[0] == 200
    assert http_get(f"{URL}/metrics")[0] == 401  # nothing for a caller without the token
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    async with (
        http,
        streamable_http_client(f"{URL}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"math_solve_24", "find_tools", "call_tool"} <= names, names
        result = await client.call_tool("math_solve_24", {"numbers": [4, 9, 10, 13]})
        assert not result.isError, result.content
        assert result.structuredContent["solvable"] and "= 24" in result.structuredContent["text"]
    status, body = http_get(f"{URL}/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    calls = {
        (sample.labels["tool"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "mcp_box_tool_calls_total"
    }
    assert calls.get(("math_solve_24", "ok"), 0) >= 1
