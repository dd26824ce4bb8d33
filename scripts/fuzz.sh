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
# linked against all of its C target. Seeds: CProbe/fuzz/corpus (captured frames) plus the
# packets the trace unit tests write. Targets run two at a time (one per core). Inputs that
# crash are kept in .build/fuzz-crashes/.
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
    libs=(-lpcap -lcap)
    [[ $module == CServiceProbe ]] && libs=(-lldns -lcurl -lssl -lcrypto -lpthread)
    "$CLANG" "${FLAGS[@]}" -I"$module/include" -I"$module" "$module"/*.c "$source" "${libs[@]}" -o "$work/$name"
    mkdir -p "$work/$name.corpus"
    targets+=("$name")
done

run_target() {
    local name=$1 seeds=()
    [[ -d CProbe/fuzz/corpus ]] && seeds+=(CProbe/fuzz/corpus)
    [[ $name == fuzz_trace_parse && -d $work/trace-seeds ]] && seeds+=("$work/trace-seeds")
    if "$work/$name" -runs="$RUNS" -seed="$SEED" -max_len=2048 -print_final_stats=1 -artifact_prefix="$work/$name-" \
        "$work/$name.corpus" "${seeds[@]}" >"$work/$name.log" 2>&1; then
        echo ok >"$work/$name.status"
    else
        echo failed >"$work/$name.status"
    fi
}

echo "== fuzzing ${#targets[@]} targets, $RUNS executions each, seed $SEED, $JOBS at a time"
running=0
for name in "${targets[@]}"; do
    run_target "$name" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-22s %14s %10s %8s %8s %s\n' target executions exec/s corpus rss_mb result
for name in "${targets[@]}"; do
    log=$work/$name.log
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    printf '%-22s %14s %10s %8s %8s %s\n' "$name" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
        "$(ls "$work/$name.corpus" | wc -l)" "$(stat peak_rss_mb)" "$(cat "$work/$name.status")"
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
