#!/usr/bin/env bash
# Run the official MCP conformance suite against mcp-box over streamable HTTP.
#
#   bash .ci/conformance.sh                            # 0.1.16, every server scenario (--suite all)
#   bash .ci/conformance.sh --requirements 2026-07-28  # 0.2.0-alpha.12, the scenarios that
#                                                      # revision of the spec requires
#
# Installs Node 22 + @modelcontextprotocol/conformance from the npm registry into a
# cache folder per suite version (the machines have Node 20; the suite needs 22, and
# 0.2's dist/index.js calls fs.globSync, so it is run by that node explicitly), starts
# `python -m mcp_box_server serve --transport http` on a free loopback port with a copy
# of the fixture boxes of tests/conformance/boxes (hot reload on), runs the suite, and
# compares the outcome with the expected-failures list: exit 1 when a scenario outside the
# list fails or a listed one passes.
#
# A scenario fails as its suite counts it: 0.1.16 on any FAILURE or WARNING check
# (tests/conformance/expected_failures.txt); with --requirements on any FAILURE of a
# scored scenario (tests/conformance/expected_failures-<revision>.txt). Scenarios the
# revision does not score (extensions such as tasks, pending ones) do not count in the
# totals, but one that fails must be listed too (and one listed must fail).
#
# Environment:
#   PYTHON                      interpreter with mcp_box_server importable
#                               (default: .venv/bin/python, else python3; if the package is
#                               not importable, a venv is made in the cache and it is installed)
#   MCP_BOX_CONFORMANCE_CACHE   where Node 22 and the suite are installed
#                               (default .ci/.conformance, .ci/.conformance-<revision> with --requirements)
#   MCP_BOX_CONFORMANCE_OUT     where the suite writes its per-scenario results (default: a temp dir)
#   MCP_BOX_CONFORMANCE_EXPECTED  the expected-failures list (default: see above)
#   CONFORMANCE_ARGS            extra arguments for the suite, e.g. "--scenario tools-list"
set -euo pipefail

REQUIREMENTS=
case "${1:-}" in
  "") ;;
  --requirements) REQUIREMENTS=${2:?--requirements needs a spec revision, e.g. 2026-07-28} ;;
  *) printf 'usage: %s [--requirements REVISION]\n' "$0" >&2; exit 2 ;;
esac
if [ -n "$REQUIREMENTS" ]; then
  SUITE_VERSION=0.2.0-alpha.12
  SUITE_ARGS=(--requirements "$REQUIREMENTS")
  SUFFIX=-$REQUIREMENTS
else
  SUITE_VERSION=0.1.16
  SUITE_ARGS=(--suite all)
  SUFFIX=
fi
NODE_VERSION=22

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MCP_BOX_CONFORMANCE_CACHE:-$ROOT/.ci/.conformance$SUFFIX}
FIXTURES=$ROOT/tests/conformance/boxes
EXPECTED=${MCP_BOX_CONFORMANCE_EXPECTED:-$ROOT/tests/conformance/expected_failures$SUFFIX.txt}
START=$(date +%s)

say() { printf 'conformance: %s\n' "$*" >&2; }

# --- Node 22 + the suite, cached ---------------------------------------------------
mkdir -p "$CACHE"
[ -f "$CACHE/.gitignore" ] || printf '*\n' >"$CACHE/.gitignore"
SUITE_DIR=$CACHE/node_modules/@modelcontextprotocol/conformance
SUITE_PKG=$SUITE_DIR/package.json
installed_version() {
  [ -f "$SUITE_PKG" ] && sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$SUITE_PKG" | head -n1
}
if [ "$(installed_version)" != "$SUITE_VERSION" ] || ! "$CACHE/node_modules/.bin/node" --version >/dev/null 2>&1; then
  command -v npm >/dev/null || { say "npm not found: install Node.js (20 is enough) first"; exit 2; }
  say "installing node@$NODE_VERSION and @modelcontextprotocol/conformance@$SUITE_VERSION into $CACHE"
  [ -f "$CACHE/package.json" ] || printf '{"name": "mcp-box-conformance", "private": true}\n' >"$CACHE/package.json"
  (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error \
    "node@$NODE_VERSION" "@modelcontextprotocol/conformance@$SUITE_VERSION" >&2)
