#!/usr/bin/env bash
# Traceroute speed: wall time of one full trace, isp-checker against traceroute, mtr and scamper,
# on one lab path in one run. See docs/benchmarks.md ("Traceroute speed and hop accuracy").
#
#   sudo bash Benchmarks/trace-speed/run.sh
#
# Needs: root, lab/lab.sh, the release CLI (swift build -c release --product isp-checker),
# traceroute (2.1, Debian), mtr (mtr-tiny), scamper, tcpdump, python3 (standard library only).
# Every packet stays inside the lab's namespaces (prefix ispc-tbench) or on their loopback;
# the lab is torn down on exit, whatever happens.
#
# Scenarios (lab: client - r1 - r2 - r3 - dest 10.99.4.2):
#   a  no added delay
#   b  13 ms each way on r2's left link (26 ms path RTT)
#   c  b, and r2 silent (sends no ICMP errors): every tool has to give up on hop 2
# In each scenario every tool runs once per repeat, in a fixed order, REPEATS times. Process wall
# time is taken inside the client namespace with bash's $EPOCHREALTIME around the command (so
# `ip netns exec` itself is not counted). isp-checker also reports its in-library time
# (durationMilliseconds). A tcpdump on the client's interface records every probe and answer:
# it gives each run's on-wire span (first probe to last answer) and the time from exec to the
# first probe.
#
# Environment knobs (defaults in brackets): REPEATS [7], SCAMPER_DEFAULT_REPEATS [1] (scamper
# with its default 5 s wait and 2 attempts in scenario c: 10 s a run), DELAY_MS [13],
# ISP_CHECKER [.build/release/isp-checker], OUT [a new temp dir].
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=ispc-tbench
CLIENT_NS=$PREFIX-c
DEST=10.99.4.2 # lab with 3 routers: the destination is 10.99.(3+1).2

# ---------------------------------------------------------------- inside the client namespace
# `run.sh --inner SCENARIO DIR REPEATS SLOW_REPEATS BIN` runs the tools of one scenario. It is
# started by the outer script under `ip netns exec`; it sends nothing outside the namespace.

tools_of() { # scenario -> tool names, in run order
    case $1 in
        a) echo ours-udp ours-icmp traceroute-udp traceroute-icmp mtr scamper-udp-paris scamper-icmp-paris \
                ours-udp-no-capture startup-version startup-ping-loopback ;;
        b) echo ours-udp ours-icmp traceroute-udp traceroute-icmp mtr scamper-udp-paris scamper-icmp-paris ;;
        c) echo ours-udp ours-icmp traceroute-udp-w1 traceroute-icmp-w1 traceroute-udp traceroute-icmp mtr \
                scamper-udp-paris-w1 scamper-icmp-paris-w1 scamper-udp-paris scamper-icmp-paris ;;
    esac
}

slow_tool() { [[ $2 == c && ($1 == scamper-udp-paris || $1 == scamper-icmp-paris) ]]; }

run_tool() { # name bin
    local bin=$2
    case $1 in
        ours-udp) "$bin" trace "$DEST" -M udp -W 1 --json ;;
        ours-icmp) "$bin" trace "$DEST" -M icmp -W 1 --json ;;
        ours-udp-no-capture) "$bin" trace "$DEST" -M udp -W 1 --json --no-capture ;;
        traceroute-udp) traceroute -n "$DEST" ;;
        traceroute-icmp) traceroute -n -I "$DEST" ;;
        traceroute-udp-w1) traceroute -n -w 1 "$DEST" ;;
        traceroute-icmp-w1) traceroute -n -I -w 1 "$DEST" ;;
        mtr) mtr -n -r -c 1 "$DEST" ;;
        scamper-udp-paris) scamper -O text -c "trace -P udp-paris" -i "$DEST" ;;
        scamper-icmp-paris) scamper -O text -c "trace -P icmp-paris" -i "$DEST" ;;
        scamper-udp-paris-w1) scamper -O text -c "trace -P udp-paris -w 1 -q 1" -i "$DEST" ;;
        scamper-icmp-paris-w1) scamper -O text -c "trace -P icmp-paris -w 1 -q 1" -i "$DEST" ;;
        startup-version) "$bin" --version ;;
        startup-ping-loopback) "$bin" ping 127.0.0.1 -c 1 -i 0 ;;
        *) echo "unknown tool $1" >&2; return 2 ;;
    esac
}

