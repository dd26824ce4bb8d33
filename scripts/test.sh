#!/usr/bin/env bash
# Sets up and runs every test of isp-checker. Run as root on Debian with a Swift 6.1+ toolchain
# on PATH: the lab tests build network namespaces. `.ci/run` calls exactly this.
#
#   sudo scripts/test.sh
#
# Stages: Debian packages; the C code under ASan/UBSan (unit tests); every libFuzzer target for
# 4 million executions (FUZZ_RUNS; capture replay and 64 kB DNS answers fewer, docs/fuzzing.md);
# the lab's own self-test; the debug build; every Swift test (unit and lab) in it, while the
# release, image and sanitizer builds run beside them at idle priority; the Swift library's unit
# tests under ASan; the library's unit tests (the engine's own, with ping, trace and sweep over
# loopback) and the resilience tests under TSan; the release CLI as shipped, once in a lab
# (scripts/release-smoke.sh); the container image, run in a lab (scripts/image-test.sh); the
# Kubernetes manifests, validated (scripts/check-kubernetes.sh); the layering checks.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: the lab tests build network namespaces: run as root (sudo $0)" >&2
  exit 1
fi
command -v swift >/dev/null || { echo "test.sh: swift not found; install a Swift 6.1+ toolchain (swift.org) and put it on PATH" >&2; exit 1; }

stage "packages"
bash scripts/install-deps.sh

stage "C core: warnings, unit tests under ASan + UBSan"
CPROBE_FUZZ_SECONDS=0 bash scripts/c-checks.sh
CPROBE_FUZZ_SECONDS=0 bash scripts/c-checks-trace.sh
CPROBE_FUZZ_SECONDS=0 bash scripts/c-checks-services.sh

stage "C parsers: libFuzzer, a fixed count per target"
FUZZ_RUNS="${FUZZ_RUNS:-4000000}" bash scripts/fuzz.sh

stage "network lab self-test"
bash lab/selftest.sh

stage "Swift build"
swift build --build-tests
# The test bundle is run directly (as `swift test` runs it for swift-testing): two `swift test`
# processes at once would both open SwiftPM's build database, and the second fails on its lock;
# so would one beside the release build below.
tests_bin="$(swift build --show-bin-path)/isp-checkerPackageTests.xctest"
[[ -x $tests_bin ]] || { echo "test.sh: $tests_bin is missing (the Swift build stage makes it)" >&2; exit 1; }

stage "Release, image and sanitizer builds: started in the background, at idle priority"
# Everything from here to the timed suites is mostly waiting (labs, servers, timeouts), while the
# release builds (the CLI; the monitor and the image: scripts/image.sh), and the ASan and TSan
# builds of the library's tests only need CPU. So those builds run beside the tests, in the
# idle scheduling class (SCHED_IDLE, ionice idle): a test's thread that wakes takes the CPU from
# them at once, so the tests run as they would alone and the builds use what the tests leave.
# Their runs (the sanitized tests, the CLI and the image in a lab) come after the timed suites.
# On two cores this took the whole run from 69 to about 40 minutes (docs/benchmarks.md, "The
# whole of `.ci/run`, 2026-12-07 second session").
background_builds() {
  set -e
  # The linker warns once per ASan symbol; the log is shown only on failure.
  ISPC_CORE_ONLY=1 swift build --build-tests --sanitize=address --scratch-path .build-asan -Xswiftc -use-ld=lld > .build-asan.log 2>&1 \
    || { echo "test.sh: the ASan build failed:"; cat .build-asan.log; return 1; }
  tail -n 1 .build-asan.log
  mkdir -p .build-tsan
  ISPC_CORE_ONLY=1 swift build --build-tests --sanitize=thread --scratch-path .build-tsan > .build-tsan/build.log 2>&1 \
    || { echo "test.sh: the TSan build failed:"; cat .build-tsan/build.log; return 1; }
  tail -n 1 .build-tsan/build.log
  bash scripts/build-release.sh isp-checker >/dev/null
  bash scripts/image.sh >/dev/null
}
chrt --idle 0 ionice -c 3 bash -c "$(declare -f background_builds); background_builds" > .build/background.log 2>&1 &
background=$!
# A failing stage ends the run: the builds must not go on without it (chrt and ionice exec the
# shell, so its children are the builds' own processes). `set -e` holds inside the trap too: a
# pkill that finds nothing (the builds are long done on success) must not become the run's
# status, which the trap hands on unchanged.
trap 'status=$?; pkill -TERM -P "$background" 2>/dev/null || true; kill "$background" 2>/dev/null || true; exit "$status"' EXIT

