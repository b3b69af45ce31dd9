#!/usr/bin/env bash
# `make demo`: start the sandbox, run Meltano against it into target-jsonl, print the
# rows per stream, and always stop the sandbox again (even on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
MELTANO=${MELTANO:-.meltano-venv/bin/meltano}
PORT=${SANDBOX_PORT:-8700}
SANDBOX_ARGS=${SANDBOX_ARGS:-}
OUT=output/sandbox
LOG=output/sandbox-server.log
BASE_URL="http://127.0.0.1:$PORT/sandbox"

http_ok() {  # exit 0 when the sandbox's admin endpoint answers
    "$VENV/bin/python" - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2).read()
except Exception:
    sys.exit(1)
PY
}

if http_ok "http://127.0.0.1:$PORT/_admin/config"; then
    echo "port $PORT already serves something; stop it or run: make demo SANDBOX_PORT=NNNN" >&2
    exit 1
fi

mkdir -p output
# shellcheck disable=SC2086  # SANDBOX_ARGS is a list of flags
"$VENV/bin/tap-oracle-wms-sandbox" --port "$PORT" $SANDBOX_ARGS >"$LOG" 2>&1 &
sandbox_pid=$!
stop_sandbox() {
    if kill -0 "$sandbox_pid" 2>/dev/null; then
        kill "$sandbox_pid" 2>/dev/null || true
        wait "$sandbox_pid" 2>/dev/null || true
        echo "sandbox stopped"
    fi
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 120); do
    http_ok "http://127.0.0.1:$PORT/_admin/config" && break
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
        echo "the sandbox exited; its log:" >&2; cat "$LOG" >&2; exit 1
    fi
    sleep 0.5
done
http_ok "http://127.0.0.1:$PORT/_admin/config" || { echo "sandbox did not come up" >&2; cat "$LOG" >&2; exit 1; }
echo "sandbox up at $BASE_URL (log: $LOG)"

# Some activity today, so the row counts' recent days are not all empty.
for entity in inventory order_hdr order_dtl allocation location ib_shipment wave item; do
    "$VENV/bin/python" - "http://127.0.0.1:$PORT/_admin/activity" "$entity" <<'PY'
import json, sys, urllib.request
body = json.dumps({"entity": sys.argv[2], "inserts": 3, "updates": 5, "deletes": 0}).encode()
request = urllib.request.Request(sys.argv[1], body, {"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()
PY
done
sleep 1  # the run's upper bound is its start in whole seconds: let the burst's second pass

rm -rf "$OUT"
mkdir -p "$OUT"
# The sandbox environment of meltano.yml holds the demo credentials; these variables win
# over a real tenant's settings in .env, so the demo never talks to a tenant.
export TAP_ORACLE_WMS_BASE_URL="$BASE_URL" TAP_ORACLE_WMS_AUTH_METHOD=basic \
    TAP_ORACLE_WMS_USERNAME=admin TAP_ORACLE_WMS_PASSWORD=admin-password \
    TARGET_JSONL_DESTINATION_PATH="$OUT" \
    TAP_ORACLE_WMS__SELECT='["inventory.*", "order_hdr.*", "order_dtl.*", "allocation.*", "location.*",
        "ib_shipment.*", "wave.*", "item.*", "wms_row_counts.*"]'
"$MELTANO" --environment=sandbox run --full-refresh tap-oracle-wms target-jsonl

echo
echo "rows per stream in $OUT/:"
"$VENV/bin/python" scripts/count_rows.py "$OUT"

echo
echo "what the source held (wms_row_counts) against what was loaded:"
"$VENV/bin/python" scripts/reconcile.py "$OUT"
