#!/usr/bin/env bash
# c-checks-trace.sh — checks for the traceroute part of CProbe (cprobe_trace.h):
#   1. gcc -Wall -Wextra -Werror on every trace source, the unit tests and the fuzz target;
#   2. the unit tests under ASan + UBSan (as root they also send real packets, to
#      127.0.0.1 and ::1 only, inside a private network namespace they create);
#   3. the libFuzzer target for CPROBE_FUZZ_SECONDS (default 60), seeded with the
#      unit tests' packets, in a temporary directory.
# Usage: scripts/c-checks-trace.sh      Environment: CPROBE_FUZZ_SECONDS, CLANG, CC.
set -euo pipefail

cd "$(dirname "$0")/.."
CLANG=${CLANG:-/opt/swift/usr/bin/clang}
GCC=${CC:-gcc}
FUZZ_SECONDS=${CPROBE_FUZZ_SECONDS:-60}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

INCLUDES=(-ICProbe/include -ICProbe)
TRACE_SOURCES=(CProbe/trace_build.c CProbe/trace_parse.c CProbe/trace_socket.c)
# The rest of CProbe, which the trace sources call (checksums, socket helpers).
DEPENDENCIES=()
for f in CProbe/*.c; do
    case "$f" in CProbe/trace_*.c) ;; *) DEPENDENCIES+=("$f") ;; esac
done
SANITIZE=(-std=gnu11 -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined
          -fno-sanitize-recover=all -fuse-ld=lld)

echo "== gcc -Wall -Wextra -Werror"
for f in "${TRACE_SOURCES[@]}" CProbe/fuzz/trace_unit_tests.c CProbe/fuzz/fuzz_trace_parse.c; do
    "$GCC" -std=gnu11 -Wall -Wextra -Werror -O2 "${INCLUDES[@]}" -c "$f" -o "$work/gcc-$(basename "$f").o"
done
echo "ok"

echo "== unit tests (clang, ASan + UBSan)"
"$CLANG" "${SANITIZE[@]}" "${INCLUDES[@]}" "${TRACE_SOURCES[@]}" "${DEPENDENCIES[@]}" \
    CProbe/fuzz/trace_unit_tests.c -lpcap -lcap -o "$work/trace_unit_tests"
"$work/trace_unit_tests" --corpus "$work/corpus"

if [[ $FUZZ_SECONDS == 0 ]]; then
    echo "fuzzing left to scripts/fuzz.sh"
    exit 0
fi
echo "== fuzz_trace_parse for ${FUZZ_SECONDS}s"
"$CLANG" "${SANITIZE[@]}" -fsanitize=fuzzer "${INCLUDES[@]}" "${TRACE_SOURCES[@]}" \
    "${DEPENDENCIES[@]}" CProbe/fuzz/fuzz_trace_parse.c -lpcap -lcap -o "$work/fuzz_trace_parse"
if ! (cd "$work" && ./fuzz_trace_parse -max_len=2048 -max_total_time="$FUZZ_SECONDS" \
        -print_final_stats=1 corpus >fuzz.log 2>&1); then
    tail -n 60 "$work/fuzz.log"
    # Keep the crashing inputs: the temporary directory goes away on exit.
    mkdir -p .build/fuzz-crashes
    cp "$work"/crash-* "$work"/timeout-* "$work"/oom-* .build/fuzz-crashes/ 2>/dev/null || true
    echo "fuzz FAILED (inputs kept in .build/fuzz-crashes)"
    exit 1
fi
grep -E '^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/fuzz.log"
echo "fuzz ok"
