#!/usr/bin/env bash
# Issue #7 profiles in one go, on this machine, loopback only: for each
# profile, `ringcast-load` against `ringcast --dev` and `ringcast-relay load`
# against the raw UDP relay (same workers and drivers, no WebRTC, no crypto)
# with the same packet pattern, so every CPU figure is also shown as a ratio
# to what the machine can do at all. Then ramps (subscribers stepped up until
# loss passes 0.1 %: the knee is the last step below it) and the same
# profiles on 1 and 2 dataplane workers. Writes markdown tables (with the
# latency distribution), the machine's state and the exact commands to
# benches/results/latest.md (OUT=...).
#
#   bash benches/profiles.sh              # uses existing target/release binaries
#   BUILD=1 bash benches/profiles.sh      # cargo build --release first
#
# Profiles (PROFILES, name:publishers:subscribers, one room each):
#   audio-broadcast:1:N   1 audio publisher -> N subscribers (alias broadcast)
#   audio-room:P:N        P audio publishers -> N subscribers
#   video-broadcast:1:N   1 video publisher (VIDEO_BITRATE) -> N subscribers
#   simulcast:1:N         as video-broadcast with q/h/f simulcast (subscribers
#                         get f; the relay: the f layer's pattern only)
#   meeting:N:0           N video publishers that each subscribe to the others
#                         (the relay: N publishers -> N subscribers, each also
#                         getting its own stream back: N*N instead of N*(N-1))
# Knobs (environment): WORKERS (dataplane workers of both servers in the main
# table, default 2), DURATION (measured window per run, default 10s),
# VIDEO_BITRATE (default 1.5M), PROFILES, RAMPS (name:publishers:steps, steps
# comma-separated; for meeting the steps are meeting sizes, e.g.
# meeting:0:4,8,12; "" skips), RAMP_DURATION (window per ramp step, default 5s),
# SCALING (profiles run on 1 and on 2 workers; "" skips), OUT, BIN.
# Every run is bounded (timeout); the whole default set takes about 10 min.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
WORKERS=${WORKERS:-2}
DURATION=${DURATION:-10s}
RAMP_DURATION=${RAMP_DURATION:-5s}
VIDEO_BITRATE=${VIDEO_BITRATE:-1.5M}
OUT=${OUT:-benches/results/latest.md}
# Every run's JSON summary is kept here (the tables are made from them).
RAW_DIR=${RAW_DIR:-${OUT%.md}-raw}
# Ports away from the defaults, so a dev server or a test run on this machine
# is not disturbed and does not disturb us.
HTTP_PORT=${HTTP_PORT:-17880}
UDP_PORT=${UDP_PORT:-17882}
TCP_PORT=${TCP_PORT:-17881}
RELAY_PORT=${RELAY_PORT:-17990}
PROFILES=${PROFILES:-"audio-broadcast:1:100 audio-broadcast:1:1000 audio-room:10:50 video-broadcast:1:100 video-broadcast:1:250 meeting:4:0 meeting:8:0 meeting:12:0"}
RAMPS=${RAMPS-"audio-broadcast:1:100,250,500,750,1000,1500 video-broadcast:1:50,100,250,500,750,1000 audio-room:10:50,100,200,300 meeting:0:4,8,12,16,20"}
SCALING=${SCALING-"audio-broadcast:1:500 video-broadcast:1:100 meeting:8:0"}

if [[ "${BUILD:-0}" == 1 ]]; then
    cargo build --release -p ringcast -p ringcast-benches
