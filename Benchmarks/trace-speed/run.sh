#!/usr/bin/env bash
# Traceroute speed: wall time of one full trace, isp-checker against traceroute, mtr and scamper,
# on one lab path in one run. See docs/benchmarks.md ("Traceroute speed and hop accuracy").
#
#   sudo bash Benchmarks/trace-speed/run.sh                       # realistic lab (the default)
#   sudo LAB_MODE=idealised bash Benchmarks/trace-speed/run.sh    # the old idealised lab
#
# Lab mode (LAB_MODE): `realistic` (default) builds `lab.sh up --realistic`: every namespace keeps
# the kernel's ICMP rate limits (per destination: a burst of 6, then 1 error a second) and veth
# checksum offload stays on, as on real hosts and in containers. `idealised` is `lab.sh up`: no
# ICMP limits, offload off. The mode is recorded in environment.txt and in the printed results.
#
# isp-checker is timed as a user runs it: the plain default command `isp-checker trace DEST`
# (UDP, -W 1, text output, socket timestamps), a fresh process each time. Each tool name has its
# own empty $XDG_CACHE_HOME at the start of the run, so the first trace is cold and later ones
# read the path length the earlier ones wrote (as when a user repeats the command);
# `ours-udp-cold`/`ours-icmp-cold` (--no-path-cache) are cold every time, and
# `ours-udp-capture` times with the pcap capture (--capture). Its in-library time is the
# "in N ms" of the text output (duration_ms).
#
# Run order (ORDER). Under the kernel's ICMP limits every tool's probes spend the routers' and the
# destination's shared per-source budget, so the order decides what each run meets:
#   grouped (default in realistic mode): each tool's REPEATS runs back to back, as a user repeats
#     one command, after REST_S [7] s without probes (a Linux bucket of 6 refills at 1 a second),
#     so each tool starts from full budgets and then meets only what its own runs left;
#   interleaved (default in idealised mode, the order of the older results): every tool once per
#     repeat, in a fixed order, with no rest: a run meets what the other tools just spent.
# GAP_S [0] seconds of sleep between two runs (0 = back to back).
#
# Needs: root, lab/lab.sh, the release CLI (scripts/build-release.sh),
# traceroute (2.1, Debian), mtr (mtr-tiny), scamper, tcpdump, python3 (standard library only), cc
# (measure.c, compiled into OUT). Every packet stays inside the lab's namespaces (prefix
# ispc-tbench, or LAB_PREFIX) or on their loopback; the lab is torn down on exit, whatever happens.
#
# Scenarios (lab: client - r1 - r2 - r3 - dest 10.99.4.2):
#   a  no added delay
#   b  13 ms each way on r2's left link (26 ms path RTT)
#   c  b, and r2 silent (sends no ICMP errors): every tool has to give up on hop 2
# In each scenario every tool runs once per repeat, in a fixed order, REPEATS times. Each run is
# measured inside the client namespace by measure.c, which forks and waits for the tool (so
# neither `ip netns exec` nor a shell is counted): process wall time (CLOCK_REALTIME around the
# fork and the wait), and the tool's own CPU time (user + system) and peak RSS from wait4(), to
# the microsecond (until 2026-12-06 the CPU came from bash's `times`, to the millisecond).
# isp-checker also reports its in-library time (duration_ms). Scenario a ends with a table of
# whole-process cost (CPU, wall, peak RSS) of `trace` against `traceroute -n` and of
# `trace -M icmp` against `traceroute -n -I`, medians of the repeats, with the ratios and issue
# 17's goals (CPU ≤ 3 ×, wall ≤ 1.0 ×, RSS ≤ 16 MiB). A tcpdump on the client's interface records every probe and answer:
# it gives each run's on-wire span (first probe to last answer), the time from exec to the
# first probe, and how many probes reached the destination (IP TTL >= its distance, 4).
#
# Environment knobs (defaults in brackets): REPEATS [7], SCAMPER_DEFAULT_REPEATS [1] (scamper
# with its default 5 s wait and 2 attempts in scenario c: 10 s a run), DELAY_MS [13],
# ISP_CHECKER [.build/release/isp-checker], OUT [a new temp dir], LAB_MODE [realistic],
# ORDER [grouped if realistic, else interleaved], REST_S [7 if grouped, else 0], GAP_S [0],
# SCENARIOS ["a b c"], LAB_PREFIX [ispc-tbench] (the lab's namespaces: give a run of your own a
# prefix of its own when another lab may be up).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=${LAB_PREFIX:-ispc-tbench}
CLIENT_NS=$PREFIX-c
DEST=10.99.4.2 # lab with 3 routers: the destination is 10.99.(3+1).2

# ---------------------------------------------------------------- inside the client namespace
# `run.sh --inner SCENARIO DIR REPEATS SLOW_REPEATS BIN ORDER GAP_S REST_S MEASURE` runs the tools of one scenario. It
# is started by the outer script under `ip netns exec`; it sends nothing outside the namespace.

