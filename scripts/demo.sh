#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine (root, Swift 6.1+ on PATH), installs what
# isp-checker needs, builds it, and runs `isp-checker lab --scenario all`: a network lab in
# namespaces (no Internet needed: nothing leaves this machine) with each fault in turn —
# healthy, transit loss, a rate-limited hop, transit latency, DNS down, an outage — checked and
# diagnosed.
#
#   sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: the lab builds network namespaces: run as root (sudo $0)" >&2
  exit 1
fi
command -v swift >/dev/null || { echo "demo.sh: swift not found; install a Swift 6.1+ toolchain (swift.org) and put it on PATH" >&2; exit 1; }

bash scripts/install-deps.sh
echo "== building isp-checker (release)"
cli=$(bash scripts/build-release.sh)

# `isp-checker lab` runs lab/scenario.sh as root only when root owns it and its folder and no one
# else can write them or any folder above (a sticky one like /tmp aside). A checkout cloned by
# another user is not like that, so the demo runs a root-owned copy of lab/.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -r lab "$stage/lab"
chown -R root:root "$stage"
chmod -R go-w "$stage"
export ISPC_LAB_DIR="$stage/lab"

echo "== the lab scenarios: each builds client - r1 - r2 - r3 - r4 - destination (with DNS and HTTP;"
echo "   the ecmp-* ones with r2 as two parallel routers r2a/r2b that r1 balances flows over)"
echo "   in network namespaces, adds one fault, checks it as 'isp-checker run' would, and tears it down"
echo
"$cli" lab --list
echo
# Exit status 2 means a scenario found a critical fault, which is what most of them are for.
"$cli" lab --scenario all || true

echo
echo "== the same check as JSON, for scripts (the run report; docs/report-schema.md)"
"$cli" lab --scenario dns-down --json | head -n 60 || true