fi
for b in ringcast ringcast-load ringcast-relay; do
    [[ -x "$BIN/$b" ]] || { echo "missing $BIN/$b (BUILD=1 builds it)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/ringcast-profiles.XXXXXX)
# One version of every binary through the whole run, even if a build
# replaces them meanwhile; the commands below name them by $BIN.
BIN_SRC=$BIN
mkdir -p "$work/bin"
cp "$BIN_SRC/ringcast" "$BIN_SRC/ringcast-load" "$BIN_SRC/ringcast-relay" "$work/bin/"
bin_built=$(stat -c %y "$BIN_SRC/ringcast" | cut -d. -f1)
BIN=$work/bin
SFU_PID="" RELAY_PID=""
cleanup() {
    [[ -n "$SFU_PID" ]] && kill "$SFU_PID" 2>/dev/null || true
    [[ -n "$RELAY_PID" ]] && kill "$RELAY_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

commands="$work/commands.txt"
: >"$commands"
run_logged() { # records the exact command line, then runs it
    printf '%q ' "$@" >>"$commands"
    echo >>"$commands"
    "$@"
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

start_sfu() { # workers
    local config
    config=$(printf 'logging:\n  level: warn\nrtc:\n  tcp_port: %s\ndataplane:\n  workers: %s\n' "$TCP_PORT" "$1")
    printf '%q ' "$BIN/ringcast" --dev --port "$HTTP_PORT" --udp-port "$UDP_PORT" --config-body "$config" >>"$commands"
    echo '&' >>"$commands"
    "$BIN/ringcast" --dev --port "$HTTP_PORT" --udp-port "$UDP_PORT" --config-body "$config" \
        >"$work/ringcast-$1.log" 2>&1 &
    SFU_PID=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && break
        sleep 0.1
    done
    kill -0 "$SFU_PID" || { cat "$work/ringcast-$1.log" >&2; exit 1; }
}
stop_sfu() {
    kill "$SFU_PID" 2>/dev/null || true
    wait "$SFU_PID" 2>/dev/null || true
    SFU_PID=""
    echo "kill <ringcast pid>" >>"$commands"
}

# The ringcast-load options of a profile (after the common ones).
load_opts() { # name pubs subs
    case "$1" in
        audio-broadcast | broadcast | audio-room)
            echo "--audio-publishers $2 --subscribers $3" ;;
        video-broadcast)
            echo "--video-publishers $2 --video-bitrate $VIDEO_BITRATE --subscribers $3" ;;
        simulcast)
            echo "--video-publishers $2 --video-bitrate $VIDEO_BITRATE --simulcast --subscribers $3" ;;
        meeting)
            echo "--video-publishers $2 --video-bitrate $VIDEO_BITRATE --meeting --subscribers $3" ;;
        *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}
# The ringcast-relay load options of the same packet pattern.
relay_opts() { # name pubs subs
    case "$1" in
        audio-broadcast | broadcast | audio-room)
            echo "--publishers $2 --subscribers $3" ;;
        video-broadcast | simulcast)
            echo "--publishers $2 --video-bitrate $VIDEO_BITRATE --subscribers $3" ;;
        meeting)
            echo "--publishers $2 --video-bitrate $VIDEO_BITRATE --subscribers $(($2 + $3))" ;;
        *) echo "unknown profile $1" >&2; return 1 ;;
    esac
}

n=0
run_sfu() { # out-file window name pubs subs idle-sample
    n=$((n + 1))
    local opts
    opts=$(load_opts "$3" "$4" "$5")
    # Exit code 2 means loss or failed participants: still a result.
    # shellcheck disable=SC2086
    run_logged timeout 150 "$BIN/ringcast-load" --url "ws://127.0.0.1:$HTTP_PORT" \
        --room "profile-$n" $opts --duration "$2" --join-rate 200 --idle-sample "$6" \
        --server-pid "$SFU_PID" --json >"$1" 2>"${1%.json}.err" || true
}
run_relay() { # out-file name pubs subs
    local opts
    opts=$(relay_opts "$2" "$3" "$4")
    # shellcheck disable=SC2086
    run_logged timeout 60 "$BIN/ringcast-relay" load --relay "127.0.0.1:$RELAY_PORT" \
        $opts --duration "$DURATION" --idle-sample 3s --server-pid "$RELAY_PID" --json \
        >"$1" 2>"${1%.json}.err" || true
}
loss_of() { # json file -> "ok" when it exists, nobody failed and loss < 0.1 %
    python3 - "$1" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("none"); sys.exit(0)
ok = s.get("failed", 1) == 0 and s.get("loss_percent", 100) < 0.1 and s.get("received", 0) > 0
print("ok" if ok else "loss")
PY
}