fi
export PATH="$CACHE/node_modules/.bin:$PATH"
case "$(node --version)" in
  v$NODE_VERSION.*) ;;
  *) say "expected Node $NODE_VERSION from $CACHE, got $(node --version)"; exit 2 ;;
esac

# --- Python with mcp_box_server ---------------------------------------------------
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PY=$ROOT/.venv/bin/python
else
  PY=python3
fi
# Check from / so that the source tree on sys.path does not hide missing dependencies.
if ! (cd / && "$PY" -c 'import mcp_box_server.cli, mcp_box_server.server.app, fastmcp') 2>/dev/null; then
  say "mcp_box_server is not importable with $PY: installing it into $CACHE/venv"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/python" -m pip install --quiet "$ROOT" >&2
  PY=$CACHE/venv/bin/python
fi

# --- the server --------------------------------------------------------------------
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcp-box-conformance.XXXXXX")
OUT=${MCP_BOX_CONFORMANCE_OUT:-$WORK/results}
mkdir -p "$OUT"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A copy of the fixture boxes, served with hot reload on: the diagnostic tools
# test_trigger_tool_change and test_trigger_prompt_change add or remove a file in the copy
# of the test box named by MCP_BOX_CONFORMANCE_BOX, and hot reload announces the change.
cp -R "$FIXTURES" "$WORK/boxes"
MCP_BOX_CONFORMANCE_BOX=$WORK/boxes/test \
  "$PY" -m mcp_box_server serve --transport http --host 127.0.0.1 --port "$PORT" \
  --boxes "$WORK/boxes" --log-level WARNING >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Ready when /health answers and every fixture box serves.
if ! "$PY" - "$URL/health" "$SERVER_PID" "$WORK/boxes" <<'EOF'
import json, os, pathlib, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
FIXTURES = {box.parent.name for box in pathlib.Path(sys.argv[3]).glob("*/box.toml")}
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("server exited before it was ready")
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            boxes = json.load(response)["boxes"]
        if FIXTURES <= {name for name, box in boxes.items() if box["serving"]}:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("server not ready after 60 s")
EOF
then
  say "server failed to start; its log:"
  cat "$WORK/server.log" >&2
  exit 2
fi

# --- the suite -----------------------------------------------------------------------
# The suite's own baseline check (same rule as ours) is passed the list as YAML.
BASELINE=$WORK/baseline.yml
"$PY" - "$EXPECTED" "$BASELINE" <<'EOF'
import sys
names = []
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), start=1):
    entry, _, reason = line.partition("#")
    if not entry.strip():
        continue
    if not reason.strip():
        sys.exit(f"{sys.argv[1]}:{number}: '{entry.strip()}' needs a reason: `name  # reason`")
    names.append(entry.strip())
with open(sys.argv[2], "w", encoding="utf-8") as out:
    out.write("server:\n" + "".join(f"  - {name}\n" for name in names))
EOF

say "running @modelcontextprotocol/conformance@$SUITE_VERSION ${SUITE_ARGS[*]} against $URL/mcp"
if [ -z "$REQUIREMENTS" ]; then
  SUITE_ARGS+=(--expected-failures "$BASELINE")  # --requirements scores on its own terms
fi
set +e
# shellcheck disable=SC2086  # CONFORMANCE_ARGS is split on purpose
"$CACHE/node_modules/.bin/node" "$SUITE_DIR/dist/index.js" server --url "$URL/mcp" "${SUITE_ARGS[@]}" \
  -o "$OUT" ${CONFORMANCE_ARGS:-} >"$WORK/suite.log" 2>&1
