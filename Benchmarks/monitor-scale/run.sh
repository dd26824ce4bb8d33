#!/usr/bin/env bash
# The monitor at scale (issue 17, goal 5): one isp-checker-monitor process checks TARGETS (1,000)
# lab addresses every 60 s, the runbook's critical interval, while a client loads its HTTP API at
# a steady rate. Goals: <= 1 CPU core on average, <= 200 MiB peak RSS (VmHWM), API p99 < 50 ms on
# every endpoint with no errors, and every target checked in every interval of the run.
#
#   sudo bash Benchmarks/monitor-scale/run.sh
#   sudo DURATION=600 PERF=1 bash Benchmarks/monitor-scale/run.sh
#
# What runs: lab.sh builds client - r1 - r2 - r3 - dest (prefix PREFIX, idealised unless
# REALISTIC=1); dest answers every address of 10.77.128.0/20 and fd00:77::/64. The monitor
# (release build, built when absent) runs in the client namespace with a SQLite history in a
# temp dir, its API on the namespace's 127.0.0.1, and a config of TARGETS `class: critical`
# targets 10.77.128.1, .2, ... (FAMILY=6: fd00:77::1, ...; FAMILY=both: half each). Each check is
# what CheckPlan makes of such a target: ping (10 echoes 200 ms apart) and traceroute (10 rounds
# 500 ms apart); no DNS (the host is an address) and no HTTP (no url).
#
# The interval: the runbook's adaptive interval (§4.1.2) doubles a healthy target's base interval
# (score <= 20 -> min(base x 2, 3600 s)), and the lab's targets are healthy, so the config sets
# `probe_intervals: critical_targets: INTERVAL/2` (30 s) for every target to be checked every
# INTERVAL (60 s): the load of 1,000 critical targets at 60 s. The check below counts what ran.
#
# Measured:
#   - CPU: utime+stime of the monitor from /proc/PID/stat, every second (per-second use in cores:
#     p50, p95, max) and the average over the run (after the first SAMPLE_SKIP seconds of start).
#   - memory: VmRSS every second, and VmHWM (peak) just before the monitor is stopped.
#   - API: a python3 client in the client namespace (threads, one keep-alive connection each)
#     requests each endpoint at a fixed rate: /health, /health/detailed, /metrics,
#     /api/v1/runs?limit=50, /api/v1/runs?target=T&limit=10 (a random target), /api/v1/runs/ID (a
#     recent run); per endpoint p50/p90/p99/max latency (send to last byte) and errors (non-2xx,
#     connection failures).
#   - checks: after the monitor stops, the SQLite history is read: for every interval window
#     [start + k*INTERVAL, start + (k+1)*INTERVAL) the number of targets with a run that started
#     in it (all TARGETS expected in every full window), runs per target, and each target's longest
#     gap between two check starts; the last /metrics must hold isp_checker_runs_total for every
#     target. A monitor that skipped targets fails here.
#
# Knobs (environment) [default]: TARGETS [1000], INTERVAL [60] (seconds), DURATION [180] (seconds
# of load, >= 2 intervals), FAMILY [4] (4, 6, both), REALISTIC [0] (1: the kernel's ICMP rate
# limits, lab.sh up --realistic), RATE [5] (requests/s per API endpoint), METRICS_RATE [1]
# (/metrics requests/s; Prometheus scrapes every 15 s), SAMPLE_SKIP [5], PERF [0] (1: perf record
# -g on the monitor for PERF_SECONDS [30] in the second interval; OUT/perf-inclusive.txt and
# OUT/perf-self.txt), MONITOR
# [.build/release/isp-checker-monitor; built when absent or BUILD=1], PREFIX [ispc-hm],
# OUT [a temp dir: config, logs, samples, latency, summary.txt], KEEP_DB [0] (1: keep the SQLite
# history in OUT/db; about 220 MB with HISTORY=50), HISTORY [50] (runs per target in the history
# before the measured run, see below; 0: start empty). Exit 0 when every goal is met,
# 1 when one is missed, 2 on a setup error. The lab and the monitor are torn down on exit,
# whatever happens.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=${PREFIX:-ispc-hm}
CLIENT_NS=$PREFIX-c
TARGETS=${TARGETS:-1000}
INTERVAL=${INTERVAL:-60}
DURATION=${DURATION:-180}
FAMILY=${FAMILY:-4}
REALISTIC=${REALISTIC:-0}
RATE=${RATE:-5}
METRICS_RATE=${METRICS_RATE:-1}
SAMPLE_SKIP=${SAMPLE_SKIP:-5}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-30}
HISTORY=${HISTORY:-50}
MONITOR=${MONITOR:-$ROOT/.build/release/isp-checker-monitor}
OUT=${OUT:-$(mktemp -d /tmp/ispc-monitor-scale.XXXXXX)}
PORT=9464

