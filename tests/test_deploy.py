"""The deployment files under deploy/: validated offline, and nginx.conf run for real.

Every Kubernetes manifest is checked by kubernetes-validate (its bundled schemas, strict:
an unknown field fails) and compose.yaml against the compose-spec schema that
check-jsonschema ships; then the references between the files are checked (names,
ports, the replica ids nginx.conf routes on). Last, deploy/nginx.conf itself, with only
its upstream addresses and listen port moved to loopback, runs in Debian's nginx in front
of two `mcp-box serve --replica-id` processes (`.ci/run` installs nginx).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from importlib.resources import files
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.server.test_replicas import NGINX, SHARED, Replica
from tests.support.boxes import make_box
from tests.support.servers import free_port, stop_group, wait_healthy

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # an older cluster and the newest schemas bundled
TOKEN = "deploy-test-token"


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kubernetes() -> dict[str, dict]:
    return {doc["kind"]: doc for path in MANIFESTS for doc in documents(path)}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def nginx_routes() -> dict[str, set[str]]:
    """The nginx.conf `map`: session-id prefix -> upstream, and each upstream's servers."""
    conf = (DEPLOY / "nginx.conf").read_text()
    routes = dict(re.findall(r"~\^(\w+)\\\.\s+(\w+);", conf))
    upstreams = {name: body.split(";") for name, body in re.findall(r"upstream (\w+)\s*\{([^}]*)\}", conf)}
    servers = {name: {s.split()[1] for s in body if s.strip()} for name, body in upstreams.items()}
    return {prefix: servers[upstream] for prefix, upstream in routes.items()} | {"": servers["mcp_any"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_kubernetes_manifest_validates_offline(path, version):
    for doc in documents(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_kubernetes_manifests_fit_together():
    kinds = kubernetes()
    assert set(kinds) == {"Deployment", "Service", "Secret", "PersistentVolumeClaim"}
    deployment, service, secret, claim = (
        kinds[k] for k in ("Deployment", "Service", "Secret", "PersistentVolumeClaim")
    )
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000}]  # the Dockerfile's port
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["sessionAffinity"] == "ClientIP"  # handshake-era sessions stay on a pod
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == ("/health", "http")
        assert {"name": "Host", "value": "localhost"} in get["httpHeaders"]  # a pod IP is refused

    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in container["env"]}
    for variable, key in (("MCP_BOX_TOKEN", "token"), ("MCP_BOX_STATE_KEY", "state-key")):
        assert env[variable] == {"secretKeyRef": {"name": secret["metadata"]["name"], "key": key}}
        assert secret["stringData"][key] == ""  # a template: left empty, the pods refuse to start
    assert env["MCP_BOX_REPLICA_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "mcp-box" in env["MCP_BOX_ALLOWED_HOSTS"].split(",")  # the Service's name
    assert len(deployment["metadata"]["name"]) <= 15  # pod name = replica id, 32 characters at most

    (volume,) = pod["spec"]["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # pods on several nodes
    boxes = container["args"][container["args"].index("--boxes") + 1]
    assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": boxes, "readOnly": True}]


def test_the_seeding_step_copies_the_bundled_boxes_into_an_empty_volume(tmp_path):
    (seed,) = kubernetes()["Deployment"]["spec"]["template"]["spec"]["initContainers"]
    mount = seed["volumeMounts"][0]["mountPath"]
    script = seed["command"][-1].replace(mount, str(tmp_path))
    (tmp_path / "lost+found").mkdir()  # a fresh ext4 volume has one
    python = [sys.executable, *seed["command"][1:-1], script]  # the image's `python`: this one
    subprocess.run(python, check=True)
    assert {"bio", "math"} <= {p.name for p in tmp_path.iterdir()}
    assert not list(tmp_path.rglob("__pycache__"))
    (tmp_path / "math" / "box.toml").write_text("edited")
    subprocess.run(python, check=True)
    assert (tmp_path / "math" / "box.toml").read_text() == "edited"  # a filled volume is left alone


def test_compose_yaml_follows_the_compose_spec():
    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []


def test_compose_runs_two_replicas_behind_the_nginx_of_nginx_conf():
    services = compose()["services"]
    replicas = {name: s for name, s in services.items() if name != "nginx"}
    assert len(replicas) == 2
    ids = {s["environment"]["MCP_BOX_REPLICA_ID"]: name for name, s in replicas.items()}
    routes = nginx_routes()
    assert routes == {
        **{prefix: {f"{name}:8000"} for prefix, name in ids.items()},
        "": {f"{name}:8000" for name in replicas},
    }

    shared = []
    for replica in replicas.values():
        assert (DEPLOY / replica["build"]["context"] / replica["build"]["dockerfile"]).is_file()
        env = replica["environment"]
        for variable in ("MCP_BOX_TOKEN", "MCP_BOX_STATE_KEY"):  # required, the same on both
            assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", env[variable])
        shared.append({k: v for k, v in env.items() if k != "MCP_BOX_REPLICA_ID"})
        (boxes,) = replica["volumes"]
        assert replica["command"] == ["--boxes", boxes["target"]]
        assert "http://127.0.0.1:8000/health" in " ".join(replica["healthcheck"]["test"])
    assert shared[0] == shared[1]
    (source,) = {replica["volumes"][0]["source"] for replica in replicas.values()}  # one folder
    default = re.fullmatch(r"\$\{MCP_BOX_BOXES:-([^}]+)\}", source)[1]
    assert (DEPLOY / default).resolve() == DEPLOY.parent / "boxes"

    nginx = services["nginx"]
    (conf,) = nginx["volumes"]
    assert (DEPLOY / conf["source"]).resolve() == DEPLOY / "nginx.conf"
    assert conf["target"] == "/etc/nginx/conf.d/default.conf"
    listen = re.search(r"listen (\d+);", (DEPLOY / "nginx.conf").read_text())[1]
    (port,) = nginx["ports"]
    assert port.endswith(f":{listen}")
    assert nginx["depends_on"] == {name: {"condition": "service_healthy"} for name in replicas}
    assert "/health" in " ".join(nginx["healthcheck"]["test"])


@pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed")
async def test_nginx_conf_routes_sessions_to_their_replica(tmp_path):
    """deploy/nginx.conf, with loopback addresses for the replicas, in front of two replicas."""
    root = tmp_path / "boxes"
    make_box(root, "shared", {"tools": SHARED})
    key = os.urandom(32).hex()
    replicas: list[Replica] = []
    nginx = None
    try:
        for name in ("a", "b"):
            replicas.append(Replica.start(name, root, MCP_BOX_STATE_KEY=key, MCP_BOX_TOKEN=TOKEN))
        for replica in replicas:
            wait_healthy(f"http://127.0.0.1:{replica.port}", replica.process)

        conf = (DEPLOY / "nginx.conf").read_text()
        for replica in replicas:
            conf, moved = re.subn(rf"\bmcp-box-{replica.name}:8000\b", f"127.0.0.1:{replica.port}", conf)
            assert moved == 2  # its own upstream and mcp_any
        port = free_port()
        conf, moved = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", conf)
        assert moved == 1
        (tmp_path / "default.conf").write_text(conf)
        temp = " ".join(f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy"))
        temp += "".join(f" {kind}_temp_path {tmp_path}/{kind};" for kind in ("fastcgi", "uwsgi", "scgi"))
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log warn;\n"
            f"events {{}}\nhttp {{ access_log off; {temp} include {tmp_path}/default.conf; }}\n"
        )
        args = [NGINX, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
        nginx = subprocess.Popen([*args, "-g", "daemon off;"], start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, nginx, timeout=10)  # /health answers without the token, as probes need

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/mcp", data=b"{}", method="POST"), timeout=5
            )
        assert refused.value.code == 401

        async with Client(StreamableHttpTransport(f"{base}/mcp", auth=TOKEN)) as client:
            served = {
                (await client.call_tool("shared_where", {})).structured_content["result"] for _ in range(8)
            }
        assert served == {"a", "b"}  # sessionless: round robin over both

        for _ in range(2):  # new sessions go round robin; each stays on the replica its id names
            transport = StreamableHttpTransport(f"{base}/mcp", auth=TOKEN)
            async with Client(transport, mode="legacy") as client:
                owner = client.transport.get_session_id().split(".")[0]
                answers = {
                    (await client.call_tool("shared_where", {})).structured_content["result"]
                    for _ in range(6)
                }
                assert answers == {owner}
    finally:
        if nginx is not None:
            stop_group(nginx)
        for replica in replicas:
            replica.stop()