tools_of() { # scenario -> tool names, in run order
    case $1 in
        a) echo ours-udp ours-icmp traceroute-udp traceroute-icmp mtr scamper-udp-paris scamper-icmp-paris \
                ours-udp-cold ours-udp-capture startup-version startup-ping-loopback ;;
        b) echo ours-udp ours-icmp ours-udp-cold ours-icmp-cold ours-udp-capture traceroute-udp traceroute-icmp \
                mtr scamper-udp-paris scamper-icmp-paris ;;
        c) echo ours-udp ours-icmp traceroute-udp-w1 traceroute-icmp-w1 traceroute-udp traceroute-icmp mtr \
                scamper-udp-paris-w1 scamper-icmp-paris-w1 scamper-udp-paris scamper-icmp-paris ;;
    esac
}

slow_tool() { [[ $2 == c && ($1 == scamper-udp-paris || $1 == scamper-icmp-paris) ]]; }

tool_command() { # name bin -> the command in the array CMD
    local bin=$2
    case $1 in
        # The plain default command (UDP, -W 1, text); its last line gives the trace's duration.
        ours-udp) CMD=("$bin" trace "$DEST") ;;
        ours-icmp) CMD=("$bin" trace "$DEST" -M icmp) ;;
        ours-udp-cold) CMD=("$bin" trace "$DEST" --no-path-cache) ;;
        ours-icmp-cold) CMD=("$bin" trace "$DEST" -M icmp --no-path-cache) ;;
        ours-udp-capture) CMD=("$bin" trace "$DEST" --capture) ;;
        traceroute-udp) CMD=(traceroute -n "$DEST") ;;
        traceroute-icmp) CMD=(traceroute -n -I "$DEST") ;;
        traceroute-udp-w1) CMD=(traceroute -n -w 1 "$DEST") ;;
        traceroute-icmp-w1) CMD=(traceroute -n -I -w 1 "$DEST") ;;
        mtr) CMD=(mtr -n -r -c 1 "$DEST") ;;
        scamper-udp-paris) CMD=(scamper -O text -c "trace -P udp-paris" -i "$DEST") ;;
        scamper-icmp-paris) CMD=(scamper -O text -c "trace -P icmp-paris" -i "$DEST") ;;
        scamper-udp-paris-w1) CMD=(scamper -O text -c "trace -P udp-paris -w 1 -q 1" -i "$DEST") ;;
        scamper-icmp-paris-w1) CMD=(scamper -O text -c "trace -P icmp-paris -w 1 -q 1" -i "$DEST") ;;
        startup-version) CMD=("$bin" --version) ;;
        startup-ping-loopback) CMD=("$bin" ping 127.0.0.1 -c 1 -i 0) ;;
        *) echo "unknown tool $1" >&2; return 2 ;;
    esac
}

inner() {
    local scenario=$1 dir=$2 repeats=$3 slow_repeats=$4 bin=$5 order=$6 gap=$7 rest=$8 measure=$9 r name
    one_run() { # name repeat
        local name=$1 r=$2 line start end rc cpu_us rss_kib
        if slow_tool "$name" "$scenario" && ((r > slow_repeats)); then return 0; fi
        if [[ $gap != 0 && $r -gt 1 ]]; then sleep "$gap"; fi
        # Each tool's own path-length file (isp-checker trace keeps one in $XDG_CACHE_HOME): its
        # first run starts cold, later runs know the distance, as for a user repeating it.
        export XDG_CACHE_HOME=$dir/cache-$name
        # measure.c forks and waits for the tool: CLOCK_REALTIME (the clock of pcap stamps)
        # around it, and the tool's own CPU time and peak RSS from wait4(), to the microsecond.
        tool_command "$name" "$bin" || return 1
        line=$("$measure" "$dir/$name.$r.out" "$dir/$name.$r.err" "${CMD[@]}")
        read -r start end rc cpu_us rss_kib <<<"$line"
        # Fields: tool repeat start_us end_us rc cpu_ms cpu_us maxrss_kib (cpu_ms for older readers).
        echo "$name $r $start $end $rc $(((cpu_us + 500) / 1000)) $cpu_us $rss_kib" >>"$dir/windows.txt"
    }
    if [[ $order == grouped ]]; then
        for name in $(tools_of "$scenario"); do
            if [[ $rest != 0 ]]; then sleep "$rest"; fi # every ICMP budget full again
            for ((r = 1; r <= repeats; r++)); do one_run "$name" "$r"; done
        done
    else
        for ((r = 1; r <= repeats; r++)); do
            for name in $(tools_of "$scenario"); do one_run "$name" "$r"; done
        done
    fi
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
LAB_MODE=${LAB_MODE:-realistic}
if [[ ${LAB_MODE} == realistic ]]; then ORDER=${ORDER:-grouped}; else ORDER=${ORDER:-interleaved}; fi
if [[ ${ORDER} == grouped ]]; then REST_S=${REST_S:-7}; else REST_S=${REST_S:-0}; fi
GAP_S=${GAP_S:-0}
SCENARIOS=${SCENARIOS:-a b c}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}

