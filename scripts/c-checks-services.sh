#!/usr/bin/env bash
# c-checks-services.sh — warnings, sanitizers, unit tests and fuzzing for CServiceProbe/.
#
#   1. gcc -Wall -Wextra -Werror on every CServiceProbe and fuzz source.
#   2. clang ASan+UBSan: CServiceProbe/fuzz/unit_tests.c (loopback servers only), leaks checked.
#   3. libFuzzer: fuzz_dns_parse.c (the ldns-backed response parser) for CPROBE_FUZZ_SECONDS.
# Env: CLANG (default /opt/swift/usr/bin/clang), GCC (default gcc), CPROBE_FUZZ_SECONDS (60).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/CServiceProbe"
CLANG="${CLANG:-/opt/swift/usr/bin/clang}"
GCC="${GCC:-gcc}"
FUZZ_SECONDS="${CPROBE_FUZZ_SECONDS:-60}"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/c-checks-services.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

LIBS=(-lldns -lcurl -lssl -lcrypto -lpthread)
# CProbe/fuzz holds check.h, the harness every C unit test shares.
INCLUDES=(-I"$SRC/include" -I"$SRC" -I"$ROOT/CProbe/fuzz")
mapfile -t CORE < <(find "$SRC" -maxdepth 1 -name '*.c' | sort)

echo "== gcc -Wall -Wextra -Werror (CServiceProbe)"
for f in "${CORE[@]}" "$SRC"/fuzz/*.c; do
    "$GCC" -std=gnu11 -Wall -Wextra -Werror -O2 "${INCLUDES[@]}" -c "$f" -o "$OUT/gcc-$(basename "$f").o"
done

SAN_FLAGS=(-std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer -fuse-ld=lld)
echo "== CServiceProbe unit tests (clang, ASan + UBSan)"
"$CLANG" "${SAN_FLAGS[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all \
    "${INCLUDES[@]}" "${CORE[@]}" "$SRC/fuzz/unit_tests.c" "${LIBS[@]}" -o "$OUT/unit_tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$OUT/unit_tests"

if [ "$FUZZ_SECONDS" = 0 ]; then
    echo "c-checks-services: all passed (fuzzing left to scripts/fuzz.sh)"
    exit 0
fi
echo "== fuzz_dns_parse (libFuzzer, ${FUZZ_SECONDS}s)"
"$CLANG" "${SAN_FLAGS[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    "${INCLUDES[@]}" "${CORE[@]}" "$SRC/fuzz/fuzz_dns_parse.c" "${LIBS[@]}" -o "$OUT/fuzz_dns_parse"
mkdir -p "$OUT/corpus" "$OUT/artifacts"
# Seed: a query as ldns builds it (a valid message to mutate from).
printf '\x12\x34\x01\x00\x00\x01\x00\x01\x00\x00\x00\x00\x07example\x03net\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x00\x01' > "$OUT/corpus/seed"
"$OUT/fuzz_dns_parse" -max_len=4096 -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" 2>"$OUT/fuzz.log" || {
    tail -n 60 "$OUT/fuzz.log" >&2
    echo "c-checks-services: fuzzer found a problem" >&2
    exit 1
}
grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$OUT/fuzz.log" || true
echo "c-checks-services: all passed"
