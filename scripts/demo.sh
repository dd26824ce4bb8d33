#!/usr/bin/env bash
# The README's first command: on a fresh Debian machine (root, Swift 6.1+ on PATH), installs what
# isp-checker needs, builds it, builds a small network lab in namespaces (no Internet needed:
# nothing leaves this machine), and checks a healthy, a slow and lossy, and a broken path.
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
swift build -c release --product isp-checker 2>&1 | tail -n 1
cli="$(swift build -c release --show-bin-path)/isp-checker"

prefix=ispc-demo
trap 'bash lab/lab.sh down --prefix "$prefix" >/dev/null 2>&1 || true' EXIT
echo "== building the lab: client - r1 - r2 - r3 - destination (IPv4 + IPv6)"
bash lab/lab.sh up --prefix "$prefix" --routers 3
in_client() { ip netns exec "$prefix-c" "$@"; }

echo
echo "== 1. healthy path, IPv4 then IPv6"
in_client "$cli" ping 10.99.4.2 -c 5 -i 0.1
in_client "$cli" ping fd00:99:4::2 -c 5 -i 0.1 -q

echo
echo "== 2. the path, every TTL in flight at once: UDP (Paris), then TCP SYN to port 443 over IPv6"
in_client "$cli" trace 10.99.4.2
in_client "$cli" trace fd00:99:4::2 -M tcp -p 443

echo
echo "== 3. r2 now never sends ICMP errors: a silent hop, and the trace goes on past it"
bash lab/lab.sh silent --prefix "$prefix" --node r2
in_client "$cli" trace 10.99.4.2 -W 0.5
bash lab/lab.sh clear --prefix "$prefix" --node r2

echo
echo "== 4. r3 rate-limits its ICMP errors to 2/s: loss at hop 3 only (the path beyond is fine)"
bash lab/lab.sh ratelimit --prefix "$prefix" --node r3 --rate 2/second --burst 1
in_client "$cli" trace 10.99.4.2 -c 10 -i 0.2 -W 0.2
bash lab/lab.sh clear --prefix "$prefix" --node r3

echo
echo "== 5. the r2 link now delays 20 ms each way and r1 drops 10 % of forwarded requests"
bash lab/lab.sh delay --prefix "$prefix" --node r2 --side left --ms 20
bash lab/lab.sh loss --prefix "$prefix" --node r1 --percent 10 --dir forward
in_client "$cli" ping 10.99.4.2 -c 50 -i 0.02 -q || true

echo
echo "== 6. an mtr-style report of that path: the loss starts at hop 2 and goes on to the end"
in_client "$cli" trace 10.99.4.2 -c 50 -i 0 -W 0.2 -M icmp

echo
echo "== 7. a network r1 cannot reach (100 % loss is a result, not an error; exit status 1)"
in_client "$cli" ping 10.66.0.1 -c 3 -i 0.1 -W 0.5 -q || echo "(exit status $?)"
in_client "$cli" trace 10.66.0.1 -W 0.5 || echo "(exit status $?)"

echo
echo "== 8. the same check as JSON, for scripts"
in_client "$cli" ping 10.99.4.2 -c 3 -i 0.05 --json | head -n 40