SUITE_RC=$?
set -e
# The suite prints each scenario's spec text; keep its summary and baseline report.
sed -n '/=== SUMMARY ===/,$p' "$WORK/suite.log" >&2
if ! grep -q '=== SUMMARY ===' "$WORK/suite.log"; then
  tail -n 40 "$WORK/suite.log" >&2
fi

# --- our comparison --------------------------------------------------------------------
set +e
"$PY" - "$OUT" "$EXPECTED" "$SUITE_RC" "$(($(date +%s) - START))" "${CONFORMANCE_ARGS:-}" \
  "$WORK/suite.log" "$REQUIREMENTS" <<'EOF'
import json, pathlib, re, sys

out, expected_file, suite_rc, seconds, extra, suite_log, requirements = sys.argv[1:8]
# With --requirements the suite names the scenarios it ran but does not score.
log = pathlib.Path(suite_log).read_text(encoding="utf-8", errors="replace")
unscored = dict(re.findall(r"^  [✓✗] (\S+) \((.+)\)$", log.partition("Not scored for")[2], re.M))
judged = ("FAILURE",) if requirements else ("FAILURE", "WARNING")
expected = {}
for line in open(expected_file, encoding="utf-8"):
    entry, _, reason = line.partition("#")
    if entry.strip():
        expected[entry.strip()] = reason.strip()

results, extras = {}, {}
for checks_file in sorted(pathlib.Path(out).glob("server-*/checks.json")):
    match = re.fullmatch(r"server-(.+)-\d{4}-\d\d-\d\dT[\d-]+Z", checks_file.parent.name)
    if not match:
        continue
    checks = json.loads(checks_file.read_text(encoding="utf-8"))
    # The suite's own rule: a scenario fails on a check of a judged status.
    bad = [c for c in checks if c.get("status") in judged]
    if match.group(1) in unscored:
        print(f"not scored ({unscored[match.group(1)]}): {match.group(1)}: "
              f"{'fails' if bad else 'passes'}", file=sys.stderr)
        extras[match.group(1)] = bad
        continue
    results[match.group(1)] = bad

passed = sorted(name for name, bad in results.items() if not bad)
failed = sorted(name for name in results if results[name])
expected_fail = [name for name in failed if name in expected]
# Unscored scenarios (the tasks extension, pending ones) are held to the list as well: one
# that fails is listed with its reason, and one that passes is not.
unexpected = [name for name in failed if name not in expected]
unexpected += sorted(name for name, bad in extras.items() if bad and name not in expected)
stale = [name for name in passed if name in expected]
stale += sorted(name for name, bad in extras.items() if not bad and name in expected)
ran = results | extras
missing = [] if extra.strip() else sorted(name for name in expected if name not in ran)

for name in unexpected:
    print(f"UNEXPECTED FAILURE {name}:", file=sys.stderr)
    for check in ran[name]:
        print(f"    {check.get('id')}: {check.get('status')}: {check.get('errorMessage', '')}", file=sys.stderr)
for name in stale:
    print(f"NOW PASSES (remove it from expected_failures.txt): {name}", file=sys.stderr)
for name in missing:
    print(f"NOT RUN (no such scenario, or no result; fix expected_failures.txt): {name}", file=sys.stderr)
if not results:
    print("no scenario results found", file=sys.stderr)

k = len(unexpected) + len(stale) + len(missing)
print(
    f"conformance: {len(passed)} passed, {len(expected_fail)} expected failures, {k} unexpected"
    f" ({len(results)} scenarios, {seconds} s)"
)
ok = results and k == 0
if ok and suite_rc != "0" and not requirements:  # with --requirements it exits 1 on any scored failure
    print(f"conformance: the suite's own baseline check exited {suite_rc}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF
RC=$?
set -e
if [ "$RC" -ne 0 ] && [ -s "$WORK/server.log" ]; then
  say "server log (last 40 lines):"
  tail -n 40 "$WORK/server.log" >&2
fi
exit "$RC"
