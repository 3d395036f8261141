#!/usr/bin/env bash
# The bundled picture tools seen through the official MCP Inspector CLI (npm @modelcontextprotocol/inspector).
# Prints, for math_plot and bio_gc_skew_plot, the content block types the Inspector received.
# Run: bash bench/inspector_pictures.sh   (PYTHON defaults to .venv/bin/python)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
CACHE=${MCP_BOX_INSPECTOR_CACHE:-$ROOT/.ci/.inspector}
mkdir -p "$CACHE"
[ -x "$CACHE/node_modules/.bin/mcp-inspector" ] ||
  (cd "$CACHE" && npm install --silent --no-audit --no-fund @modelcontextprotocol/inspector@0.15 >&2)
inspect() {  # TOOL ARG...: call a tool through the Inspector CLI over stdio
  local tool=$1; shift
  local args=()
  for arg in "$@"; do args+=(--tool-arg "$arg"); done
  "$CACHE/node_modules/.bin/mcp-inspector" --cli "$PY" -m mcp_box_server serve \
    --method tools/call --tool-name "$tool" "${args[@]}" 2>/dev/null |
    "$PY" -c 'import json, sys; r = json.load(sys.stdin); print(sys.argv[1], [(b["type"], b.get("mimeType", "")) for b in r["content"]])' "$tool"
}
inspect math_plot 'expressions=["sin(x)", "x/4"]' start=-6 end=6
inspect bio_gc_skew_plot sequence=GGGGGCCCCCGGGGGAAAAA window=5