die() { echo "monitor-scale: $*" >&2; exit 2; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in python3 ip nft; do command -v "$tool" >/dev/null || die "$tool not found (sudo bash scripts/install-deps.sh)"; done
[[ $TARGETS =~ ^[0-9]+$ && $TARGETS -ge 1 && $TARGETS -le 4000 ]] || die "TARGETS must be 1 ... 4000, got $TARGETS"
[[ $INTERVAL =~ ^[0-9]+$ && $INTERVAL -ge 2 && $((INTERVAL % 2)) -eq 0 ]] || die "INTERVAL must be an even number of seconds >= 2, got $INTERVAL"
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge $((2 * INTERVAL)) ]] || die "DURATION must be at least two intervals ($((2 * INTERVAL)) s), got $DURATION"
[[ $FAMILY == 4 || $FAMILY == 6 || $FAMILY == both ]] || die "FAMILY must be 4, 6 or both, got $FAMILY"
mkdir -p "$OUT"
chmod 755 "$OUT"

if [[ ${BUILD:-0} == 1 || ! -x $MONITOR ]]; then
    note "building the release monitor"
    bash "$ROOT/scripts/build-release.sh" isp-checker-monitor >/dev/null
fi

MONITOR_PID=
SAMPLER_PID=
LOAD_PID=
PERF_PID=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local pid
    for pid in $PERF_PID $LOAD_PID $SAMPLER_PID $MONITOR_PID; do
        kill "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in $PERF_PID $LOAD_PID $SAMPLER_PID $MONITOR_PID; do
        kill -9 "$pid" 2>/dev/null || true
    done
    bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note "lab $PREFIX up ($([[ $REALISTIC == 1 ]] && echo realistic || echo idealised))"
LAB_ARGS=(up --prefix "$PREFIX" --routers 3)
[[ $REALISTIC == 1 ]] && LAB_ARGS+=(--realistic)
bash "$LAB" "${LAB_ARGS[@]}" >"$OUT/lab.log" 2>&1 || { cat "$OUT/lab.log" >&2; die "lab.sh up failed"; }

# Config: TARGETS critical targets, the store in OUT, the API on the namespace's loopback.
python3 - "$TARGETS" "$FAMILY" "$((INTERVAL / 2))" "$OUT" "$PORT" >"$OUT/monitor.yaml" <<'EOF'
import ipaddress, sys
count, family, base, out, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
v4 = [str(ipaddress.IPv4Address("10.77.128.0") + i + 1) for i in range(count)]
v6 = [str(ipaddress.IPv6Address("fd00:77::") + i + 1) for i in range(count)]
hosts = v4 if family == "4" else v6 if family == "6" else [a for pair in zip(v4, v6) for a in pair][:count]
print("# generated by Benchmarks/monitor-scale/run.sh")
print("probe_intervals:")
print(f"  critical_targets: {base}s   # healthy targets: x2 (runbook 4.1.2)")
print("store:")
print(f"  sqlite: {out}/db/runs.sqlite")
print("http:")
print("  host: 127.0.0.1")
print(f"  port: {port}")
print("targets:")
for host in hosts:
    print(f"  - host: {host}")
    print("    class: critical")
EOF
python3 -c 'import sys,re; print("\n".join(re.findall(r"- host: (\S+)", open(sys.argv[1]).read())))' "$OUT/monitor.yaml" >"$OUT/targets.txt"

start_monitor() {
    ip netns exec "$CLIENT_NS" "$MONITOR" --config "$OUT/monitor.yaml" >"$OUT/monitor$1.out" 2>"$OUT/monitor$1.err" &
    MONITOR_PID=$!
    for _ in $(seq 100); do
        grep -q '^listening ' "$OUT/monitor$1.out" 2>/dev/null && return 0
        kill -0 "$MONITOR_PID" 2>/dev/null || { cat "$OUT/monitor$1.err" >&2; die "the monitor exited at start"; }
        sleep 0.1
    done
    die "the monitor did not listen within 10 s ($OUT/monitor$1.err)"
}

stop_monitor() {
    kill -TERM "$MONITOR_PID"
    for _ in $(seq 300); do kill -0 "$MONITOR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$MONITOR_PID" 2>/dev/null && { kill -9 "$MONITOR_PID"; note "the monitor did not stop within 30 s: killed"; }
    wait "$MONITOR_PID" 2>/dev/null || true
    MONITOR_PID=
}

