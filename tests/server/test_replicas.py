"""Two replicas on one shared boxes folder behind nginx on 127.0.0.1, with the official clients.

Sessionless (2026-07-28) requests go to any replica; a handshake-era session is routed
to the replica that opened it by the prefix `--replica-id` puts on its session id (the
nginx `map` of docs/replicas.md); elicitation rounds cross replicas with a shared
MCP_BOX_STATE_KEY. `.ci/run` installs Debian's nginx, so CI never skips these.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.transports import StreamableHttpTransport
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.boxes import make_box
from tests.support.servers import SERVE, ToolListWatcher, free_port, stop_group, wait_healthy

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed")

SHARED = '''
import os
import time

from mcp_box_server import elicit


def where() -> str:
    """The replica that ran this call."""
    return os.environ["REPLICA"]


def nap(seconds: float) -> str:
    """Wait on nothing (an I/O-bound tool), then name the replica."""
    time.sleep(seconds)
    return os.environ["REPLICA"]


def greet() -> str:
    """Ask a name (a second round, which may land on the other replica), then greet."""
    answer = elicit("What is your name?", {"name": str})
    return "Hello, " + answer["content"]["name"]
'''

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{upstreams}
    map $http_mcp_session_id $mcp_upstream {{
        default mcp_any;
{routes}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://$mcp_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"""


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str, root: Path, **env: str) -> Replica:
        """`mcp-box serve` on `root` as replica `name` (spec cache off), with `env` added."""
        port = free_port()
        command = [*SERVE, "--transport", "http", "--port", str(port), "--boxes", str(root), "--no-bundled"]
        command += ["--replica-id", name, "--log-level", "WARNING"]
        environment = os.environ | {"REPLICA": name, "MCP_BOX_CACHE": "off"} | env
        return cls(name, port, subprocess.Popen(command, env=environment, start_new_session=True))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_group(self.process, sig)


@contextlib.contextmanager
def replicas_behind_nginx(
    root: Path, work: Path, names: tuple[str, ...] = ("a", "b")
) -> Iterator[tuple[str, list[Replica]]]:
    """Start one replica per name on `root` and nginx in front; yields (base URL, replicas)."""
    key = os.urandom(32).hex()
    started: list[Replica] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for name in names:
            started.append(Replica.start(name, root, MCP_BOX_STATE_KEY=key))
        for replica in started:
            wait_healthy(f"http://127.0.0.1:{replica.port}", replica.process)
        port = free_port()
        upstreams = "    upstream mcp_any {\n"
        upstreams += "".join(f"        server 127.0.0.1:{r.port};\n" for r in started) + "    }\n"
        upstreams += "".join(f"    upstream mcp_{r.name} {{ server 127.0.0.1:{r.port}; }}\n" for r in started)
        routes = "".join(f"        ~^{r.name}\\. mcp_{r.name};\n" for r in started)
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port, upstreams=upstreams, routes=routes))
        nginx = subprocess.Popen(
            [NGINX, "-e", "stderr", "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
            start_new_session=True,
        )
        wait_healthy(f"http://127.0.0.1:{port}", nginx, timeout=10)
        yield f"http://127.0.0.1:{port}", started
    finally:
        if nginx is not None:
            stop_group(nginx)
        for replica in started:
            replica.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared-boxes")
    make_box(root, "shared", {"tools": SHARED})
    return root


@pytest.fixture(scope="module")
def balanced(shared, tmp_path_factory):
    with replicas_behind_nginx(shared, tmp_path_factory.mktemp("nginx")) as (base, _):
        yield base


async def test_sessionless_calls_spread_over_both_replicas_without_affinity(balanced):
    async with Client(StreamableHttpTransport(f"{balanced}/mcp")) as client:
        served = [
            (await client.call_tool("shared_where", {})).structured_content["result"] for _ in range(12)
        ]
    assert set(served) == {"a", "b"}


async def test_a_handshake_era_session_stays_on_its_replica(balanced):
    seen: dict[str, set[str]] = {}
    for _ in range(4):  # new sessions go round robin: both replicas open some
        async with Client(StreamableHttpTransport(f"{balanced}/mcp"), mode="legacy") as client:
            session_id = client.transport.get_session_id()
            seen[session_id] = {
                (await client.call_tool("shared_where", {})).structured_content["result"] for _ in range(15)
            }
            assert seen[session_id] == {session_id.split(".")[0]}
    assert set().union(*seen.values()) == {"a", "b"}
    async with (
        streamable_http_client(f"{balanced}/mcp") as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        answers = {
            (await session.call_tool("shared_where", {})).structured_content["result"] for _ in range(15)
        }
        assert len(answers) == 1


async def test_elicitation_rounds_cross_replicas_with_a_shared_key(balanced):
    async def on_elicit(message: str, response_type: type, params: object, context: object) -> ElicitResult:
        return ElicitResult(action="accept", content={"name": "Ada"})

    async with Client(StreamableHttpTransport(f"{balanced}/mcp"), elicitation_handler=on_elicit) as client:
        for _ in range(4):  # round robin: the answering round lands on the other replica
            assert (await client.call_tool("shared_greet", {})).content[0].text == "Hello, Ada"


async def test_an_edit_of_the_shared_folder_is_announced_by_every_replica(shared, balanced):
    watchers: dict[str, ToolListWatcher] = {}
    async with contextlib.AsyncExitStack() as stack:
        while len(watchers) < 2:
            watcher = ToolListWatcher()
            transport = StreamableHttpTransport(f"{balanced}/mcp")
            client = await stack.enter_async_context(
                Client(transport, mode="legacy", message_handler=watcher)
            )
            replica = (await client.call_tool("shared_where", {})).structured_content["result"]
            watchers.setdefault(replica, watcher)
        (shared / "shared" / "tools" / "extra.py").write_text(
            'def extra() -> int:\n    """One."""\n    return 1\n'
        )
        await asyncio.gather(*(watcher.wait(15) for watcher in watchers.values()))


async def test_killing_a_replica_loses_only_its_in_flight_calls(shared, tmp_path):
    with replicas_behind_nginx(shared, tmp_path) as (base, (_, doomed)):
        async with Client(StreamableHttpTransport(f"{base}/mcp")) as client:

            async def nap() -> str | None:
                try:
                    result = await client.call_tool("shared_nap", {"seconds": 0.6}, raise_on_error=False)
                except Exception:  # the replica died under it: nginx answers 502
                    return None
                return None if result.is_error else result.structured_content["result"]

            flight = [asyncio.create_task(nap()) for _ in range(6)]
            await asyncio.sleep(0.3)
            doomed.stop(signal.SIGKILL)
            outcomes = await asyncio.gather(*flight)
            lost = outcomes.count(None)
            assert lost <= 3 and outcomes.count("a") == 6 - lost  # round robin: b had 3 in flight
            assert await asyncio.gather(*(nap() for _ in range(6))) == ["a"] * 6  # nginx skips b now

        async with Client(StreamableHttpTransport(f"{base}/mcp"), mode="legacy") as client:
            where = await client.call_tool("shared_where", {})  # a new session, on the replica left
            assert where.structured_content["result"] == "a"
