#!/usr/bin/env bash
# Diagnosis accuracy: how often `isp-checker run` names the right component and hop, in the
# realistic network lab, over a matrix of faults (Benchmarks/diagnosis-accuracy/README.md).
#
#   sudo bash Benchmarks/diagnosis-accuracy/run.sh [options]
#
#   --runs N          runs per scenario (default 5)
#   --quick           1 run per scenario, no pause (development)
#   --only REGEX      only scenarios whose name matches (python re.search), e.g. 'healthy|loss20-r3'
#   --v6-subset SEL   IPv6 scenarios: default (scenarios.py V6_DEFAULT), none, all, or a regex
#   --pairs all|sample  every loss + rate-limit pair (default), or adjacent + farthest only
#   --jobs J          labs built and checked in parallel under distinct prefixes (default 1)
#   --pause S         seconds between two runs of one scenario (default 1)
#   --out DIR         where results go (default a new /tmp/ispc-diag-accuracy.XXXXXX)
#   --run-args "..."  extra arguments for every `isp-checker run` (default none: the CLI defaults)
#   --write-docs      replace the "## Diagnosis accuracy" section of docs/benchmarks.md
#   --idealised       build the lab without --realistic (for comparison only)
#
# Needs: root, lab/lab.sh, nftables, dnsmasq (DNS scenarios), python3 (standard library only),
# the release CLI (ISPC_BIN, default .build/release/isp-checker; built if missing).
#
# Network safety: every probe runs inside the client namespace of a lab this script built
# (`ip netns exec PREFIX-c ...`) toward that lab's destination (10.99.5.2 / fd00:99:5::2).
# Every lab is torn down on every exit path (EXIT, INT, TERM).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB=$ROOT/lab/lab.sh
ROUTERS=4
DEST4=10.99.5.2
DEST6=fd00:99:5::2
DNS_NAME=check.lab
BULK_PORT=9000 # lab/bulk_server.py on the destination (the bufferbloat scenarios)
PREFIX_BASE=${ISPC_DIAG_PREFIX:-diagacc}   # ($ISPC_DIAG_PREFIX: two runs on one machine) not ispc*: `lab.sh down-all` (run by test suites) would tear it down mid-run

RUNS=5
QUICK=0
ONLY=
V6_SUBSET=default
PAIRS=all
JOBS=1
PAUSE=1
OUT=
RUN_ARGS=
WRITE_DOCS=0
REALISTIC=1
ORIG_ARGS=("$@")

die() { echo "diagnosis-accuracy: $*" >&2; exit 1; }
note() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --runs) RUNS=${2:?--runs needs N}; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --only) ONLY=${2:?--only needs a regex}; shift 2 ;;
    --v6-subset) V6_SUBSET=${2:?--v6-subset needs default, none, all or a regex}; shift 2 ;;
    --pairs) PAIRS=${2:?--pairs needs all or sample}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs J}; shift 2 ;;
    --pause) PAUSE=${2:?--pause needs seconds}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --run-args) RUN_ARGS=${2?--run-args needs a string}; shift 2 ;;
    --write-docs) WRITE_DOCS=1; shift ;;
    --idealised) REALISTIC=0; shift ;;
    -h | --help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
