#!/usr/bin/env bash
# Control-plane restart under load (issue #7): `ringcast dataplane` runs the
# media workers, `ringcast --dataplane-shm` the control plane; ringcast-load
# runs 1 audio publisher -> N subscribers, and in the middle of its measured
# window the control plane is SIGKILLed and started again. The load
# generator keeps its media going and resumes each participant's signaling
# (as the SDKs do); its summary says whether any packet was lost, the
# one-way latency (a stall would show as a max of seconds) and how many
# participants resumed. Loopback only, bounded in time.
#
#   bash benches/restart.sh                    # N=500, 20 s window
#   SUBSCRIBERS=1000 WORKERS=2 bash benches/restart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
SUBSCRIBERS=${SUBSCRIBERS:-500}
WORKERS=${WORKERS:-2}
DURATION=${DURATION:-20}
JOIN_RATE=${JOIN_RATE:-200}
HTTP_PORT=${HTTP_PORT:-17980}
UDP_PORT=${UDP_PORT:-17982}
SHM=/dev/shm/ringcast-restart-bench-$$
for b in ringcast ringcast-load; do
    [[ -x "$BIN/$b" ]] || { echo "missing $BIN/$b (cargo build --release -p ringcast -p ringcast-benches)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/ringcast-restart.XXXXXX)
DP="" CP="" LOAD=""
cleanup() {
    for p in $LOAD $CP $DP; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -f "$SHM" "$SHM.sock"
}
trap cleanup EXIT
common=(--dev --port "$HTTP_PORT" --udp-port "$UDP_PORT" --dataplane-shm "$SHM"
        --config-body $'logging:\n  level: info\ndataplane:\n  workers: '"$WORKERS")
wait_http() {
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$HTTP_PORT/" >/dev/null && return 0
        sleep 0.1
    done
    echo "control plane not ready" >&2; return 1
}
"$BIN/ringcast" "${common[@]}" dataplane >"$work/dataplane.log" 2>&1 & DP=$!
"$BIN/ringcast" "${common[@]}" >"$work/control-1.log" 2>&1 & CP=$!
wait_http
timeout $((DURATION + 90)) "$BIN/ringcast-load" --url "ws://127.0.0.1:$HTTP_PORT" --room restart \
    --subscribers "$SUBSCRIBERS" --join-rate "$JOIN_RATE" --duration "${DURATION}s" \
    --server-pid "$DP" >"$work/load.txt" 2>"$work/load.err" & LOAD=$!
# The window opens after the joins (SUBSCRIBERS / JOIN_RATE s) and a short
# settle; the kill lands a third of the way into it.
kill_after=$(( SUBSCRIBERS / JOIN_RATE + 2 + DURATION / 3 ))
sleep "$kill_after"
echo "SIGKILL control plane (pid $CP) ${kill_after}s after the load started"
kill -9 "$CP"; wait "$CP" 2>/dev/null || true
t0=$(date +%s.%N)
"$BIN/ringcast" "${common[@]}" >"$work/control-2.log" 2>&1 & CP=$!
wait_http
t1=$(date +%s.%N)
echo "control plane serving again after $(echo "$t1 - $t0" | bc) s"
wait "$LOAD" || true
LOAD=""
grep -E "took back" "$work/control-2.log" | sed 's/^.*INFO //' || true
echo "resumed by the new control plane: $(grep -c 'participant resumed' "$work/control-2.log" || true)"
cat "$work/load.txt"
grep -E "WARN|ERROR" "$work/load.err" | tail -5 || true
