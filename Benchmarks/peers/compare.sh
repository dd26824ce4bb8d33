#!/usr/bin/env bash
# Every peer comparison in one run: ping sweep (isp-checker sweep vs fping), then the
# traceroute speed (vs traceroute, mtr, scamper) and RTT accuracy (vs iputils ping, idle and
# with both cores busy) benchmarks, each of which prints its own ratio table.
# See docs/benchmarks.md ("Sweep vs fping").
#
#   sudo bash Benchmarks/peers/compare.sh
#
# Needs: root, lab/lab.sh, swift (builds the release CLI), fping, cc (compiles
# trace-speed/measure.c), python3, plus what the two called scripts need (scripts/install-deps.sh installs it
# all). Every packet stays inside the lab's namespaces (prefix ispc-tswpeers, and the ones the
# called scripts build); the lab is torn down on exit, whatever happens.
#
# Sweep scenarios (lab client - r1 - r2 - r3 - dest; dest answers for all of 10.77.128.0/20):
#   fast     4,096 addresses, one echo each, no added delay, at each packet rate below
#   relay    the same through a 13 ms each-way relay on r2's left link (26 ms path RTT)
#   held     4,096 addresses x 3 echoes that dest drops (lab.sh echo-drop), 2 s timeout:
#            12,288 probes in flight at once; memory per in-flight probe
#   large    65,536 addresses (dest answers 10.78.0.0/16), one echo each, unpaced: our wall
#            and loss (goal < 2 s, 0 lost); fping 5.1 cannot take 65,536 targets in one run
#            ("not enough sequence numbers"), so its row says so, and the 32,768 row compares both
#   max      32,768 addresses at each rate of MAX_RATES: the highest rate each tool sends
#            with 0 lost, and the rate it achieves (addresses / process wall)
# Start-up alone: `isp-checker --version`, VERSION_REPEATS times (wall, CPU, peak RSS from
# wait4's rusage, so with µs resolution), and the trace rows come from trace-speed/run.sh.
# fping runs as `fping -q -c N -i MS -p P -t TIMEOUT -r 0 -f FILE`; isp-checker as
# `isp-checker sweep --targets FILE -c N --rate PPS -W TIMEOUT -q`, the same 4,096 addresses,
# both inside the client namespace under trace-speed/measure.c (wall, CPU to the µs, the tool's
# own peak RSS, from wait4), alternating,
# REPEATS times each. "unpaced" is fping -i 0 against --rate 10000000.
#
# Environment knobs [defaults]: REPEATS [5], RATES ["1000 10000 unpaced"], MAX_RATES ["20000
# 50000 100000 200000 unpaced"], MAX_REPEATS [3], VERSION_REPEATS [21], SKIP_TRACE [0],
# SKIP_RTT [0], TRACE_REPEATS [5] (REPEATS of trace-speed/run.sh), RTT_REPEATS [3],
# ISP_CHECKER [.build/release/isp-checker, built when absent or BUILD=1], OUT [a temp dir].
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
PREFIX=ispc-tswpeers
CLIENT_NS=$PREFIX-c
REPEATS=${REPEATS:-5}
RATES=${RATES:-"1000 10000 unpaced"}
MAX_RATES=${MAX_RATES:-"20000 50000 100000 200000 unpaced"}
MAX_REPEATS=${MAX_REPEATS:-3}
VERSION_REPEATS=${VERSION_REPEATS:-21}
SKIP_TRACE=${SKIP_TRACE:-0}
SKIP_RTT=${SKIP_RTT:-0}
ISP_CHECKER=${ISP_CHECKER:-$ROOT/.build/release/isp-checker}
OUT=${OUT:-$(mktemp -d /tmp/ispc-peers.XXXXXX)}
mkdir -p "$OUT"