die() { echo "trace-speed: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in tcpdump traceroute mtr scamper python3 ip cc; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install tcpdump traceroute mtr-tiny scamper python3 iproute2 gcc)"
done
[[ -x $ISP_CHECKER ]] ||
    die "no CLI at $ISP_CHECKER; build it: bash $ROOT/scripts/build-release.sh, or set ISP_CHECKER"
[[ $REPEATS =~ ^[1-9][0-9]*$ && $SCAMPER_DEFAULT_REPEATS =~ ^[0-9]+$ ]] ||
    die "REPEATS must be a positive integer, SCAMPER_DEFAULT_REPEATS a non-negative one"
case $LAB_MODE in
    realistic) LAB_UP_FLAGS=(--realistic) ;;
    idealised) LAB_UP_FLAGS=() ;;
    *) die "LAB_MODE must be realistic or idealised, got '$LAB_MODE'" ;;
esac
[[ $ORDER == interleaved || $ORDER == grouped ]] || die "ORDER must be interleaved or grouped, got '$ORDER'"
[[ $GAP_S =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "GAP_S must be a number of seconds >= 0, got '$GAP_S'"
[[ $REST_S =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "REST_S must be a number of seconds >= 0, got '$REST_S'"
for s in $SCENARIOS; do [[ $s == a || $s == b || $s == c ]] || die "SCENARIOS: a, b and/or c, got '$s'"; done

OUT=${OUT:-$(mktemp -d /tmp/ispc-trace-speed.XXXXXX)}
mkdir -p "$OUT"
cc -O2 -Wall -Wextra -o "$OUT/measure" "$HERE/measure.c" || die "could not compile $HERE/measure.c"
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
    ip netns exec "$CLIENT_NS" bash "$HERE/run.sh" --inner "$1" "$dir" "$REPEATS" "$SCAMPER_DEFAULT_REPEATS" "$ISP_CHECKER" \
        "$ORDER" "$GAP_S" "$REST_S" "$OUT/measure"
    head -1 /proc/stat >>"$dir/cpu.txt"
    cat /proc/loadavg >>"$dir/loadavg.txt"
    stop_capture
    note "scenario $1 done ($dir)"
}

START=$(date +%s)
note "lab: 3 routers (prefix $PREFIX), $LAB_MODE mode"
bash "$LAB" up --prefix "$PREFIX" --routers 3 "${LAB_UP_FLAGS[@]}" >/dev/null
[[ $(bash "$LAB" mode --prefix "$PREFIX") == "$LAB_MODE" ]] || die "the lab is not in $LAB_MODE mode"

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
    echo "lab_mode=$LAB_MODE"
    echo "order=$ORDER"
    echo "gap_s=$GAP_S"
    echo "rest_s=$REST_S"
    echo "scenarios=$SCENARIOS"
    echo "dest_icmp=$(ip netns exec "$PREFIX-d" sysctl -n net.ipv4.icmp_ratelimit net.ipv4.icmp_ratemask \
        net.ipv4.icmp_msgs_per_sec net.ipv4.icmp_msgs_burst | paste -sd' ') (dest: ratelimit ratemask msgs_per_sec msgs_burst)"
    echo "client_offload=$(ip netns exec "$CLIENT_NS" ethtool -k right | awk '/^tx-checksumming:/ {print $2}')"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "uptime_start=$(uptime)"
    echo "other_benchmarks=$(pgrep -fc 'Benchmarks/diagnosis-accuracy' || true) diagnosis-accuracy processes"
} >"$OUT/environment.txt"

# Warm-up (page cache of every binary, neighbour caches); not measured. Its answers come out of
# the same ICMP budgets as the runs (realistic mode): 2 s of rest then refill 2 tokens.
ip netns exec "$CLIENT_NS" "$ISP_CHECKER" trace "$DEST" >/dev/null || true
ip netns exec "$CLIENT_NS" traceroute -n "$DEST" >/dev/null
ip netns exec "$CLIENT_NS" scamper -O text -c "trace -P icmp-paris" -i "$DEST" >/dev/null
mtr --version >/dev/null
sleep 2

wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }
if wants a; then run_scenario a; fi
bash "$LAB" delay --prefix "$PREFIX" --node r2 --side left --ms "$DELAY_MS" >/dev/null
if wants b; then run_scenario b; fi
bash "$LAB" silent --prefix "$PREFIX" --node r2 >/dev/null
if wants c; then run_scenario c; fi
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/environment.txt"
bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true
note "measured in $(($(date +%s) - START)) s; analysing"

python3 "$HERE/analyze_speed.py" "$OUT"
echo
echo "raw numbers: $OUT/results.json (captures and tool outputs under $OUT)"