# The history of a monitor that has run for a while: every check reads its target's last 50
# runs for the baseline (RunHistory.limit), and the API lists and counts a full table. A seed
# monitor runs until every target has a run, then each run is copied HISTORY - 1 times, one
# interval further back each time (new ids), before the measured run starts.
if [[ $HISTORY -gt 0 ]]; then
    note "seeding the history: one run per target, then $HISTORY runs per target"
    start_monitor -seed
    seed_deadline=$((SECONDS + 20 * INTERVAL))
    until python3 "$HERE/history.py" count "$OUT/db/runs.sqlite" "$TARGETS" 2>/dev/null; do
        [[ $SECONDS -lt $seed_deadline ]] || die "the seed monitor did not check every target within $((20 * INTERVAL)) s"
        kill -0 "$MONITOR_PID" 2>/dev/null || die "the seed monitor died ($OUT/monitor-seed.err)"
        sleep 5
    done
    stop_monitor
    python3 "$HERE/history.py" clone "$OUT/db/runs.sqlite" "$HISTORY" "$INTERVAL" >&2
fi

note "monitor: $TARGETS targets every ${INTERVAL}s for ${DURATION}s (binary $MONITOR)"
START_EPOCH=$(date +%s.%N)
start_monitor ""

# Sampler: one line a second: epoch, utime+stime ticks, VmRSS kB.
python3 - "$MONITOR_PID" >"$OUT/samples.tsv" <<'EOF' &
import os, sys, time
pid = sys.argv[1]
tick = os.sysconf("SC_CLK_TCK")
print(f"# clk_tck {tick}", flush=True)
nxt = time.monotonic()
while True:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        print(f"{time.time():.3f}\t{cpu}\t{rss}", flush=True)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        break
    nxt += 1.0
    time.sleep(max(0.0, nxt - time.monotonic()))
EOF
SAMPLER_PID=$!

if [[ $PERF == 1 ]]; then
    if command -v perf >/dev/null; then
        ( sleep "$((INTERVAL + 5))"
          perf record -F 499 -g -p "$MONITOR_PID" -o "$OUT/perf.data" -- sleep "$PERF_SECONDS" >"$OUT/perf-record.log" 2>&1 || true
        ) &
        PERF_PID=$!
    else
        note "perf not found: no profile"
    fi
fi

# API load for the whole run, in the client namespace.
note "API load: $RATE req/s per endpoint, /metrics $METRICS_RATE req/s"
ip netns exec "$CLIENT_NS" python3 "$HERE/load.py" --port "$PORT" --duration "$DURATION" --rate "$RATE" \
    --metrics-rate "$METRICS_RATE" --targets "$OUT/targets.txt" --out "$OUT/latency.json" \
    --last-metrics "$OUT/last-metrics.txt" >"$OUT/load.log" 2>&1 &
LOAD_PID=$!
wait "$LOAD_PID" || { cat "$OUT/load.log" >&2; die "the load client failed"; }
LOAD_PID=

kill -0 "$MONITOR_PID" 2>/dev/null || { tail -20 "$OUT/monitor.err" >&2; die "the monitor died during the run"; }
grep VmHWM "/proc/$MONITOR_PID/status" | awk '{print $2}' >"$OUT/vmhwm-kb"
END_EPOCH=$(date +%s.%N)
note "stopping the monitor (SIGTERM)"
stop_monitor
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

if [[ $PERF == 1 && -s $OUT/perf.data ]]; then
    # Inclusive (children) and self shares per symbol, demangled when swift is on PATH.
    demangle() { if command -v swift >/dev/null; then swift demangle --simplified; else cat; fi; }
    perf report -i "$OUT/perf.data" --children --sort symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
        | head -300 | demangle >"$OUT/perf-inclusive.txt" || true
    perf report -i "$OUT/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' \
        | head -100 | demangle >"$OUT/perf-self.txt" || true
fi

python3 "$HERE/summary.py" --out "$OUT" --start "$START_EPOCH" --end "$END_EPOCH" --interval "$INTERVAL" \
    --targets "$TARGETS" --sample-skip "$SAMPLE_SKIP" --commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --setup "targets=$TARGETS family=$FAMILY interval=${INTERVAL}s duration=${DURATION}s lab=$([[ $REALISTIC == 1 ]] && echo realistic || echo idealised) rate=${RATE}/s metrics_rate=${METRICS_RATE}/s" \
    | tee "$OUT/summary.txt"
status=${PIPESTATUS[0]}
# The history is about 220 MB with HISTORY=50.
[[ ${KEEP_DB:-0} == 1 ]] || rm -rf "$OUT/db"
note "files in $OUT"
exit "$status"
