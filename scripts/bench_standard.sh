#!/usr/bin/env bash
# The standard `openim bench` runs of docs/performance.md, exactly as they were measured.
#
#   scripts/bench_standard.sh [all|direct|rate|group|connect|profile] [RUNS]
#
# Each run starts a FRESH server (new data dir, free loopback ports, embedded SQLite + in-process bus)
# pinned to core 0 (`taskset -c 0`), runs the load generator pinned to core 1 (`taskset -c 1`, so one
# load process), keeps its --json report, and stops that server by its own pid. After RUNS runs of a
# workload it prints the medians. `rate` runs the direct workload at half the median of the `direct`
# runs (or at $RATE). `profile` runs one direct run with py-spy recording the server (needs py-spy:
# `pip install py-spy`; output profile.svg and profile.txt in the output directory).
#
# Environment: PYTHON (default python3, with this repo on PYTHONPATH), OPENIM_BIN (use the one-file
# executable instead), OUT (output dir, default ./bench-results/<date>), USERS, WINDOW, DURATION,
# MEMBERS, SENDERS, CONNECTIONS, RATE, SERVER_CPU (default 0), BENCH_CPU (default 1), SDK (default js;
# go: the clients speak gzip(gob) as openim-sdk-core does).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHAT=${1:-all}
RUNS=${2:-3}
PYTHON=${PYTHON:-python3}
OUT=${OUT:-$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)}
USERS=${USERS:-200}
WINDOW=${WINDOW:-4}
DURATION=${DURATION:-10}
MEMBERS=${MEMBERS:-500}
SENDERS=${SENDERS:-10}
CONNECTIONS=${CONNECTIONS:-10000}
SERVER_CPU=${SERVER_CPU:-0}
BENCH_CPU=${BENCH_CPU:-1}
SDK=${SDK:-js}
SECRET=bench-standard-secret-0123456789

mkdir -p "$OUT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ -n "${OPENIM_BIN:-}" ]; then OPENIM=("$OPENIM_BIN"); else OPENIM=("$PYTHON" -m openim); fi
# 10,000 connections need 10,000 descriptors on each side (the server and the load process inherit this).
ulimit -n "$(ulimit -Hn)"

SERVER_PID=""
MEASURE_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
    fi
    SERVER_PID=""
}
trap stop_server EXIT

free_ports() {
    "$PYTHON" -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])'
}

# start_server NAME: a fresh server in $OUT/NAME, pinned; sets SERVER_PID, MEASURE_PID, API, WS.
# MEASURE_PID is the process that serves: the one-file executable unpacks itself and runs the server in
# a child process, so its CPU is the child's (the parent only waits).
start_server() {
    local dir=$OUT/$1
    rm -rf "$dir"; mkdir -p "$dir"
    read -r api_port ws_port < <(free_ports)
    cat > "$dir/config.yaml" <<EOF
secret: $SECRET
data_dir: $dir/data
api: {host: 127.0.0.1, port: $api_port}
gateway: {host: 127.0.0.1, port: $ws_port}
log: {format: json, level: warning}
security: {send_rate: 0}  # a load generator is not a person: the per-user send limit is off
EOF
    (cd "$dir" && exec taskset -c "$SERVER_CPU" "${OPENIM[@]}" serve -c "$dir/config.yaml" > "$dir/server.log" 2>&1) &
    SERVER_PID=$!
    API=http://127.0.0.1:$api_port
    WS=ws://127.0.0.1:$ws_port
    for _ in $(seq 300); do
        if "$PYTHON" -c "import httpx,sys; sys.exit(httpx.get('$API/readyz', timeout=1).status_code != 200)" 2>/dev/null; then
            MEASURE_PID=$SERVER_PID
            if [ -n "${OPENIM_BIN:-}" ]; then
                MEASURE_PID=$(pgrep -P "$SERVER_PID" | head -n 1 || true)
                MEASURE_PID=${MEASURE_PID:-$SERVER_PID}
            fi
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited; see $dir/server.log" >&2; return 1; }
        sleep 0.1
    done
    echo "server not ready after 30 s; see $dir/server.log" >&2
    return 1
}

# bench NAME ARGS...: one run of `openim bench ARGS` against a fresh server; JSON in $OUT/NAME.json.
bench() {
    local name=$1; shift
    start_server "$name"
    echo "== $name: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    set +e
    taskset -c "$BENCH_CPU" "${OPENIM[@]}" bench "$@" --sdk "$SDK" --api "$API" --ws "$WS" --secret "$SECRET" \
        --server-pid "$MEASURE_PID" --json --no-progress > "$OUT/$name.json"
    local rc=$?
    set -e
    stop_server
    echo "   exit $rc" >&2
}

