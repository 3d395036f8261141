#!/usr/bin/env bash
# CI: build the image from the Dockerfile with podman, on a base made here from Debian packages
# (debootstrap bookworm + python3, tagged as the Dockerfile's FROM), run it with a token, and
# have the MCP SDK client list and call tools through it (tests/test_container.py). Then check
# what doctor says inside the container under a seccomp profile that refuses Landlock, and
# under the one deploy/seccomp.py makes.
#
# A machine that cannot run containers at all (no user namespaces, a runtime the kernel
# refuses) is reported as such, with podman's own error, and the step is skipped, loudly;
# set MCP_BOX_REQUIRE_CONTAINER=1 to fail instead. Everything after a container first runs
# (the build, the server, the client's calls) must pass.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
need=()
for tool in podman debootstrap runc; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q podman debootstrap runc
fi

work="$(mktemp -d)"
name="mcp-box-ci-$$"
cleanup() {
    podman rm -f "$name" >/dev/null 2>&1 || true
    $sudo_cmd rm -rf "$work"
}
trap cleanup EXIT

# Limits podman may set inside a nested machine: no higher than this shell's own (a container
# runtime cannot raise them without CAP_SYS_RESOURCE), and crun or runc, whichever starts.
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")

base="$(awk 'toupper($1) == "FROM" {print $2; exit}' Dockerfile)"
case "$base" in
    */*/*) ;;
    */*) base="docker.io/$base" ;;
    *) base="docker.io/library/$base" ;;
esac
echo "== a stand-in for $base: debootstrap bookworm + python3"
mirror="$(awk '$1 == "URIs:" {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
$sudo_cmd debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    bookworm "$work/rootfs" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
# What the official image offers: `python`, and pip free to install into the system Python.
$sudo_cmd chroot "$work/rootfs" sh -c \
    'ln -sf python3 /usr/bin/python; rm -f /usr/lib/python3*/EXTERNALLY-MANAGED; apt-get clean'
# The build's pip trusts what this machine trusts (a TLS-inspecting proxy's CA, if any).
$sudo_cmd cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
$sudo_cmd tar -C "$work/rootfs" -c . | podman import --quiet - "$base" >/dev/null

runtime=""
for candidate in crun runc; do
    if out="$(podman --runtime "$candidate" run --rm "${limits[@]}" "$base" python -c 'print(1)' 2>&1)"; then
        runtime="$candidate"
        break
    fi
    echo "podman --runtime $candidate cannot start a container here: $out" >&2
done
if [ -z "$runtime" ]; then
    echo "CONTAINER CHECK SKIPPED: podman cannot run any container on this machine (errors above)" >&2
    [ "${MCP_BOX_REQUIRE_CONTAINER:-0}" = 1 ] && exit 1
    exit 0
fi
pm=(podman --runtime "$runtime")
echo "== containers start with $runtime"

echo "== build the image (docker format: OCI drops HEALTHCHECK)"
image="localhost/mcp-box:ci"
"${pm[@]}" build --format docker --network host "${limits[@]}" -t "$image" . >"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; exit 1; }
"${pm[@]}" image inspect "$image" | python -c '
import json, sys
check = json.load(sys.stdin)[0].get("Healthcheck") or {}
assert "/health" in " ".join(check.get("Test", [])), f"the image has no HEALTHCHECK: {check}"'

echo "== run it with a token; the client lists and calls tools over HTTP"
token="ci-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${pm[@]}" run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$port:8000" \
    -e MCP_BOX_TOKEN="$token" "$image" >/dev/null
for _ in $(seq 1 120); do
    if python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/health', timeout=2)" 2>/dev/null; then
        break
    fi
    if [ "$("${pm[@]}" inspect --format '{{.State.Running}}' "$name")" != true ]; then
        "${pm[@]}" logs "$name" | tail -30
        exit 1
    fi
    sleep 1
done
"${pm[@]}" healthcheck run "$name" 2>/dev/null || { echo "HEALTHCHECK failed" >&2; "${pm[@]}" logs "$name" | tail -30; exit 1; }
MCP_BOX_CONTAINER_URL="http://127.0.0.1:$port" MCP_BOX_CONTAINER_TOKEN="$token" \
    python -m pytest -p no:cacheprovider -q tests/test_container.py -k image_serves \
    || { "${pm[@]}" logs "$name" | tail -30; exit 1; }

echo "== doctor in the container: Landlock refused by the seccomp profile, then allowed"
profile=/usr/share/containers/seccomp.json
python - "$profile" "$work/no-landlock.json" <<'EOF'
import json, sys
profile = json.load(open(sys.argv[1]))
profile["defaultErrnoRet"] = 1  # EPERM, as Docker's default answers (podman's answers ENOSYS)
profile.pop("defaultErrno", None)  # podman's name for it, which would win
for rule in profile["syscalls"]:
    rule["names"] = [n for n in rule["names"] if not n.startswith("landlock_")]
json.dump(profile, open(sys.argv[2], "w"))
EOF
python deploy/seccomp.py "$work/no-landlock.json" >"$work/mcp-box-seccomp.json"
doctor() {
    "${pm[@]}" run --rm --no-healthcheck "${limits[@]}" --security-opt "seccomp=$1" --entrypoint mcp-box "$image" doctor --json || true
}
doctor "$work/no-landlock.json" | python -c '
import json, sys
report = json.load(sys.stdin)
why = report.get("landlock_unavailable", "")
assert why.startswith("blocked by seccomp (EPERM)"), report
assert not report["sandboxed"]["serving"], report
print("without the landlock_* calls:", why.split(":")[0])'
doctor "$work/mcp-box-seccomp.json" | python -c '
import json, sys
report = json.load(sys.stdin)
assert report["landlock_abi"] >= 1 and "landlock" in report["sandboxed"]["enforced"], report
print("with deploy/seccomp.py: Landlock ABI", report["landlock_abi"])'
echo "== container check passed"