inner() {
    local scenario=$1 dir=$2 repeats=$3 slow_repeats=$4 bin=$5 r name t0 t1 rc
    for ((r = 1; r <= repeats; r++)); do
        for name in $(tools_of "$scenario"); do
            if slow_tool "$name" "$scenario" && ((r > slow_repeats)); then continue; fi
            rc=0
            t0=$EPOCHREALTIME
            run_tool "$name" "$bin" >"$dir/$name.$r.out" 2>"$dir/$name.$r.err" || rc=$?
            t1=$EPOCHREALTIME
            # EPOCHREALTIME is "seconds.microseconds" of CLOCK_REALTIME, the clock of pcap stamps.
            echo "$name $r ${t0/./} ${t1/./} $rc" >>"$dir/windows.txt"
        done
    done
}

if [[ ${1:-} == --inner ]]; then
    shift
    inner "$@"
    exit 0
fi

# ------------------------------------------------------------------------------ outer script

REPEATS=${REPEATS:-7}
SCAMPER_DEFAULT_REPEATS=${SCAMPER_DEFAULT_REPEATS:-1}
DELAY_MS=${DELAY_MS:-13}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}

die() { echo "trace-speed: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in tcpdump traceroute mtr scamper python3 ip; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install tcpdump traceroute mtr-tiny scamper python3 iproute2)"
done
[[ -x $ISP_CHECKER ]] ||
    die "no CLI at $ISP_CHECKER; build it: (cd $ROOT && swift build -c release --product isp-checker), or set ISP_CHECKER"
[[ $REPEATS =~ ^[1-9][0-9]*$ && $SCAMPER_DEFAULT_REPEATS =~ ^[0-9]+$ ]] ||
    die "REPEATS must be a positive integer, SCAMPER_DEFAULT_REPEATS a non-negative one"

OUT=${OUT:-$(mktemp -d /tmp/ispc-trace-speed.XXXXXX)}
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
    ip netns exec "$CLIENT_NS" tcpdump -i right --time-stamp-precision=nano --immediate-mode -U -Z root -n \
        -w "$dir/capture.pcap" 'udp or icmp' 2>"$dir/tcpdump.err" &
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
    sleep 0.2
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
}

run_scenario() { # scenario
    local dir=$OUT/$1
    mkdir -p "$dir"
    : >"$dir/windows.txt"
    start_capture "$dir"
    head -1 /proc/stat >"$dir/cpu.txt"
    cat /proc/loadavg >"$dir/loadavg.txt"
    ip netns exec "$CLIENT_NS" bash "$HERE/run.sh" --inner "$1" "$dir" "$REPEATS" "$SCAMPER_DEFAULT_REPEATS" "$ISP_CHECKER"
    head -1 /proc/stat >>"$dir/cpu.txt"
    cat /proc/loadavg >>"$dir/loadavg.txt"
    stop_capture
    note "scenario $1 done ($dir)"
}

START=$(date +%s)
note "lab: 3 routers (prefix $PREFIX)"
bash "$LAB" up --prefix "$PREFIX" --routers 3 >/dev/null

{
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "kernel=$(uname -r)"
    echo "cpus=$(nproc)"
    echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "tcpdump=$(tcpdump --version 2>&1 | head -1)"
    echo "traceroute=$(traceroute --version 2>&1 | head -1)"
    echo "mtr=$(mtr --version 2>&1 | head -1)"
    echo "scamper=$(scamper -v 2>&1 | head -1)"
    echo "isp_checker=$ISP_CHECKER"
    echo "isp_checker_version=$("$ISP_CHECKER" --version 2>&1 | head -1)"
    echo "isp_checker_built=$(date -u -r "$ISP_CHECKER" +%Y-%m-%dT%H:%M:%SZ)"
    echo "source_revision=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "repeats=$REPEATS scamper_default_repeats=$SCAMPER_DEFAULT_REPEATS delay_ms=$DELAY_MS dest=$DEST"
} >"$OUT/environment.txt"

# Warm-up (page cache of every binary, neighbour caches); not measured.
ip netns exec "$CLIENT_NS" "$ISP_CHECKER" trace "$DEST" -M udp -W 1 >/dev/null
ip netns exec "$CLIENT_NS" traceroute -n "$DEST" >/dev/null
ip netns exec "$CLIENT_NS" scamper -O text -c "trace -P icmp-paris" -i "$DEST" >/dev/null
mtr --version >/dev/null

run_scenario a
bash "$LAB" delay --prefix "$PREFIX" --node r2 --side left --ms "$DELAY_MS" >/dev/null
run_scenario b
bash "$LAB" silent --prefix "$PREFIX" --node r2 >/dev/null
run_scenario c
bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
note "measured in $(($(date +%s) - START)) s; analysing"

python3 "$HERE/analyze_speed.py" "$OUT"
echo
echo "raw numbers: $OUT/results.json (captures and tool outputs under $OUT)"