# medians PATTERN: the median of the key figures over $OUT/PATTERN*.json.
medians() {
    "$PYTHON" - "$OUT" "$1" <<'EOF'
import glob, json, statistics, sys
out, pattern = sys.argv[1], sys.argv[2]
runs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{pattern}-*.json")) if open(p).read().strip()]
if not runs:
    sys.exit(f"no results for {pattern}")
def med(get):
    vals = [v for v in (get(r) for r in runs) if v is not None]
    return statistics.median(vals) if vals else None
rows = {
    "runs": len(runs),
    "all checks ok": all(r["ok"] for r in runs),
    "msgs/s": med(lambda r: r["msgs_per_s"]),
    "deliveries/s": med(lambda r: r["deliveries_per_s"]),
    "latency p50 ms": med(lambda r: r["latency"]["p50"]),
    "latency p90 ms": med(lambda r: r["latency"]["p90"]),
    "latency p99 ms": med(lambda r: r["latency"]["p99"]),
    "latency max ms": med(lambda r: r["latency"]["max"]),
    "lost (sum)": sum(r["counts"]["lost"] for r in runs),
    "duplicates (sum)": sum(r["counts"]["duplicates"] for r in runs),
    "logins/s": med(lambda r: r["logins_per_s"]),
    "RSS/connection KiB": med(lambda r: r["rss_per_connection"] and r["rss_per_connection"] / 1024),
    "server RSS end MiB": med(lambda r: r["server_rss_end"] and r["server_rss_end"] / 1048576),
    "server CPU util": med(lambda r: r["server_cpu_util"]),
    "server CPU µs/message": med(lambda r: r.get("server_cpu_us_per_message")),
    "server CPU µs/delivery": med(lambda r: r.get("server_cpu_us_per_delivery")),
    "server CPU µs/login": med(lambda r: r.get("server_cpu_us_per_login")),
    "loadgen CPU µs/message": med(lambda r: r.get("loadgen_cpu_us_per_message")),
    "loadgen busiest util": med(lambda r: r["loadgen_util_max"]),
    "load average (1 min) at start": med(lambda r: r["machine_start"]["loadavg"][0]),
}
print(f"-- {pattern}: medians of {len(runs)} runs ({runs[0]['machine_start']['cpu_model']})")
for k, v in rows.items():
    print(f"   {k:32} {v:,.2f}" if isinstance(v, float) else f"   {k:32} {v}")
json.dump({"pattern": pattern, **rows}, open(f"{out}/{pattern}.medians.json", "w"), indent=2)
EOF
}

run_direct() {
    for i in $(seq "$RUNS"); do bench "direct-$i" direct --users "$USERS" --window "$WINDOW" --duration "$DURATION"; done
    medians direct
}

run_rate() {
    local rate=${RATE:-}
    if [ -z "$rate" ]; then
        rate=$("$PYTHON" -c "import json; print(int(json.load(open('$OUT/direct.medians.json'))['msgs/s'] / 2))")
    fi
    for i in $(seq "$RUNS"); do
        bench "rate-$i" direct --users "$USERS" --window 64 --rate "$rate" --duration "$DURATION"
    done
    medians rate
}

run_group() {
    for i in $(seq "$RUNS"); do
        bench "group-$i" group --members "$MEMBERS" --senders "$SENDERS" --window "$WINDOW" --duration "$DURATION"
    done
    medians group
}

run_connect() {
    for i in $(seq "$RUNS"); do
        bench "connect-$i" connect --connections "$CONNECTIONS" --duration "$DURATION" --connect-concurrency 256
    done
    medians connect
}

run_profile() {
    command -v py-spy >/dev/null || { echo "py-spy not found: pip install py-spy" >&2; return 1; }
    start_server profile
    taskset -c "$BENCH_CPU" "${OPENIM[@]}" bench direct --sdk "$SDK" --users "$USERS" --window "$WINDOW" --duration 30 \
        --api "$API" --ws "$WS" --secret "$SECRET" --server-pid "$MEASURE_PID" --json --no-progress \
        > "$OUT/profile-run.json" &
    local bench_pid=$!
    sleep 8  # set-up and logins, then the steady state
    # --nonblocking: sample without stopping the server; --gil: only the thread holding the GIL, i.e.
    # where the server's Python CPU goes (SQLite's own C work in its worker thread runs without it).
    taskset -c "$BENCH_CPU" py-spy record --pid "$MEASURE_PID" --duration 10 --rate 250 --nonblocking --gil \
        --format raw --output "$OUT/profile.txt" >/dev/null 2>&1 || true
    taskset -c "$BENCH_CPU" py-spy record --pid "$MEASURE_PID" --duration 8 --rate 250 --nonblocking --gil \
        --output "$OUT/profile.svg" >/dev/null 2>&1 || true
    wait "$bench_pid" || true
    stop_server
    "$PYTHON" - "$OUT/profile.txt" <<'EOF'
import collections, sys
own, incl, total = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    if not stack:
        continue
    n = int(n); total += n
    frames = [f.split(":")[0] + ")" if " (" in f else f for f in stack.split(";")]
    own[frames[-1]] += n
    for f in set(frames):
        incl[f] += n
print(f"-- profile: {total} samples holding the GIL")
print("   own time (top 25):")
for f, n in own.most_common(25):
    print(f"   {100 * n / total:5.1f}%  {f}")
print("   inclusive (top 40):")
for f, n in incl.most_common(40):
    print(f"   {100 * n / total:5.1f}%  {f}")
EOF
    echo "profile: $OUT/profile.txt (folded stacks), $OUT/profile.svg (flame graph)" >&2
}

echo "openim bench standard: $WHAT x $RUNS into $OUT; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores" >&2
case "$WHAT" in
    direct) run_direct ;;
    rate) run_rate ;;
    group) run_group ;;
    connect) run_connect ;;
    profile) run_profile ;;
    all) run_direct; run_rate; run_group; run_connect ;;
    *) echo "usage: $0 [all|direct|rate|group|connect|profile] [RUNS]" >&2; exit 2 ;;
esac
