#!/usr/bin/env bash
# Real Loki clients and Grafana's LogQL grammar against loggate, installed
# from their registries into a throwaway folder (nothing by hand):
#   - npm @grafana/lezer-logql: agrees with tests/loki_corpus.txt
#   - npm @perses-dev/loki-plugin and PyPI loki-reader-core, each against
#     `loggate demo --static` on loopback, equal to /logs and /sources.
#   - PyPI sseclient-py: GET /logs/tail of a live `loggate demo`, with
#     disconnects and Last-Event-ID, equal to /logs and each log once.
# Usage: tests/clients/run.sh [path/to/loggate [extra-corpus]]
#   (default target/debug/loggate; extra-corpus: more KIND<TAB>QUERY lines,
#   such as the random syntax errors tests/loki_fuzz.rs dumps)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-target/debug/loggate}"
extra="${2:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/loggate-clients.XXXXXX")"
demo_pid=""
live_pid=""
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; fi
  if [ -n "$live_pid" ]; then kill "$live_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== installing clients into $work"
(
  cd "$work"
  npm init -y >/dev/null
  # --omit=peer skips the React UI peers of the Perses plugin (the client
  # module needs none); @lezer/lr is lezer-logql's one peer, named here.
  npm install --silent --no-audit --no-fund --omit=peer --legacy-peer-deps \
    @perses-dev/loki-plugin @grafana/lezer-logql @lezer/lr >/dev/null
  python3 -m venv venv
  venv/bin/pip install --quiet --disable-pip-version-check loki-reader-core sseclient-py requests
)
export NODE_PATH="$work/node_modules"

echo "== @grafana/lezer-logql and tests/loki_corpus.txt"
node tests/clients/lezer_corpus.js tests/loki_corpus.txt
if [ -n "$extra" ]; then
  node tests/clients/lezer_corpus.js "$extra"
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" demo --static --listen "127.0.0.1:$port" >"$work/demo.log" 2>&1 &
demo_pid=$!
base="http://127.0.0.1:$port"
python3 - "$base" <<'PY' || { cat "$work/demo.log"; exit 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("loggate demo did not become ready")
PY

echo "== @perses-dev/loki-plugin against loggate demo"
node tests/clients/perses_check.js "$base" "$work/node_modules"
echo "== loki-reader-core against loggate demo"
"$work/venv/bin/python" tests/clients/loki_reader_check.py "$base"

echo "== sseclient-py: /logs/tail of a live loggate demo, with reconnects"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" demo --listen "127.0.0.1:$port" >"$work/live.log" 2>&1 &
live_pid=$!
live="http://127.0.0.1:$port"
python3 - "$live" <<'PY' || { cat "$work/live.log"; exit 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("loggate demo did not become ready")
PY
"$work/venv/bin/python" tests/clients/tail_sse_check.py "$live"