if ((QUICK)); then RUNS=1; PAUSE=0; fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ $JOBS =~ ^[1-9]$ ]] || die "--jobs must be 1..9"
[[ $PAUSE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--pause must be a number of seconds"
[[ $EUID -eq 0 ]] || die "run as root (the lab builds network namespaces): sudo bash $0"
for tool in ip nft python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install iproute2 nftables python3 coreutils)"
done

# ------------------------------------------------------------------ the binary

BIN=${ISPC_BIN:-$ROOT/.build/release/isp-checker}
if [[ ! -x $BIN ]]; then
    [[ -z ${ISPC_BIN:-} ]] || die "ISPC_BIN=$ISPC_BIN is not an executable"
    note "no CLI at $BIN: building it (scripts/build-release.sh)"
    bash "$ROOT/scripts/build-release.sh" >/dev/null ||
        die "the release build failed (someone may be mid-edit: retry, or set ISPC_BIN=.build/debug/isp-checker)"
fi
BIN=$(readlink -f "$BIN")

# ------------------------------------------------------------------ scenarios

SCEN_ARGS=(--v6-subset "$V6_SUBSET" --pairs "$PAIRS")
[[ -n $ONLY ]] && SCEN_ARGS+=(--only "$ONLY")
mapfile -t SCENARIOS < <(python3 "$HERE/scenarios.py" "${SCEN_ARGS[@]}") || die "scenarios.py failed"
((${#SCENARIOS[@]} > 0)) || die "no scenario selected"

UP_ARGS=(--routers "$ROUTERS")
if ((REALISTIC)); then
    if grep -q -- '--realistic)' "$LAB"; then
        UP_ARGS+=(--realistic)
    else
        note "WARNING: lab.sh has no --realistic yet: using the idealised lab (recorded in the results)"
        REALISTIC=0
    fi
fi

OUT=${OUT:-$(mktemp -d /tmp/ispc-diag-accuracy.XXXXXX)}
mkdir -p "$OUT"
# A private copy: others may rebuild the shared .build while this runs; every run of one
# benchmark uses the same binary.
cp "$BIN" "$OUT/isp-checker"
BIN_SHA=$(sha256sum "$BIN" | cut -c1-12)
BIN_SRC=$BIN
BIN=$OUT/isp-checker
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
printf '%s\n' "${SCENARIOS[@]}" >"$OUT/scenarios.tsv"
START_EPOCH=$(date +%s)
{
    echo "command: $0 ${ORIG_ARGS[*]}"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(uname -srm), $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
    echo "binary: $BIN_SRC (sha256 $BIN_SHA, $(date -u -r "$BIN_SRC" +%Y-%m-%dT%H:%MZ))"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- Sources CProbe CServiceProbe 2>/dev/null || echo ' (+ uncommitted changes in Sources/CProbe)')"
    echo "runs: $RUNS, jobs: $JOBS, pause: $PAUSE s, pairs: $PAIRS, v6 subset: $V6_SUBSET, run args: ${RUN_ARGS:-none}"
    echo "lab: lab.sh up ${UP_ARGS[*]}"
    echo "scenarios: ${#SCENARIOS[@]}"
} >"$OUT/meta.txt"
note "${#SCENARIOS[@]} scenario(s) x $RUNS run(s), $JOBS job(s); results in $OUT"

# ------------------------------------------------------------------ cleanup

WORKER_PIDS=()
cleanup() {
    local rc=$? pid j
    trap - EXIT INT TERM
    for pid in "${WORKER_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ((j = 1; j <= JOBS; j++)); do bash "$LAB" down --prefix "$PREFIX_BASE$j" >/dev/null 2>&1 || true; done
    if [[ ! -s $RESULTS ]]; then # interrupted: keep what was measured
        for ((j = 1; j <= JOBS; j++)); do cat "$OUT/results-$PREFIX_BASE$j.jsonl" 2>/dev/null; done >"$RESULTS"
        [[ -s $RESULTS ]] && note "interrupted; partial results in $RESULTS (analyze.py report --results $RESULTS)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'note "SIGINT received: stopping"; exit 130' INT
trap 'note "SIGTERM received: stopping"; exit 143' TERM
trap 'note "SIGHUP received: stopping"; exit 129' HUP

# ------------------------------------------------------------------ one scenario

start_dns() { # prefix
    local p=$1 run=/run/ispc-lab/$1 i
    mkdir -p "$run"
    # Authoritative for check.lab only, never forwards anywhere. lab.sh down kills it (pid
    # file in the lab's run dir, and every process of the namespace).
    ip netns exec "$p-d" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
        --bind-interfaces --listen-address="$DEST4" --except-interface=lo \
        --address="/$DNS_NAME/$DEST4" --local=/lab/ --pid-file="$run/dnsmasq.pid" \
        --user=root --log-facility=/dev/null >/dev/null 2>&1 &
    for i in $(seq 1 50); do
        ip netns exec "$p-d" ss -Hlun "sport = :53" | grep -q . && return 0
        sleep 0.1
    done
    echo "dnsmasq did not start in $p-d (apt-get install dnsmasq)" >&2
    return 1
}

apply_fault() { # prefix op...
    local p=$1
    shift
    case $1 in
    loss) bash "$LAB" loss --prefix "$p" --node "$2" --percent "$3" --dir "$4" >/dev/null ;;
    ratelimit) bash "$LAB" ratelimit --prefix "$p" --node "$2" --rate "$3/second" --burst "$4" >/dev/null ;;
    silent) bash "$LAB" silent --prefix "$p" --node "$2" >/dev/null ;;
    delay) bash "$LAB" delay --prefix "$p" --node "$2" --side left --ms "$3" >/dev/null ;;
    mtu) # mtu NODE BYTES blackhole|-
        if [[ ${4:-} == blackhole ]]; then bash "$LAB" mtu --prefix "$p" --node "$2" --mtu "$3" --blackhole >/dev/null
        else bash "$LAB" mtu --prefix "$p" --node "$2" --mtu "$3" >/dev/null; fi ;;
    nat | cgnat) bash "$LAB" "$1" --prefix "$p" --node "$2" >/dev/null ;;
    snat) bash "$LAB" stateless-nat --prefix "$p" --node "$2" >/dev/null ;;
    pathmtu) ;; # not a fault: the check runs with --path-mtu (run_scenario)
    dnsint) bash "$LAB" dns-intercept --prefix "$p" --node "$2" >/dev/null ;;
    portal) bash "$LAB" captive-portal --prefix "$p" --node "$2" >/dev/null ;;
    checkdnsint | checkportal | dual | baseline | ecmplab) ;; # ecmplab: built with --ecmp, checked without # not faults: the check's arguments (run_scenario)
    reroute) bash "$LAB" reroute --prefix "$p" --via "$2" >/dev/null ;;
    familydrop) bash "$LAB" family-drop --prefix "$p" --node "$2" --family "$3" >/dev/null ;;
    http)
        # The destination's web page, for the captive-portal check to expect.
        mkdir -p "$OUT/www-$p"
        printf 'isp-checker lab destination\n' >"$OUT/www-$p/index.html"
        ip netns exec "$p-d" python3 -m http.server 80 --bind "$DEST4" --directory "$OUT/www-$p" >/dev/null 2>&1 &
        for _ in $(seq 1 50); do
            ip netns exec "$p-d" ss -Hltn "sport = :80" | grep -q . && return 0
            sleep 0.1
        done
        echo "the destination's web server did not start in $p-d" >&2
        return 1
        ;;
    bottleneck) bash "$LAB" bottleneck --prefix "$p" --node "$2" --side right --kbit "$3" --queue-ms "$4" >/dev/null ;;
    ecmp) ;; # not a fault: the lab is built with --ecmp (build_lab) and the check runs with --ecmp
    # Not a fault: the destination's bulk server, and the check runs with --bufferbloat.
    bufferbloat) bash "$LAB" bulk-server --prefix "$p" --node d --port "$BULK_PORT" >/dev/null ;;
    udpdrop)
        # The destination drops UDP to the traceroute ports (33434 and up), IPv4 and IPv6.
        ip netns exec "$p-d" nft -f - <<'EOF'
