#!/usr/bin/env bash
# c-checks.sh — warnings, sanitizers, unit tests and fuzzing for the C core (CProbe/).
#
#   1. gcc -Wall -Wextra -Werror: every CProbe and fuzz source compiles warning-free.
#   2. clang with ASan+UBSan: CProbe/fuzz/unit_tests.c against CProbe/*.c, then run it
#      (the loopback socket, capture and namespace tests need root; they are skipped otherwise).
#   3. libFuzzer: CProbe/fuzz/fuzz_echo_parse.c for CPROBE_FUZZ_SECONDS (default 60) seconds,
#      seeded from CProbe/fuzz/corpus/ (read only; new inputs go to a temp dir).
# Build output goes to a temporary directory, never into the repository.
# Env: CLANG (default /opt/swift/usr/bin/clang), GCC (default gcc), CPROBE_FUZZ_SECONDS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/CProbe"
CLANG="${CLANG:-/opt/swift/usr/bin/clang}"
GCC="${GCC:-gcc}"
FUZZ_SECONDS="${CPROBE_FUZZ_SECONDS:-60}"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/c-checks.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

LIBS=(-lpcap -lcap)
INCLUDES=(-I"$SRC/include" -I"$SRC")
mapfile -t CORE < <(find "$SRC" -maxdepth 1 -name '*.c' | sort)
if [ "${#CORE[@]}" -eq 0 ]; then
    echo "c-checks: no sources in $SRC" >&2
    exit 1
fi

echo "== gcc -Wall -Wextra -Werror"
for f in "${CORE[@]}" "$SRC"/fuzz/*.c; do
    "$GCC" -std=gnu11 -Wall -Wextra -Werror -O2 "${INCLUDES[@]}" -c "$f" -o "$OUT/gcc-$(basename "$f").o"
done
echo "gcc: ${#CORE[@]} core files and $(ls "$SRC"/fuzz/*.c | wc -l) fuzz/test files compile warning-free"
# The CLI's terminal shim (CTerminal/: termios and signal handlers for the live view).
for f in "$ROOT"/CTerminal/*.c; do
    "$GCC" -std=gnu11 -Wall -Wextra -Werror -O2 -I"$ROOT/CTerminal/include" -c "$f" -o "$OUT/gcc-$(basename "$f").o"
    "$CLANG" -std=gnu11 -Wall -Wextra -Werror -O1 -I"$ROOT/CTerminal/include" -c "$f" -o "$OUT/clang-$(basename "$f").o"
done
echo "gcc, clang: CTerminal compiles warning-free"

# lld: the default gold linker warns about every ASan symbol.
SAN_FLAGS=(-std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -fuse-ld=lld)
echo "== unit tests (clang, ASan + UBSan)"
"$CLANG" "${SAN_FLAGS[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all \
    "${INCLUDES[@]}" "${CORE[@]}" "$SRC/fuzz/unit_tests.c" "${LIBS[@]}" -o "$OUT/unit_tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$OUT/unit_tests"

if [ "$FUZZ_SECONDS" = 0 ]; then
    echo "c-checks: all passed (fuzzing left to scripts/fuzz.sh)"
    exit 0
fi
echo "== fuzz_echo_parse (libFuzzer, ${FUZZ_SECONDS}s)"
"$CLANG" "${SAN_FLAGS[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    "${INCLUDES[@]}" "${CORE[@]}" "$SRC/fuzz/fuzz_echo_parse.c" "${LIBS[@]}" -o "$OUT/fuzz_echo_parse"
mkdir -p "$OUT/corpus" "$OUT/artifacts"
SEEDS=()
[ -d "$SRC/fuzz/corpus" ] && SEEDS=("$SRC/fuzz/corpus")
"$OUT/fuzz_echo_parse" -max_len=2048 -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "${SEEDS[@]}" 2>"$OUT/fuzz.log" || {
    tail -n 60 "$OUT/fuzz.log" >&2
    for a in "$OUT"/artifacts/*; do
        [ -e "$a" ] || continue
        echo "crash input ($a):" >&2
        od -A d -t x1 "$a" | head -n 20 >&2
    done
    echo "c-checks: fuzzer found a problem" >&2
    exit 1
}
grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)' "$OUT/fuzz.log" || true
grep -E '^Done ' "$OUT/fuzz.log" || true
echo "c-checks: all passed"
