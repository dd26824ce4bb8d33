#!/usr/bin/env bash
# The shipped CLI, as the README builds it (release, static Swift runtime, lld with packed
# relocations: Package.swift), run once on every path whose start-up the release link changes:
# --version, a plain trace and a plain sweep (read without ArgumentParser), a sweep with trace
# options and `run` (read by ArgumentParser), DNS and HTTP libraries opened with dlopen. The
# packets stay in a lab this script builds (prefix ispc-relsmoke) and tears down on exit.
#
#   sudo bash scripts/release-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=ispc-relsmoke
fail() { echo "release-smoke: $*" >&2; exit 1; }

cli=$(bash scripts/build-release.sh)
readelf -d "$cli" | grep -q RELR || fail "$cli has no packed relocations (DT_RELR): Package.swift's release link flags were not applied"
# Every library it needs is a system one: a $ORIGIN search path only costs ld.so a dozen failed
# opens per start (and would let a file beside the binary stand in for libc).
if readelf -d "$cli" | grep -qE 'RPATH|RUNPATH'; then fail "$cli has a run path: scripts/build-release.sh's --disable-local-rpath was not applied"; fi
# Only glibc is loaded at start: the C++ runtime, libgcc and libcap are linked in (mapping and
# binding libstdc++ alone cost a trace a fifth of its CPU; scripts/build-release.sh).
needed=$(readelf -d "$cli" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
[[ $needed == "ld-linux-x86-64.so.2 libc.so.6 libm.so.6 " ]] \
  || fail "$cli loads more than glibc at start (NEEDED: $needed): scripts/build-release.sh's static C++ runtime, libgcc and libcap were not applied"

trap 'bash lab/lab.sh down --prefix "$PREFIX" >/dev/null 2>&1 || true' EXIT
bash lab/lab.sh up --prefix "$PREFIX" --routers 3 >/dev/null
in_client() { ip netns exec "$PREFIX-c" "$@"; }

version=$("$cli" --version)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "--version printed '$version'"
trace=$(XDG_CACHE_HOME=$(mktemp -d) in_client "$cli" trace 10.99.4.2 -M icmp --json)
python3 -c 'import json,sys; t=json.loads(sys.stdin.read()); assert t["stop"] == "destination_reached" and len(t["hops"]) == 4, t' <<<"$trace" \
  || fail "the trace did not reach 10.99.4.2 in 4 hops: $trace"
sweep=$(in_client "$cli" sweep 10.77.128.0/24 --rate 100000 -W 0.5 -q)
[[ $sweep == *"256 targets, 256 sent, 256 received"* ]] || fail "sweep: $sweep"
traced=$(in_client "$cli" sweep 10.77.128.0/30 -W 0.5 --trace -m 8 --json | tail -1)
[[ $traced == *'"trace_summary"'* ]] || fail "sweep --trace: $traced"
usage=$("$cli" sweep 10.77.128.0/30 --rate 0 2>&1 || true)
[[ $usage == *"--rate must be"* ]] || fail "a usage error was not worded by ArgumentParser: $usage"
echo "release-smoke: --version, trace, sweep, sweep --trace and a usage error all good with $cli"