table inet ispc_acc_udpdrop {
    chain input {
        type filter hook input priority -10; policy accept;
        udp dport >= 33434 drop
    }
}
EOF
        ;;
    dnsdown)
        # As lab/scenario.sh's dns-down: the server runs, its queries are dropped.
        ip netns exec "$p-d" nft -f - <<'EOF'
table inet ispc_acc_dns_down {
    chain input {
        type filter hook input priority -10; policy accept;
        udp dport 53 drop
        tcp dport 53 drop
    }
}
EOF
        ;;
    *) echo "unknown fault operation '$*'" >&2; return 1 ;;
    esac
}

build_lab() { # prefix faults dns -> 0 ok
    local p=$1 faults=$2 dns=$3 op
    local -a ops words
    local -a up=("${UP_ARGS[@]}")
    # r2 replaced by two parallel routers (r2a, r2b) that r1 balances flows over.
    [[ ";$faults;" == *";ecmp;"* || ";$faults;" == *";ecmplab;"* ]] && up+=(--ecmp)
    bash "$LAB" up --prefix "$p" "${up[@]}" >"$OUT/lab-$p.log" 2>&1 || return 1
    if ((dns)); then start_dns "$p" >>"$OUT/lab-$p.log" 2>&1 || return 1; fi
    [[ $faults == - ]] && return 0
    apply_faults "$p" "${faults%%;baseline;*}"
}

apply_faults() { # prefix faults: every operation, in order
    local p=$1 op
    local -a ops words
    IFS=';' read -r -a ops <<<"$2"
    for op in "${ops[@]}"; do
        read -r -a words <<<"$op"
        apply_fault "$p" "${words[@]}" >>"$OUT/lab-$p.log" 2>&1 || return 1
    done
}

