#!/usr/bin/env bash
# Installs the Debian packages isp-checker builds, tests and benchmarks with.
# Idempotent: does nothing when everything is already there. Needs root.
set -euo pipefail

packages=(
  libpcap-dev libcap-dev        # the C probe core links these
  iproute2 nftables ethtool     # the network lab: namespaces, loss, rate limits, offloads
  iputils-ping tcpdump          # peers and on-wire truth for tests and benchmarks
  traceroute mtr-tiny scamper fping
  util-linux                    # setpriv, for the unprivileged-user test
  gcc make procps
  libsqlite3-dev                # the monitor's embedded run history (GRDB links the system SQLite)
  postgresql prometheus wrk     # monitor tests: shared history, a real scraper; the API load benchmark
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