start_sfu "$WORKERS"
printf '%q ' "$BIN/ringcast-relay" serve --port "$RELAY_PORT" --workers "$WORKERS" >>"$commands"
echo '&' >>"$commands"
"$BIN/ringcast-relay" serve --port "$RELAY_PORT" --workers "$WORKERS" >"$work/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 100); do
    grep -q '^ringcast-relay pid' "$work/relay.log" && break
    sleep 0.1
done
kill -0 "$RELAY_PID" || { cat "$work/relay.log" >&2; exit 1; }
relay_banner=$(head -1 "$work/relay.log")

: >"$work/index.txt"
i=0
for p in $PROFILES; do
    IFS=: read -r name pubs subs <<<"$p"
    [[ "$name" == broadcast ]] && name=audio-broadcast
    i=$((i + 1))
    echo "== $name: $pubs publisher(s) -> $subs subscribers" >&2
    run_sfu "$work/sfu-$i.json" "$DURATION" "$name" "$pubs" "$subs" 3s
    run_relay "$work/relay-$i.json" "$name" "$pubs" "$subs"
    echo "$i $name $pubs $subs" >>"$work/index.txt"
done
kill "$RELAY_PID" 2>/dev/null || true
wait "$RELAY_PID" 2>/dev/null || true
RELAY_PID=""