run_scenario() { # prefix line
    local p=$1 line=$2 name family expected category faults dns
    IFS=$'\t' read -r name family expected category faults dns <<<"$line"
    local dest=$DEST4 mode t0 t1 lab_s run_rc r report start end
    [[ $family == 6 ]] && dest=$DEST6
    # `dual`: a name with both addresses (the lab's hosts file), so `run` checks each family.
    [[ ";$faults;" == *";dual;"* ]] && dest=dual.lab
    local -a args=(run --target "$dest")
    if ((dns)); then args+=(--resolver "$DEST4" --dns-name "$DNS_NAME"); else args+=(--no-dns); fi
    [[ ";$faults;" == *";pathmtu;"* ]] && args+=(--path-mtu)
    [[ ";$faults;" == *";checkdnsint;"* ]] && args+=(--dns-interception --dns-canary 10.99.5.9 --dns-expect "$DEST4")
    [[ ";$faults;" == *";checkportal;"* ]] &&
        args+=(--captive-portal-url "http://$DEST4/" --captive-portal-status 200 --captive-portal-body "isp-checker lab destination")
    [[ ";$faults;" == *";bufferbloat;"* ]] && args+=(--bufferbloat "$DEST4:$BULK_PORT" --bufferbloat-seconds 3)
    [[ ";$faults;" == *";ecmp;"* ]] && args+=(--ecmp)
    if [[ -n $RUN_ARGS ]]; then
        local -a extra
        read -r -a extra <<<"$RUN_ARGS"
        args+=("${extra[@]}")
    fi
    local dir=$OUT/reports/$name-v$family
    mkdir -p "$dir"
    t0=$(date +%s.%N)
    local built=0
    for _ in 1 2; do
        if build_lab "$p" "$faults" "$dns"; then built=1; break; fi
        note "$name v$family: building the lab failed (log $OUT/lab-$p.log), retrying once"
        bash "$LAB" down --prefix "$p" >/dev/null 2>&1 || true
        sleep 2
    done
    t1=$(date +%s.%N)
    lab_s=$(python3 -c "print(round($t1 - $t0, 2))")
    mode=idealised
    ((REALISTIC)) && mode=$(bash "$LAB" mode --prefix "$p" 2>/dev/null || echo unknown)
    # `baseline`: the operations before it make the lab, then one check is saved as the
    # history of every measured run, then the operations after it are the fault (a change).
    if ((built)) && [[ ";$faults;" == *";baseline;"* ]]; then
        ip netns exec "$p-c" "$BIN" "${args[@]}" --output "$dir/baseline.json" >/dev/null 2>&1 || true
        if [[ -s $dir/baseline.json ]] && apply_faults "$p" "${faults#*;baseline;}"; then
            args+=(--history "$dir/baseline.json")
        else
            note "$name v$family: the baseline run or the change after it failed"
            built=0
        fi
    fi
    for ((r = 1; r <= RUNS; r++)); do
        report=$dir/run$r.json
        rm -f "$report"
        if ((built)); then
            start=$(date +%s.%N)
            run_rc=0
            timeout --signal=INT --kill-after=10 180 \
                ip netns exec "$p-c" "$BIN" "${args[@]}" --output "$report" \
                >"$dir/run$r.out" 2>"$dir/run$r.err" || run_rc=$?
            end=$(date +%s.%N)
        else
            start=0 end=0 run_rc=-1
        fi
        python3 "$HERE/analyze.py" record --scenario "$name" --family "$family" --run "$r" \
            --expected "$expected" --category "$category" --faults "$faults" --report "$report" \
            --exit "$run_rc" --seconds "$(python3 -c "print(round($end - $start, 3))")" \
            --lab-seconds "$lab_s" --lab-mode "$mode" --stderr "$dir/run$r.err" --job "$p" \
            >>"$OUT/results-$p.jsonl" || note "$name v$family run $r: recording the result failed"
        if ((r < RUNS)) && [[ $PAUSE != 0 ]]; then sleep "$PAUSE"; fi
    done
    bash "$LAB" down --prefix "$p" >/dev/null 2>&1 || true
}

worker() { # j
    local j=$1 p=$PREFIX_BASE$1 i
    trap 'bash "$LAB" down --prefix "$p" >/dev/null 2>&1 || true' EXIT
    for ((i = j - 1; i < ${#SCENARIOS[@]}; i += JOBS)); do
        run_scenario "$p" "${SCENARIOS[$i]}"
    done
}

# Each worker in its own process group (set -m), so that cleanup can stop it with everything
# it started (lab.sh, timeout, the check) before the labs are torn down.
set -m
for ((j = 1; j <= JOBS; j++)); do
    : >"$OUT/results-$PREFIX_BASE$j.jsonl"
    worker "$j" &
    WORKER_PIDS+=($!)
done
set +m
FAILED=0
for pid in "${WORKER_PIDS[@]}"; do wait "$pid" || FAILED=1; done
WORKER_PIDS=()
((FAILED == 0)) || note "a worker failed; the results so far are analysed"

for ((j = 1; j <= JOBS; j++)); do cat "$OUT/results-$PREFIX_BASE$j.jsonl"; done >"$RESULTS"
echo "wall: $(($(date +%s) - START_EPOCH)) s" >>"$OUT/meta.txt"
note "done in $(($(date +%s) - START_EPOCH)) s; raw results: $RESULTS"

ANALYZE=(python3 "$HERE/analyze.py" report --results "$RESULTS" --meta "$OUT/meta.txt" --markdown "$OUT/section.md"
    --scenarios "$OUT/scenarios.tsv")
((WRITE_DOCS)) && ANALYZE+=(--write-docs "$ROOT/docs/benchmarks.md")
"${ANALYZE[@]}"
