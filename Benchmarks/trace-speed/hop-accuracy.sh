#!/usr/bin/env bash
# Hop RTT accuracy: isp-checker's per-hop RTT figures (last/avg/best/worst/stdev) against the
# on-wire truth of every probe. See docs/benchmarks.md ("Traceroute speed and hop accuracy").
#
#   sudo bash Benchmarks/trace-speed/hop-accuracy.sh
#
# Needs: root, lab/lab.sh, the release CLI (scripts/build-release.sh),
# tcpdump, python3 (standard library only). Every packet stays inside the lab's namespaces
# (prefix ispc-tbench); the lab is torn down on exit, whatever happens.
#
# Lab: client - r1 - r2 - r3 - dest 10.99.4.2, DELAY_MS each way on r2's left link. Per run, a
# tcpdump with nanosecond kernel timestamps on the client's interface records
# `isp-checker trace 10.99.4.2 -c ROUNDS -M udp --json --capture` (the pcap clock) and the same
# with --no-capture (socket timestamps, the default of `trace` since 2026-12-06). analyze_hops.py pairs every probe with the ICMP error quoting it (by the probe
# id in the quoted "ISPT" payload, the quoted IP id and source port) and compares per hop.
#
# Environment knobs (defaults in brackets): REPEATS [3], ROUNDS [50], DELAY_MS [13],
# ISP_CHECKER [.build/release/isp-checker], OUT [a new temp dir].
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=ispc-tbench
CLIENT_NS=$PREFIX-c
DEST=10.99.4.2

REPEATS=${REPEATS:-3}
ROUNDS=${ROUNDS:-50}
DELAY_MS=${DELAY_MS:-13}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}

die() { echo "hop-accuracy: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in tcpdump python3 ip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install tcpdump python3 iproute2)"
done
[[ -x $ISP_CHECKER ]] ||
    die "no CLI at $ISP_CHECKER; build it: bash $ROOT/scripts/build-release.sh, or set ISP_CHECKER"
[[ $REPEATS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "REPEATS and ROUNDS must be positive integers"

OUT=${OUT:-$(mktemp -d /tmp/ispc-hop-accuracy.XXXXXX)}
mkdir -p "$OUT"
TCPDUMP_PID=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $TCPDUMP_PID ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
    fi
    bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_capture() { # dir
    local dir=$1
    # adapter_unsynced is refused on veth; tcpdump then keeps the kernel's software timestamp
    # (stderr records which was used).
    ip netns exec "$CLIENT_NS" tcpdump -i right -j adapter_unsynced --time-stamp-precision=nano \
        --immediate-mode -U -Z root -n -w "$dir/capture.pcap" 'udp or icmp' 2>"$dir/tcpdump.err" &
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
    sleep 0.3
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
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
    echo "isp_checker=$ISP_CHECKER"
    echo "isp_checker_built=$(date -u -r "$ISP_CHECKER" +%Y-%m-%dT%H:%M:%SZ)"
    echo "source_revision=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "rounds=$ROUNDS repeats=$REPEATS delay_ms=$DELAY_MS dest=$DEST"
} >"$OUT/environment.txt"

ip netns exec "$CLIENT_NS" "$ISP_CHECKER" trace "$DEST" -M udp >/dev/null # warm-up

for ((r = 1; r <= REPEATS; r++)); do
    for variant in capture no-capture; do
        dir=$OUT/rep$r-$variant
        mkdir -p "$dir"
        extra=(--capture)
        [[ $variant == no-capture ]] && extra=(--no-capture)
        start_capture "$dir"
        head -1 /proc/stat >"$dir/cpu.txt"
        ip netns exec "$CLIENT_NS" "$ISP_CHECKER" trace "$DEST" -c "$ROUNDS" -M udp --json "${extra[@]}" \
            >"$dir/isp-checker.json" 2>"$dir/isp-checker.err" || note "isp-checker exited $? (see $dir/isp-checker.err)"
        head -1 /proc/stat >>"$dir/cpu.txt"
        stop_capture
        note "repeat $r $variant done ($dir)"
    done
done
bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
note "measured in $(($(date +%s) - START)) s; analysing"

python3 "$HERE/analyze_hops.py" "$OUT"
echo
echo "raw numbers: $OUT/results.json (captures and tool outputs under $OUT)"