# Ramps: one run per step on the same server, fresh room each, until a step
# loses more than 0.1 % (or a participant fails): the knee is the step before.
: >"$work/ramp.txt"
for r in $RAMPS; do
    IFS=: read -r name pubs steps <<<"$r"
    [[ "$name" == broadcast ]] && name=audio-broadcast
    for subs in ${steps//,/ }; do
        f="$work/ramp-$name-$pubs-$subs.json"
        echo "== ramp $name: $pubs -> $subs" >&2
        if [[ "$name" == meeting ]]; then
            # A meeting ramps its size: each step is N participants that all
            # publish and receive (recorded as "meeting 0 N").
            run_sfu "$f" "$RAMP_DURATION" "$name" "$subs" 0 0s
        else
            run_sfu "$f" "$RAMP_DURATION" "$name" "$pubs" "$subs" 0s
        fi
        verdict=$(loss_of "$f")
        echo "$name $pubs $subs $verdict" >>"$work/ramp.txt"
        [[ "$verdict" == ok ]] || break
    done
done
stop_sfu

# The same profiles on 1 and on 2 workers.
: >"$work/scale.txt"
if [[ -n "$SCALING" ]]; then
    for w in 1 2; do
        start_sfu "$w"
        for p in $SCALING; do
            IFS=: read -r name pubs subs <<<"$p"
            [[ "$name" == broadcast ]] && name=audio-broadcast
            echo "== $w worker(s): $name $pubs -> $subs" >&2
            run_sfu "$work/scale-$w-$name-$pubs-$subs.json" "$DURATION" "$name" "$pubs" "$subs" 3s
            echo "$w $name $pubs $subs" >>"$work/scale.txt"
        done
        stop_sfu
    done
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$(dirname "$OUT")" "$RAW_DIR/ramp" "$RAW_DIR/scale"
rm -f "$RAW_DIR"/*.json "$RAW_DIR"/ramp/*.json "$RAW_DIR"/scale/*.json
while read -r i name pubs subs; do
    cp "$work/sfu-$i.json" "$RAW_DIR/$name-$pubs-$subs-ringcast.json" 2>/dev/null || true
    cp "$work/relay-$i.json" "$RAW_DIR/$name-$pubs-$subs-relay.json" 2>/dev/null || true
done <"$work/index.txt"
cp "$work"/ramp-*.json "$RAW_DIR/ramp/" 2>/dev/null || true
cp "$work"/scale-*.json "$RAW_DIR/scale/" 2>/dev/null || true

python3 - "$work" "$OUT" <<PY
import json, os, sys
work, out = sys.argv[1], sys.argv[2]

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def fmt(v, spec="{:.2f}"):
    return "-" if v is None else spec.format(v)

def lat(s):
    if not s or s.get("latency_p50_us") is None:
        return "-"
    return "{:.1f} / {:.1f}".format(s["latency_p50_us"] / 1000, (s.get("latency_p99_us") or 0) / 1000)

def cpu(s):
    """CPU µs per forwarded packet, net of the idle rate when it was sampled."""
    if not s:
        return None
    v = s.get("server_cpu_us_per_packet_net")
    return v if v is not None else s.get("server_cpu_us_per_packet")

def pps(s):
    if not s or not s.get("window_seconds"):
        return None
    return s["received"] / s["window_seconds"]

BOUNDS = ["≤0.25", "≤0.5", "≤1", "≤2", "≤5", "≤10", "≤20", "≤50", "≤100", ">100"]

def hist(s):
    """The latency histogram as percentages per bucket (ms)."""
    h = (s or {}).get("latency_histogram") or []
    total = sum(h)
    if not total:
        return ["-"] * len(BOUNDS)
    return ["{:.1f}".format(100 * c / total) if c else "" for c in h] + [""] * (len(BOUNDS) - len(h))

def kind_of(name):
    return {"audio-broadcast": "audio", "audio-room": "audio"}.get(name, "video")

rows, details, errors, latency = [], [], [], []
with open(os.path.join(work, "index.txt")) as f:
    for line in f:
        i, name, pubs, subs = line.split()
        sfu = load(os.path.join(work, f"sfu-{i}.json"))
        rel = load(os.path.join(work, f"relay-{i}.json"))
        for who, s in (("ringcast-load", sfu), ("ringcast-relay load", rel)):
            if s is None:
                try:
                    with open(os.path.join(work, f"{'sfu' if who == 'ringcast-load' else 'relay'}-{i}.err")) as e:
                        tail = e.read().strip().splitlines()[-3:]
                except OSError:
                    tail = []
                errors.append(f"- {name} {pubs}->{subs}, {who}: no result. " + " / ".join(tail))
        c_sfu, c_rel = cpu(sfu), cpu(rel)
        ratio = (c_sfu / c_rel) if (c_sfu is not None and c_rel) else None
        latency.append("| {} {}->{} | {} | {} | {} | ".format(
            name, pubs, subs,
            fmt(sfu and sfu.get("latency_p50_us") and sfu["latency_p50_us"] / 1000, "{:.2f}"),
            fmt(sfu and sfu.get("latency_p99_us") and sfu["latency_p99_us"] / 1000, "{:.2f}"),
            fmt(sfu and sfu.get("latency_max_us") and sfu["latency_max_us"] / 1000, "{:.1f}"),
        ) + " | ".join(hist(sfu)) + " |")
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            name, kind_of(name), pubs, subs,
            fmt(pps(sfu), "{:.0f}"),
            fmt(sfu and sfu.get("loss_percent"), "{:.3f}"),
            lat(sfu),
            fmt(c_sfu),
            fmt(rel and rel.get("loss_percent"), "{:.3f}"),
            lat(rel),
            fmt(c_rel),
            fmt(ratio, "{:.1f}x"),
        ))
        for who, s in (("ringcast", sfu), ("relay", rel)):
            if not s:
                continue
            details.append("| {} {}->{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                name, pubs, subs, who,
                s.get("sent"), s.get("expected"), s.get("received"), s.get("duplicates"),
                fmt(s.get("latency_max_us") and s["latency_max_us"] / 1000, "{:.1f}"),
                fmt(s.get("server_cpu_seconds"), "{:.2f}"),
                fmt(s.get("server_cpu_us_per_packet")),
                fmt(s.get("server_idle_cpu_per_second"), "{:.3f}"),
                fmt(s.get("generator_cpu_seconds"), "{:.2f}"),
            ))

# Ramps: one line per step, the knee per ramp.
ramp_rows, knees = [], []
try:
    ramp_lines = open(os.path.join(work, "ramp.txt")).read().split("\n")
except OSError:
    ramp_lines = []
last_ok = {}
for line in filter(None, ramp_lines):
    name, pubs, subs, verdict = line.split()
    s = load(os.path.join(work, f"ramp-{name}-{pubs}-{subs}.json"))
    key = (name, pubs)
    last_ok.setdefault(key, None)
    if verdict == "ok":
        last_ok[key] = subs
    gen = None
    if s and s.get("generator_cpu_seconds") is not None and s.get("window_seconds"):
        gen = s["generator_cpu_seconds"] / s["window_seconds"]
    meeting = name == "meeting"
    ramp_rows.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        name, subs if meeting else pubs, 0 if meeting else subs,
        fmt(s and s.get("publishers_connected" if meeting else "subscribers_connected"), "{}"),
        fmt(pps(s), "{:.0f}"),
        fmt(s and s.get("loss_percent"), "{:.3f}"),
        lat(s),
        fmt(s and s.get("server_cpu_us_per_packet")),
        fmt(gen),
        "below 0.1 %" if verdict == "ok" else ("no result" if verdict == "none" else "**loss / failures: stop**"),
    ))
for (name, pubs), k in last_ok.items():
    steps = [l.split()[2] for l in filter(None, ramp_lines) if l.split()[:2] == [name, pubs]]
    all_ok = all(l.split()[3] == "ok" for l in filter(None, ramp_lines) if l.split()[:2] == [name, pubs])
    what = "participants (each publishing video)" if name == "meeting" else "subscribers"
    knees.append("- {}{}: knee at **{}** {}{}".format(
        name, "" if name == "meeting" else " " + pubs + " publisher(s)",
        k if k else "none (the first step already lost)", what,
        " (no loss up to the last step tried, " + steps[-1] + ")" if all_ok else ""))

# 1 vs 2 workers.
scale_rows = []
try:
    scale_lines = open(os.path.join(work, "scale.txt")).read().split("\n")
except OSError:
    scale_lines = []
by_profile = {}
for line in filter(None, scale_lines):
    w, name, pubs, subs = line.split()
    by_profile.setdefault((name, pubs, subs), {})[w] = load(os.path.join(work, f"scale-{w}-{name}-{pubs}-{subs}.json"))
for (name, pubs, subs), runs in by_profile.items():
    one, two = runs.get("1"), runs.get("2")
    c1, c2 = cpu(one), cpu(two)
    scale_rows.append("| {} {}->{} | {} | {} | {} | {} | {} | {} | {} |".format(
        name, pubs, subs,
        fmt(pps(one), "{:.0f}"), fmt(one and one.get("loss_percent"), "{:.3f}"), lat(one), fmt(c1),
        fmt(two and two.get("loss_percent"), "{:.3f}"), lat(two), fmt(c2),
    ))

with open(os.path.join(work, "commands.txt")) as f:
    commands = f.read().rstrip().replace(work + "/bin/", "${BIN_SRC}/")

md = f"""# Packets per core: ringcast vs the raw relay baseline

Written by \`benches/profiles.sh\` (do not edit by hand).

- Run: ${started} to ${finished} UTC, commit \`$(git rev-parse --short HEAD)\`$(git diff --quiet HEAD -- dataplane controlplane shared benches || echo ' (with uncommitted changes in the tree)')
- Binaries: \`${BIN_SRC}\` (ringcast built ${bin_built} UTC), copied at start so one version serves the whole run
- Machine: $(nproc) cores, \`$(uname -r)\`; load average before ${load_before}, after ${load_after}; loopback only
- Both servers: ${WORKERS} dataplane workers; ${relay_banner}
- Each run: ${DURATION} measured window, one room. Audio publishers send a 100-byte
  stamped payload every 20 ms; video publishers send ${VIDEO_BITRATE} bit/s of VP8-shaped
  RTP (30 frames a second, each frame's packets of at most 1200 payload bytes sent
  together, a keyframe first and on each PLI). ringcast-load is a full LiveKit client
  (signaling, ICE, DTLS, SRTP); ringcast-relay load sends the same pattern as plain UDP
  to the relay, which copies each datagram unchanged to every subscriber (in a meeting
  also back to its sender: N×N copies where ringcast forwards N×(N-1)).

CPU µs/pkt = server CPU (all threads) over the window divided by the packets
subscribers received, net of the idle CPU rate sampled for 3 s before the run.
ringcast-load reads utime+stime from /proc/<pid>/stat (10 ms ticks); the relay's
load side reads the threads' run time from /proc/<pid>/task/*/schedstat (ns),
the same quantity at a finer grain (its idle rate is near zero: its workers
wait up to 20 ms, ringcast's 1 ms). Ratio = ringcast CPU µs/pkt ÷ relay CPU µs/pkt:
how many times what a bare fan-out on the same io_uring workers costs. Latency is
one-way, send stamp to the load generator's receive, which shares the 2 cores
with the servers (its own CPU is in the details). At the small profiles
ringcast's figure is the least certain: at 2500 pkt/s over 10 s, one 10 ms tick
is 0.4 µs/pkt and the idle rate it subtracts (about 0.05 s/s, sampled in ticks
over 3 s) carries about ±1.3 µs/pkt; the gross figures are in the details.

| Profile | Media | Pub | Sub | Fwd pkt/s | Loss % | p50 / p99 ms | CPU µs/pkt | Relay loss % | Relay p50 / p99 ms | Relay CPU µs/pkt | Ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

## Latency distribution (ringcast)

One-way, publisher's send stamp to the subscriber's receive, every measured
packet of every subscriber; the histogram is the share of packets (%) per
bucket, upper bounds in ms.

| Run | p50 ms | p99 ms | max ms | """ + " | ".join(BOUNDS) + """ |
|---|---|---|---|""" + "---|" * len(BOUNDS) + """
""" + "\n".join(latency) + """

## Ramps (ringcast, ${WORKERS} workers, ${RAMP_DURATION} per step)

Subscribers stepped up, a fresh room per step, until a step loses more than
0.1 % of its packets or a participant fails; the knee is the last step below.
CPU µs/pkt here is gross (no idle sample between steps). Generator CPU is
the load generator's CPU seconds per second of window: near 1.0 its one
thread is saturated, and the knee is the generator's, not the server's.

""" + "\n".join(knees) + """

| Profile | Pub | Sub | Connected | Fwd pkt/s | Loss % | p50 / p99 ms | CPU µs/pkt | Generator CPU s/s | Step |
|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(ramp_rows) + """

## 1 vs 2 dataplane workers (ringcast)

The same profiles against a fresh server with 1 worker, then with 2.

| Run | Fwd pkt/s | 1 worker: loss % | p50 / p99 ms | CPU µs/pkt | 2 workers: loss % | p50 / p99 ms | CPU µs/pkt |
|---|---|---|---|---|---|---|---|
""" + "\n".join(scale_rows) + """

## Details

| Run | Server | Sent | Expected | Received | Dup | Max ms | CPU s | CPU µs/pkt (gross) | Idle CPU s/s | Generator CPU s |
|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(details) + "\n"
if errors:
    md += "\n## Runs without a result\n\n" + "\n".join(errors) + "\n"
md += "\n![CPU per packet and loss against subscribers](" + os.path.basename(out)[:-3] + ".svg)\n"
md += "\n## Commands\n\n\`\`\`sh\n" + commands + "\n\`\`\`\n"
with open(out, "w") as f:
    f.write(md)
print(md)
PY

# A plot of CPU per packet and loss against subscribers, as SVG (no plotting
# library needed), beside the table.
python3 - "$RAW_DIR" "${OUT%.md}.svg" <<'PY'
import json, math, os, sys
raw, out = sys.argv[1], sys.argv[2]
series = {}  # (profile, server) -> [(subs, cpu, loss)]
for f in sorted(os.listdir(raw)):
    if not f.endswith(".json"):
        continue
    name, pubs, subs, server = f[:-5].rsplit("-", 3)
    try:
        with open(os.path.join(raw, f)) as fh:
            s = json.load(fh)
    except (OSError, ValueError):
        continue
    cpu = s.get("server_cpu_us_per_packet_net")
    if cpu is None:
        cpu = s.get("server_cpu_us_per_packet")
    # A meeting has no pure subscribers: its x is its participants.
    x = int(subs) if int(subs) > 0 else int(pubs)
    label = f"{name}" if name == "meeting" else f"{name} {pubs} pub"
    if x > 0:
        series.setdefault((label, server), []).append((x, cpu, s.get("loss_percent")))
if not series:
    sys.exit(0)
W, H, M = 460, 300, 50
xs = [p[0] for v in series.values() for p in v]
xmin, xmax = min(xs), max(xs)
if xmin == xmax:
    xmax = xmin * 10
lx = lambda x: M + (math.log(x) - math.log(xmin)) / (math.log(xmax) - math.log(xmin)) * (W - 2 * M)
colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
profiles = sorted({k[0] for k in series})
rows_h = 16 * ((len(series) + 3) // 4)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H + 44 + rows_h}" font-family="sans-serif" font-size="11">',
       f'<rect width="{2 * W}" height="{H + 44 + rows_h}" fill="white"/>']
for panel, (idx, title) in enumerate([(1, "server CPU µs per forwarded packet"), (2, "loss %")]):
    ox = panel * W
    ys = [p[idx] for v in series.values() for p in v if p[idx] is not None]
    ymax = max(ys + [0.01]) * 1.15
    ly = lambda y: H - M + 10 - (y / ymax) * (H - 2 * M)
    svg.append(f'<text x="{ox + W / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>')
    svg.append(f'<line x1="{ox + M}" y1="{ly(0)}" x2="{ox + W - M}" y2="{ly(0)}" stroke="black"/>')
    svg.append(f'<line x1="{ox + M}" y1="{ly(0)}" x2="{ox + M}" y2="{ly(ymax)}" stroke="black"/>')
    for t in sorted(set(xs)):
        svg.append(f'<text x="{ox + lx(t)}" y="{ly(0) + 14}" text-anchor="middle">{t}</text>')
    svg.append(f'<text x="{ox + W / 2}" y="{ly(0) + 30}" text-anchor="middle">subscribers, meeting: participants (log scale)</text>')
    for k in range(5):
        y = ymax * k / 4
        svg.append(f'<text x="{ox + M - 4}" y="{ly(y) + 4}" text-anchor="end">{y:.3g}</text>')
        svg.append(f'<line x1="{ox + M}" y1="{ly(y)}" x2="{ox + W - M}" y2="{ly(y)}" stroke="#ddd"/>')
    for (prof, server), pts in sorted(series.items()):
        pts = sorted(p for p in pts if p[idx] is not None)
        if not pts:
            continue
        c = colors[profiles.index(prof) % len(colors)]
        dash = ' stroke-dasharray="5,4"' if server == "relay" else ""
        path = " ".join(f"{ox + lx(p[0]):.1f},{ly(p[idx]):.1f}" for p in pts)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        for p in pts:
            svg.append(f'<circle cx="{ox + lx(p[0])}" cy="{ly(p[idx])}" r="3" fill="{c}"/>')
ly0 = H + 20
for n, (prof, server) in enumerate(sorted(series)):
    c = colors[profiles.index(prof) % len(colors)]
    dash = ' stroke-dasharray="5,4"' if server == "relay" else ""
    x, y = M + (n % 4) * 210, ly0 + (n // 4) * 16
    svg.append(f'<line x1="{x}" y1="{y}" x2="{x + 30}" y2="{y}" stroke="{c}" stroke-width="2"{dash}/>')
    svg.append(f'<text x="{x + 36}" y="{y + 4}">{prof}, {server}</text>')
svg.append("</svg>")
with open(out, "w") as fh:
    fh.write("\n".join(svg) + "\n")
PY
