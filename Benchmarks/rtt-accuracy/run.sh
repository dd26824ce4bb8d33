#!/usr/bin/env bash
# RTT accuracy: isp-checker's RTT and iputils ping's against the on-wire truth, idle and with
# both cores busy. See docs/benchmarks.md ("RTT accuracy") for what is measured and why.
#
#   sudo bash Benchmarks/rtt-accuracy/run.sh
#
# Needs: root, lab/lab.sh, the release CLI (scripts/build-release.sh),
# tcpdump, iputils-ping, python3 (standard library only). Every packet stays inside the lab's
# namespaces (prefix ispc-bench); the lab is torn down on exit, whatever happens.
#
# Truth: tcpdump on the client's interface with nanosecond kernel timestamps; per (ICMP
# identifier, sequence) the reply's timestamp minus the request's. Tools measured, one after
# the other inside one capture per scenario:
#   isp-checker  `isp-checker ping DEST -c COUNT -i INTERVAL --json`, per-probe rtt_nanoseconds
#                (its default: libpcap kernel timestamps on both packets)
#   isp-checker --no-capture
#                the same with no capture: its fallback clock (SO_TIMESTAMPNS on the reply,
#                the userspace clock at sendto for the request)
#   ping         `ping -c COUNT -i INTERVAL DEST`, the per-reply "time=" it prints (iputils
#                rounds it: 0.1 ms resolution for RTTs from 10 to 100 ms)
#   ping -c 1    SINGLES runs of `ping -c 1`, the "rtt min" of each summary (1 µs resolution):
#                iputils' own timing without the display rounding
#
# Environment knobs (defaults in brackets): REPEATS [3], COUNT [300], INTERVAL [0.02],
# SINGLES [150], DELAY_MS [13], ISP_CHECKER [.build/release/isp-checker], OUT [a new temp dir].
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=ispc-bench
CLIENT_NS=$PREFIX-c
DEST=10.99.4.2 # lab with 3 routers: the destination is 10.99.(3+1).2

REPEATS=${REPEATS:-3}
COUNT=${COUNT:-300}
INTERVAL=${INTERVAL:-0.02}
SINGLES=${SINGLES:-150}
DELAY_MS=${DELAY_MS:-13}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}