die() { echo "compare: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in fping python3 ip nft; do command -v "$tool" >/dev/null || die "$tool not found (sudo bash scripts/install-deps.sh)"; done
command -v cc >/dev/null || die "cc not found (apt-get install gcc): it compiles trace-speed/measure.c"
if [[ ${BUILD:-0} == 1 || ! -x $ISP_CHECKER ]]; then
    note "building the release CLI"
    bash "$ROOT/scripts/build-release.sh" >/dev/null
fi

cleanup() { bash "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -Wall -Wextra -o "$OUT/measure" "$ROOT/Benchmarks/trace-speed/measure.c" || die "could not compile measure.c (cc)"

TARGETS=$OUT/targets.txt
python3 -c 'print("\n".join(f"10.77.{128 + i // 256}.{i % 256}" for i in range(4096)))' >"$TARGETS"
SINGLE=$OUT/single.txt
echo 10.77.128.1 >"$SINGLE"
LARGE=$OUT/targets65536.txt
python3 -c 'print("\n".join(f"10.78.{i // 256}.{i % 256}" for i in range(65536)))' >"$LARGE"
HALF=$OUT/targets32768.txt
head -32768 "$LARGE" >"$HALF"

# One measured run: TAG TOOL ARGS... ; appends "tag tool wall user sys maxrss_kb lost peak inlib_s"
# to runs.txt (inlib_s: isp-checker's own sweep time, from engine ready to last result; "-" for fping).
# Timed by trace-speed's measure.c (fork, wait4: CPU to the microsecond, the tool's own peak
# RSS); /usr/bin/time rounds CPU to 10 ms, a tenth of a whole paced sweep's difference.
measure() {
    local tag=$1 tool=$2; shift 2
    local output=$OUT/out.$$ lost peak inlib=- line start end rc cpu rss
    line=$(ip netns exec "$CLIENT_NS" "$OUT/measure" "$output.stdout" "$output.stderr" "$@")
    read -r start end rc cpu rss <<<"$line"
    cat "$output.stdout" "$output.stderr" >"$output"
    if [[ $tool == fping ]]; then
        # -q prints one summary per target: "ADDR : xmt/rcv/%loss = S/R/L%..."
        lost=$(awk -F'[=/ ,]+' '/xmt\/rcv/ { for (i = 1; i <= NF; i++) if ($i == "%loss") { lost += $(i + 1) - $(i + 2) } } END { print lost + 0 }' "$output")
        peak=-
        # No summary line at all: fping refused the run (its message is kept for the table).
        if ! grep -q 'xmt/rcv' "$output"; then
            lost=-1
            grep -m1 -i 'error' "$output" | tr -s ' ' '_' | cut -c1-80 >"$OUT/failed.$tag.fping" || true
        fi
    else
        lost=$(sed -n 's/.* \([0-9]*\) sent, \([0-9]*\) received.*/\1 \2/p' "$output" | awk '{ print $1 - $2 }')
        peak=$(sed -n 's/.*peak \([0-9]*\) in flight.*/\1/p' "$output")
        inlib=$(sed -n 's/.* without reply, \([0-9.]*\) s, peak.*/\1/p' "$output")
        [[ -n $lost ]] || { cat "$output" >&2; die "isp-checker sweep failed"; }
    fi
    # "wall user sys maxrss" as before: the CPU time whole in the user column, 0 in the system one.
    echo "$tag $tool $(python3 -c "print(f'{($end - $start) / 1e6:.6f} {$cpu / 1e6:.6f} 0 $rss')") $lost ${peak:--} ${inlib:--}" >>"$OUT/runs.txt"
}

sweep_pair() { # TAG FPING_INTERVAL_MS OUR_RATE COUNT TIMEOUT_S FILE
    local tag=$1 interval=$2 rate=$3 count=$4 timeout=$5 file=$6 r
    local timeout_ms=$(python3 -c "print(int($timeout * 1000))")
    for ((r = 0; r < REPEATS; r++)); do
        # Alternate who goes first, so that neither always gets the warmer cache.
        if ((r % 2 == 0)); then
            measure "$tag" fping fping -q -c "$count" -i "$interval" -p 20 -t "$timeout_ms" -r 0 -f "$file"
            measure "$tag" ours "$ISP_CHECKER" sweep --targets "$file" -c "$count" --rate "$rate" -W "$timeout" -q
        else
            measure "$tag" ours "$ISP_CHECKER" sweep --targets "$file" -c "$count" --rate "$rate" -W "$timeout" -q
            measure "$tag" fping fping -q -c "$count" -i "$interval" -p 20 -t "$timeout_ms" -r 0 -f "$file"
        fi
    done
}

rate_args() { # RATE -> "fping_interval_ms our_rate"
    if [[ $1 == unpaced ]]; then echo "0 10000000"; else python3 -c "print(f'{1000 / $1:g} $1')"; fi
}

{
    echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) cpus=$(nproc)"
    echo "fping=$(fping --version 2>&1 | head -1) isp_checker=$ISP_CHECKER built $(date -u -r "$ISP_CHECKER" +%Y-%m-%dT%H:%M:%SZ)"
    echo "source_revision=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) repeats=$REPEATS"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/environment.txt" >&2

: >"$OUT/runs.txt"
note "lab up ($PREFIX)"
bash "$LAB" up --prefix "$PREFIX" --routers 3 >/dev/null
for rate in $RATES; do
    read -r interval ours <<<"$(rate_args "$rate")"
    note "sweep fast, $rate pps"
    sweep_pair "fast@$rate" "$interval" "$ours" 1 0.5 "$TARGETS"
done
note "baseline: one address (start-up cost and resident set of each tool)"
sweep_pair "one" 0 10000000 1 0.5 "$SINGLE"
note "large: 65,536 addresses, unpaced (fping 5.1 refuses 65,536 targets: its row records that)"
sweep_pair "large65536" 0 10000000 1 0.5 "$LARGE"
sweep_pair "half32768" 0 10000000 1 0.5 "$HALF"
note "max: the highest loss-free rate, 32,768 addresses"
for rate in $MAX_RATES; do
    read -r interval ours <<<"$(rate_args "$rate")"
    REPEATS=$MAX_REPEATS sweep_pair "max@$rate" "$interval" "$ours" 1 0.5 "$HALF"
done
note "held: 12,288 probes in flight"
bash "$LAB" echo-drop --prefix "$PREFIX" --node d --to 10.77.128.0/20 --drop 1 --every 1 >/dev/null
sweep_pair "held" 0 10000000 3 2 "$TARGETS"
bash "$LAB" clear --prefix "$PREFIX" --node d >/dev/null
bash "$LAB" delay --prefix "$PREFIX" --node r2 --side left --ms 13 >/dev/null
for rate in $RATES; do
    read -r interval ours <<<"$(rate_args "$rate")"
    note "sweep relay (26 ms path), $rate pps"
    sweep_pair "relay@$rate" "$interval" "$ours" 1 0.5 "$TARGETS"
done
cleanup

python3 - "$OUT/runs.txt" "$OUT" <<'PY' | tee "$OUT/sweep-summary.md"
import os, statistics, sys
out = sys.argv[2]
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
by = {}
for row in rows:
    tag, tool, wall, user, sys_, rss, lost, peak = row[:8]
    inlib = row[8] if len(row) > 8 else "-"
    by.setdefault(tag, {}).setdefault(tool, []).append(
        (float(wall), float(user) + float(sys_), int(rss), int(lost), None if peak == "-" else int(peak),
         None if inlib == "-" else float(inlib)))
med = lambda xs: statistics.median(xs)
print("\n## Sweep: isp-checker vs fping (medians of the repeats; ratio = ours / fping)\n")
print("| scenario | fping wall s | ours wall s | wall ratio | ours in-library s | in-library / fping wall | fping CPU s | ours CPU s | CPU ratio | fping RSS MiB | ours RSS MiB | fping lost | ours lost | ours peak in flight |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
summary = {}
for tag, tools in by.items():
    f, o = tools.get("fping", []), tools.get("ours", [])
    if not f or not o:
        continue
    fw, ow = med([r[0] for r in f]), med([r[0] for r in o])
    fc, oc = med([r[1] for r in f]), med([r[1] for r in o])
    fr, orss = med([r[2] for r in f]) / 1024, med([r[2] for r in o]) / 1024
    failed = [r for r in f if r[3] < 0]
    fl, ol = med([r[3] for r in f]), med([r[3] for r in o])
    if failed:
        reason = open(f"{out}/failed.{tag}.fping").read().strip().replace("_", " ") if os.path.exists(f"{out}/failed.{tag}.fping") else "no summary"
        print(f"| {tag} | fping failed ({reason}) | {med([r[0] for r in o]):.3f} | - | {med([r[5] for r in o if r[5] is not None] or [0]):.2f} | - | - | {med([r[1] for r in o]):.3f} | - | - | {med([r[2] for r in o]) / 1024:.1f} | - | {ol:g} | {med([r[4] for r in o if r[4] is not None] or [0]):g} |")
        summary[tag] = dict(ours_rss_kib=med([r[2] for r in o]), peak=0, ours_wall=med([r[0] for r in o]), ours_cpu=med([r[1] for r in o]), ours_lost=max(r[3] for r in o), fping_failed=True)
        continue
    peaks = [r[4] for r in o if r[4] is not None]
    pk = med(peaks) if peaks else 0
    summary[tag] = dict(ours_rss_kib=med([r[2] for r in o]), peak=pk, ours_wall=ow, fping_wall=fw, ours_cpu=oc, fping_cpu=fc,
                        ours_lost=max(r[3] for r in o), fping_lost=max(r[3] for r in f), fping_rss_kib=med([r[2] for r in f]))
    ratio = lambda a, b: f"{a / b:.2f}" if b > 0 else "-"
    inlibs = [r[5] for r in o if r[5] is not None]
    il = med(inlibs) if inlibs else 0
    print(f"| {tag} | {fw:.3f} | {ow:.3f} | {ratio(ow, fw)} | {il:.3f} | {ratio(il, fw)} | {fc:.4f} | {oc:.4f} | {ratio(oc, fc)} | {fr:.1f} | {orss:.1f} | {fl:g} | {ol:g} | {pk:g} |")
if "held" in summary and "one" in summary and summary["held"]["peak"]:
    extra = summary["held"]["ours_rss_kib"] - summary["one"]["ours_rss_kib"]
    print(f"\nMemory per in-flight probe (held − one address) / peak in flight: {extra:.0f} KiB / {summary['held']['peak']:g} = "
          f"{extra * 1024 / summary['held']['peak']:.0f} bytes (goal ≤ 1024); whole process: "
          f"{summary['held']['ours_rss_kib'] * 1024 / summary['held']['peak']:.0f} bytes per in-flight probe")

print("\n## Highest loss-free rate, 32,768 addresses (0 lost in every repeat; achieved = addresses / median process wall)\n")
print("| tool | highest loss-free rate asked | achieved probes/s | wall s |")
print("|---|---|---|---|")
for tool in ("fping", "ours"):
    best = None
    for tag, tools in by.items():
        if not tag.startswith("max@") or tool not in tools:
            continue
        runs = tools[tool]
        if any(r[3] != 0 for r in runs):
            continue
        wall = med([r[0] for r in runs])
        achieved = 32768 / wall if wall > 0 else 0
        if best is None or achieved > best[1]:
            best = (tag[4:], achieved, wall)
    print(f"| {tool} | {best[0] if best else 'none'} | {best[1]:,.0f} | {best[2]:.3f} |" if best else f"| {tool} | none loss-free | - | - |")

def goal(name, value, limit, fmt="{:.2f}"):
    met = value is not None and value <= limit
    shown = "-" if value is None else fmt.format(value)
    print(f"| {name} | {shown} | ≤ {fmt.format(limit)} | {'met' if met else 'MISSED'} |")
print("\n## Goals of issue 17 (sweep and footprint)\n")
print("| goal | measured | limit | |")
print("|---|---|---|---|")
fast = summary.get("fast@unpaced")
if fast:
    goal("sweep 4,096 unpaced: wall / fping", fast["ours_wall"] / fast["fping_wall"], 1.0)
    goal("sweep 4,096 unpaced: CPU / fping", fast["ours_cpu"] / fast["fping_cpu"] if fast["fping_cpu"] else None, 1.0)
    goal("sweep 4,096 unpaced: lost (worst repeat)", fast["ours_lost"], 0, "{:g}")
    goal("sweep 4,096 unpaced: peak RSS MiB", fast["ours_rss_kib"] / 1024, 16.0, "{:.1f}")
paced = summary.get("fast@1000")
if paced:
    goal("sweep 4,096 at 1,000 pps: CPU / fping", paced["ours_cpu"] / paced["fping_cpu"] if paced["fping_cpu"] else None, 1.0)
large = summary.get("large65536")
if large:
    goal("sweep 65,536 unpaced: wall s", large["ours_wall"], 2.0)
    goal("sweep 65,536 unpaced: lost (worst repeat)", large["ours_lost"], 0, "{:g}")
PY
echo "sweep raw numbers: $OUT/runs.txt" >&2

note "start-up alone: isp-checker --version, $VERSION_REPEATS runs"
# measure.c, as every sweep run: wall, CPU to the microsecond and the peak RSS of one run.
: >"$OUT/version.txt"
for ((r = 0; r < VERSION_REPEATS; r++)); do
    "$OUT/measure" /dev/null /dev/null "$ISP_CHECKER" --version >>"$OUT/version.txt"
done
python3 - "$OUT/version.txt" <<'PY' | tee "$OUT/version-summary.md"
import statistics, sys
# measure.c's line: START_US END_US EXIT_CODE CPU_US MAXRSS_KIB
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
walls = [(int(r[1]) - int(r[0])) / 1000 for r in rows]
cpus = [int(r[3]) / 1000 for r in rows]
rss = [int(r[4]) / 1024 for r in rows]
med = statistics.median
print("\n## isp-checker --version (medians of %d runs)\n" % len(rows))
print("| wall ms | CPU ms | peak RSS MiB (median, max) | goal |")
print("|---|---|---|---|")
ok = med(walls) <= 5 and med(rss) <= 12
print(f"| {med(walls):.2f} | {med(cpus):.2f} | {med(rss):.1f}, {max(rss):.1f} | ≤ 5 ms, ≤ 12 MiB: {'met' if ok else 'MISSED'} |")
PY

if [[ $SKIP_TRACE != 1 ]]; then
    note "traceroute speed (Benchmarks/trace-speed/run.sh)"
    REPEATS=${TRACE_REPEATS:-5} ISP_CHECKER=$ISP_CHECKER OUT=$OUT/trace-speed bash "$ROOT/Benchmarks/trace-speed/run.sh"
fi
if [[ $SKIP_RTT != 1 ]]; then
    note "RTT accuracy (Benchmarks/rtt-accuracy/run.sh)"
    REPEATS=${RTT_REPEATS:-3} ISP_CHECKER=$ISP_CHECKER OUT=$OUT/rtt-accuracy bash "$ROOT/Benchmarks/rtt-accuracy/run.sh"
fi
echo "all results: $OUT" >&2
