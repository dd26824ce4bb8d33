#!/usr/bin/env bash
# Installs the Debian packages isp-checker builds, tests and benchmarks with.
# Idempotent: does nothing when everything is already there. Needs root.
set -euo pipefail

packages=(
  libpcap-dev libcap-dev        # the C probe core links these
  iproute2 nftables ethtool     # the network lab: namespaces, loss, rate limits, offloads
  iputils-ping tcpdump          # peers and on-wire truth for tests and benchmarks
  wireshark-common              # text2pcap, editcap: captures of every link type for the replay tests
  traceroute mtr-tiny scamper fping
  iputils-tracepath dublin-traceroute   # tools whose captures the replay lab tests read (issue 18)
  util-linux libcap2-bin        # setpriv and setcap, for the privilege tests
  dnsmasq-base python3          # the lab scenarios' DNS and HTTP servers (lab/scenario.sh)
  prometheus                    # promtool checks docs/alerts.yml
  gcc make procps
  g++                           # libstdc++.a: the release binaries link the C++ runtime in (scripts/build-release.sh)
  python3-jsonschema            # validates run-report JSON against docs/report.schema.json in tests
  libcurl4-openssl-dev libssl-dev libldns-dev   # CServiceProbe links these (HTTP(S), TLS details, DNS wire format)
  unbound nginx openssl                          # lab servers for the dns/http/tcp probe tests
  prometheus-blackbox-exporter                   # peer in Benchmarks/service-probes
  time                          # /usr/bin/time for the peer comparison
  libsqlite3-dev                # the monitor's embedded run history (GRDB links the system SQLite)
  postgresql wrk                # monitor tests: shared history, a real scraper; the API load benchmark
  chromium fonts-dejavu-core    # the dashboard's browser test (headless Chromium, the pages' font)
  strace                        # --check-config opens no socket (MonitorTests.CheckConfigTests)
  podman                        # scripts/image.sh: podman import + save of the container image
  python3-venv                  # scripts/check-kubernetes.sh: kubernetes-validate from PyPI in a venv
  tmux                          # the live terminal view's tests (LabTests.LiveViewLabTests): a pane to run it in
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