die() { echo "rtt-accuracy: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in tcpdump ping python3 ip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install tcpdump iputils-ping python3 iproute2)"
done
[[ -x $ISP_CHECKER ]] ||
    die "no CLI at $ISP_CHECKER; build it: bash $ROOT/scripts/build-release.sh, or set ISP_CHECKER"
ping -V 2>&1 | grep -q iputils || die "ping is not iputils ping (apt-get install iputils-ping)"
[[ $REPEATS =~ ^[1-9][0-9]*$ && $COUNT =~ ^[1-9][0-9]*$ && $SINGLES =~ ^[0-9]+$ ]] ||
    die "REPEATS and COUNT must be positive integers, SINGLES a non-negative one"

OUT=${OUT:-$(mktemp -d /tmp/ispc-rtt-accuracy.XXXXXX)}
mkdir -p "$OUT"

LOAD_PIDS=()
TCPDUMP_PID=

stop_load() {
    local pid
    for pid in "${LOAD_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    LOAD_PIDS=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_load
    if [[ -n $TCPDUMP_PID ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
    fi
    bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

# Two busy loops, one pinned to each of the first two cores when taskset is there.
start_load() {
    local cpu ncpu
    ncpu=$(nproc)
    for cpu in 0 1; do
        if command -v taskset >/dev/null && ((cpu < ncpu)); then
            taskset -c "$cpu" sh -c 'while :; do :; done' &
        else
            sh -c 'while :; do :; done' &
        fi
        LOAD_PIDS+=("$!")
    done
    sleep 0.5 # let the scheduler settle with the loops running
}

start_capture() { # dir
    local dir=$1
    # adapter_unsynced asks for the NIC's own clock; veth has none, and tcpdump then warns and
    # keeps the default type (the kernel's software timestamp). stderr records which was used.
    ip netns exec "$CLIENT_NS" tcpdump -i right -j adapter_unsynced --time-stamp-precision=nano \
        --immediate-mode -U -Z root -n -w "$dir/capture.pcap" 'icmp or icmp6' 2>"$dir/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do
        grep -q 'listening on' "$dir/tcpdump.err" 2>/dev/null && break
        kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$dir/tcpdump.err" >&2; die "tcpdump exited"; }
        sleep 0.05
    done
    grep -q 'listening on' "$dir/tcpdump.err" || die "tcpdump did not start listening"
    sleep 0.2
}

stop_capture() {
    sleep 0.3 # every reply is already in: each tool waited for its replies before exiting
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
}

run_scenario() { # repeat scenario
    local dir=$OUT/rep$1-$2 t0 t1
    mkdir -p "$dir"
    [[ $2 == loaded ]] && start_load
    start_capture "$dir"
    : >"$dir/windows.txt"
    head -1 /proc/stat >"$dir/cpu.txt" # busy share of the scenario, for the report

    t0=$(now_ns)
    ip netns exec "$CLIENT_NS" "$ISP_CHECKER" ping "$DEST" -c "$COUNT" -i "$INTERVAL" --json \
        >"$dir/isp-checker.json" 2>"$dir/isp-checker.err" || note "isp-checker exited $? (see $dir/isp-checker.err)"
    t1=$(now_ns)
    echo "isp-checker $t0 $t1" >>"$dir/windows.txt"

    t0=$(now_ns)
    ip netns exec "$CLIENT_NS" "$ISP_CHECKER" ping "$DEST" -c "$COUNT" -i "$INTERVAL" --json --no-capture \
        >"$dir/isp-checker-no-capture.json" 2>"$dir/isp-checker-no-capture.err" ||
        note "isp-checker --no-capture exited $? (see $dir/isp-checker-no-capture.err)"
    t1=$(now_ns)
    echo "isp-checker-no-capture $t0 $t1" >>"$dir/windows.txt"

    t0=$(now_ns)
    ip netns exec "$CLIENT_NS" ping -n -c "$COUNT" -i "$INTERVAL" -W 1 "$DEST" \
        >"$dir/ping.txt" 2>&1 || note "ping exited $? (see $dir/ping.txt)"
    t1=$(now_ns)
    echo "ping $t0 $t1" >>"$dir/windows.txt"

    if ((SINGLES > 0)); then
        t0=$(now_ns)
        # shellcheck disable=SC2016 # expanded by the inner sh
        ip netns exec "$CLIENT_NS" sh -c '
            i=0
            while [ "$i" -lt "$1" ]; do
                i=$((i + 1))
                echo "=== $i"
                ping -n -c 1 -W 1 "$2" 2>&1
            done' sh "$SINGLES" "$DEST" >"$dir/ping-single.txt" || true
        t1=$(now_ns)
        echo "ping-single $t0 $t1" >>"$dir/windows.txt"
    fi

    head -1 /proc/stat >>"$dir/cpu.txt"
    stop_capture
    [[ $2 == loaded ]] && stop_load
    note "repeat $1 $2 done ($dir)"
}

START=$(date +%s)
note "lab: 3 routers, ${DELAY_MS} ms each way on r2's left link (prefix $PREFIX)"
bash "$LAB" up --prefix "$PREFIX" --routers 3 >/dev/null
bash "$LAB" delay --prefix "$PREFIX" --node r2 --side left --ms "$DELAY_MS" >/dev/null

{
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel=$(uname -r)"
    echo "cpus=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "tcpdump=$(tcpdump --version 2>&1 | head -1)"
    echo "ping=$(ping -V 2>&1 | head -1)"
    echo "isp_checker=$ISP_CHECKER"
    echo "isp_checker_built=$(date -u -r "$ISP_CHECKER" +%Y-%m-%dT%H:%M:%SZ)"
    echo "source_revision=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "count=$COUNT interval=$INTERVAL singles=$SINGLES repeats=$REPEATS delay_ms=$DELAY_MS dest=$DEST"
} >"$OUT/environment.txt"

# Warm-up: neighbour caches, page cache for both binaries.
ip netns exec "$CLIENT_NS" ping -n -q -c 3 -i 0.05 "$DEST" >/dev/null
ip netns exec "$CLIENT_NS" "$ISP_CHECKER" ping "$DEST" -c 3 -i 0.05 --json >/dev/null

for ((r = 1; r <= REPEATS; r++)); do
    run_scenario "$r" idle
    run_scenario "$r" loaded
done
bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
note "measured in $(($(date +%s) - START)) s; analysing"

python3 "$HERE/analyze.py" "$OUT"
echo
echo "raw numbers: $OUT/results.json (captures and tool outputs under $OUT)"
