"""`/health` of a real server: "degraded" with HTTP 503 while a box that should serve does not."""

import json
import time

from tests.support.boxes import ARITH, make_box
from tests.support.servers import http_get, server_process, write_tool

TOKEN = "health-token-for-tests"
FIXED = '''
def double(x: int) -> int:
    """Twice x."""
    return 2 * x
'''


def health(base: str, token: str | None = TOKEN) -> tuple[int, dict]:
    status, body = http_get(f"{base}/health", {"Authorization": f"Bearer {token}"} if token else {})
    return status, json.loads(body)


def test_a_box_that_does_not_serve_degrades_health_until_it_is_fixed(tmp_path):
    make_box(tmp_path, "calc", {"arith": ARITH})
    broken = make_box(tmp_path, "broken", {"bad": "def double(x: int -> int:\n    return 2 * x\n"})
    with server_process("--boxes", str(tmp_path), token=TOKEN) as (base, _):
        status, body = health(base)
        assert (status, body["status"]) == (503, "degraded")
        assert body["boxes"]["calc"]["serving"] and not body["boxes"]["broken"]["serving"]
        assert "bad.py" in body["boxes"]["broken"]["error"]
        assert health(base, token=None) == (503, {"status": "degraded"})  # a bare probe learns that much

        write_tool(broken, "bad", FIXED)
        deadline = time.monotonic() + 30
        while (answer := health(base))[0] != 200:
            assert time.monotonic() < deadline, answer
            time.sleep(0.1)
        assert answer[1]["status"] == "ok" and answer[1]["boxes"]["broken"]["serving"]


def test_a_box_with_nothing_wrong_keeps_health_ok(tmp_path):
    make_box(tmp_path, "calc", {"arith": ARITH})
    with server_process("--boxes", str(tmp_path), "--no-reload") as (base, _):
        status, body = health(base, token=None)
        assert (status, body["status"]) == (200, "ok")