stage "Swift tests: unit and lab"
# Each suite's tests run one at a time (--no-parallel): the lab tests start lab.sh and servers
# with blocking waits, and on two cores two such waits fill Swift's cooperative pool, stalling a
# concurrent test's trace or ping by hundreds of milliseconds. Two test processes (each with its
# own pool) do run side by side, as most of a lab test is waiting: the lab suites in one, every
# other target (unit, CLI, monitor, resilience) in the other; their logs are printed when both
# are done. The suites that check timings (RTT through the relay, trace timing, the diagnosis
# scenarios' latency thresholds) run afterwards, with no other test beside them (the idle-class
# builds yield the CPU to them).
# The run report decoder's seeded fuzzer (ReportDecodingFuzzTests) gets 200,000 inputs here
# (20,000 in a plain `swift test`; 500,000 took 194 s on the slower machine of 2026-12-07, a
# million 195 s a day earlier: docs/fuzzing.md).
export ISPC_REPORT_FUZZ_RUNS="${ISPC_REPORT_FUZZ_RUNS:-200000}"
timed='^LabTests\.(PingLabTests|RealisticTraceLabTests|TraceLabTests|DiagnosisLabTests)/'
shard() { # NAME ARGUMENTS...: the tests into .build/tests-NAME.log, their status into .rc
  local name=$1; shift
  set +e
  "$tests_bin" --testing-library swift-testing --no-parallel "$@" > ".build/tests-$name.log" 2>&1
  echo $? > ".build/tests-$name.rc"
}
# CaptureTraceReplayLabTests (2.5 min of tcpdump and peers' traces) goes with the other targets:
# the two processes then take about as long.
# MonitorTests.VantageLabTests (2 min of two lab sites, PostgreSQL and four monitors) goes with
# the lab suites the other way.
moved='^LabTests\.CaptureTraceReplayLabTests/'
shard lab --filter '^(LabTests\.|MonitorTests\.VantageLabTests/)' --skip "$timed" --skip "$moved" &
lab_shard=$!
shard other --skip '^(LabTests\.(?!CaptureTraceReplayLabTests($|/))|MonitorTests\.VantageLabTests/)' &
other_shard=$!
# Only these two: the background builds above are jobs of this shell too.
wait "$lab_shard" "$other_shard"
failed=0
for name in lab other; do
  printf '\n--- tests: %s (%s)\n' "$name" "$(date -u +%H:%M:%S)"
  cat ".build/tests-$name.log"
  [[ $(cat ".build/tests-$name.rc") == 0 ]] || { echo "test.sh: the $name tests failed (above)" >&2; failed=1; }
done
[[ $failed == 0 ]] || exit 1

stage "Swift tests: the suites that check timings (no other test beside them)"
"$tests_bin" --testing-library swift-testing --no-parallel --filter "$timed"

stage "Release, image and sanitizer builds: waiting for them"
if ! wait "$background"; then
  cat .build/background.log; echo "test.sh: a background build failed (above)" >&2; exit 1
fi
cat .build/background.log

stage "Swift unit tests under AddressSanitizer"
# Leak checking is off here: XCTest's runner itself leaks a few objects at exit.
# The report fuzzer gets the plain `swift test` count here, as before the export above.
ASAN_OPTIONS=detect_leaks=0 ISPC_REPORT_FUZZ_RUNS=20000 ISPC_CORE_ONLY=1 swift test --skip-build --sanitize=address --scratch-path .build-asan --filter ISPCheckerTests

stage "Engine and resilience tests under ThreadSanitizer"
# The library's unit tests (ISPCheckerTests: the engine's matching, pacing and merging, and
# LoopbackEngineTests: ping, traceroute and a sweep at once on one engine over 127.0.0.1, so the
# engine thread, its receive loop and concurrent callers run for real) and the resilience suites
# (breaker, retry, scheduler, config). The lab suites stay out: their namespaces and servers
# would cost minutes under TSan for no other code.
TSAN_OPTIONS=halt_on_error=1 ISPC_REPORT_FUZZ_RUNS=20000 ISPC_CORE_ONLY=1 swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
  --filter 'ISPCheckerTests|ResilienceTests'

stage "The shipped CLI: release build (lld, packed relocations), run once in a lab"
bash scripts/release-smoke.sh

stage "Container image: built offline from the release binaries, run in a lab as a pod runs it"
# scripts/image.sh (release monitor beside the CLI above, Debian runtime packages unpacked,
# podman import + save); scripts/image-test.sh enters the image's root read-only in a realistic
# lab as uid 10001 with only CAP_NET_RAW: a run's verdict, no_new_privs, the entrypoint's /health.
bash scripts/image-test.sh

stage "Kubernetes manifests: kustomize base validated offline"
bash scripts/check-kubernetes.sh

stage "Layering: targets, C only in ISPCheckerCore, details read back in one place"
# The package graph: the layers exist and only ISPCheckerCore reaches CProbe/CServiceProbe
# (docs/architecture.md). The check is shown to fail on a graph that breaks the rule.
swift package dump-package > .build/package.json
python3 scripts/check-layers.py < .build/package.json
python3 -c 'import json,sys; d=json.load(open(".build/package.json")); [t["dependencies"].append({"byName": ["ISPCheckerCore", None]}) for t in d["targets"] if t["name"] == "ISPCheckerAnalysis"]; json.dump(d, sys.stdout)' \
  | python3 scripts/check-layers.py 2>/dev/null && { echo "test.sh: check-layers.py passed a graph where ISPCheckerAnalysis reaches C" >&2; exit 1; }
# A probe entry's details are read by key only where a saved report is decoded
# (ProbeMeasurement(name:details:)); analysis and outputs read the typed measurement.
if grep -rn 'details\[' Sources --include=*.swift | grep -v 'details\["[a-z_]*"\] = ' | grep -v '/ProbeMeasurement.swift:'; then
  echo "test.sh: a detail is read by key outside ProbeMeasurement (above)" >&2; exit 1
fi

