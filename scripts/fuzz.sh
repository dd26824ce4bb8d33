#!/usr/bin/env bash
# fuzz.sh — runs every libFuzzer target of the C code for a fixed number of executions, under
# ASan + UBSan, and prints the execution count of each. A crash, leak or UB report fails it.
#
#   scripts/fuzz.sh                 10,000,000 executions per target (what docs/fuzzing.md shows)
#   FUZZ_RUNS=200000 scripts/fuzz.sh
#   FUZZ_SEED=0 FUZZ_RUNS=50000000 scripts/fuzz.sh   exploring: a random seed each run
#
# The seed is fixed (FUZZ_SEED, default 1) so that a run is the same at the same commit: a
# failure in CI can be rerun from its commit, and a clean-clone run predicts CI's. New inputs
# come from exploring runs with FUZZ_SEED=0; what they find becomes a unit test.
#
# Targets: every CProbe/fuzz/fuzz_*.c (and CServiceProbe/fuzz/fuzz_*.c when present), each
# linked against all of its C target. Seeds: see run_target. Targets run two at a time (one
# per core). Inputs that crash are kept in .build/fuzz-crashes/. FUZZ_TARGETS="a b" runs
# only those.
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG=${CLANG:-/opt/swift/usr/bin/clang}
RUNS=${FUZZ_RUNS:-10000000}
SEED=${FUZZ_SEED:-1}
JOBS=${FUZZ_PARALLEL:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
FLAGS=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -fuse-ld=lld)

# Seeds for the trace parser: the unit tests write every packet they build or receive.
"$CLANG" -std=gnu11 -g -O1 -fuse-ld=lld -ICProbe/include -ICProbe CProbe/*.c CProbe/fuzz/trace_unit_tests.c \
    -lpcap -lcap -o "$work/trace_unit_tests"
"$work/trace_unit_tests" --corpus "$work/trace-seeds" >/dev/null 2>&1 || true

targets=()
for source in CProbe/fuzz/fuzz_*.c CServiceProbe/fuzz/fuzz_*.c; do
    [[ -f $source ]] || continue
    module=${source%%/*}
    name=$(basename "$source" .c)
    [[ -z ${FUZZ_TARGETS:-} || " $FUZZ_TARGETS " == *" $name "* ]] || continue
    libs=(-lpcap -lcap)
    [[ $module == CServiceProbe ]] && libs=(-lldns -lcurl -lssl -lcrypto -lpthread)
    "$CLANG" "${FLAGS[@]}" -I"$module/include" -I"$module" "$module"/*.c "$source" "${libs[@]}" -o "$work/$name"
    targets+=("$name")
done

# Per run: its seeds, the largest input it is given and its count. A run is a target, or
# target@large for a second run of it with large inputs.
#   fuzz_capture_replay      whole pcap/pcapng files (CProbe/fuzz/corpus-capture, from
#                            make_capture_seeds.py), up to 8 kB; a tenth of FUZZ_RUNS (it opens
#                            a file per input: ~10,000 executions/s)
#   fuzz_dns_parse           real responses of a DNS server (CServiceProbe/fuzz/corpus, from
#                            make_dns_seeds.py), up to 2 kB, FUZZ_RUNS in all, as two runs of
#                            half as many (fuzz_dns_parse@2: seed + 1, a corpus of its own) that
#                            go side by side: ldns is the slowest parser (~25,000-40,000
#                            executions/s), so one run of all of them kept one core busy for
#                            minutes after the others had finished
#   fuzz_dns_parse@large     the same, up to 65,535 bytes: what a TCP answer carries (RFC 7766),
#                            1/50 of FUZZ_RUNS (~8,000 executions/s: ldns formats 60 kB answers)
#   the packet parsers       captured frames (CProbe/fuzz/corpus) + the trace unit tests' packets
run_target() {
    local run=$1 name=${1%@*} seeds=() max_len=2048 runs=$RUNS seed=$SEED
    case $run in
    fuzz_capture_replay)
        seeds+=(CProbe/fuzz/corpus-capture)
        max_len=8192
        runs=$((RUNS / 10))
        ;;
    fuzz_dns_parse | fuzz_dns_parse@2)
        seeds+=(CServiceProbe/fuzz/corpus)
        runs=$((RUNS / 2))
        [[ $run == *@2 ]] && seed=$((SEED + 1))
        ;;
    fuzz_dns_parse@large)
        seeds+=(CServiceProbe/fuzz/corpus)
        max_len=65535
        runs=$((RUNS / 50))
        ;;
    *)
        seeds+=(CProbe/fuzz/corpus)
        [[ $name == fuzz_trace_parse && -d $work/trace-seeds ]] && seeds+=("$work/trace-seeds")
        ;;
    esac
    mkdir -p "$work/$run.corpus"
    local started=$SECONDS
    if "$work/$name" -runs="$runs" -seed="$seed" -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$work/$run-" \
        "$work/$run.corpus" "${seeds[@]}" >"$work/$run.log" 2>&1; then
        echo ok >"$work/$run.status"
    else
        echo failed >"$work/$run.status"
    fi
    echo $((SECONDS - started)) >"$work/$run.seconds"
}

# The two halves of the slowest target first, so they run side by side and the short runs
# fill in after them.
runs=()
for name in "${targets[@]}"; do
    [[ $name == fuzz_dns_parse ]] && runs=("fuzz_dns_parse" "fuzz_dns_parse@2" "${runs[@]}" "fuzz_dns_parse@large") || runs+=("$name")
done

echo "== fuzzing ${#targets[@]} targets (${#runs[@]} runs), $RUNS executions each (capture replay a tenth, DNS in two halves, large DNS answers 1/50), seed $SEED, $JOBS at a time"
running=0
for name in "${runs[@]}"; do
    run_target "$name" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-22s %14s %10s %8s %8s %8s %s\n' target executions exec/s corpus rss_mb seconds result
for name in "${runs[@]}"; do
    log=$work/$name.log
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    printf '%-22s %14s %10s %8s %8s %8s %s\n' "$name" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$(ls "$work/$name.corpus" | wc -l)" "$(stat peak_rss_mb)" "$(cat "$work/$name.seconds" 2>/dev/null)" "$(cat "$work/$name.status")"
    if [[ $(cat "$work/$name.status") != ok ]]; then
        failed=1
        tail -n 40 "$log" >&2
        mkdir -p .build/fuzz-crashes
        cp "$work/$name"-* .build/fuzz-crashes/ 2>/dev/null || true
    fi
done
if ((failed)); then
    echo "fuzz.sh: a target failed (inputs kept in .build/fuzz-crashes)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, 0 crashes"
