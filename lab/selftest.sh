#!/usr/bin/env bash
# selftest.sh: build the lab and check it with real packets (root only).
# Prints PASS/FAIL lines and "N passed, N failed"; exits non-zero on failure.
set -Eeuo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh
P=ispc-selftest
PE=ispc-selftest-ecmp
PR=ispc-selftest-real
PS=ispc-selftest-sites
FRESH=ispc-selftest-fresh
PASSED=0
FAILED=0
RELAY_PIDS=()

cleanup() {
    "$LAB" down --prefix "$P" >/dev/null 2>&1 || true
    "$LAB" down --prefix "$PE" >/dev/null 2>&1 || true
    "$LAB" down --prefix "$PR" >/dev/null 2>&1 || true
    "$LAB" down --prefix "$PS" >/dev/null 2>&1 || true
    ip netns del "$FRESH" 2>/dev/null || true
}
trap cleanup EXIT

pass() { echo "PASS $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
check() { # name cmd...
    local name=$1
    shift
    if "$@" >/dev/null; then pass "$name"; else fail "$name"; fi
}
in_ns() { local p=$1 n=$2; shift 2; "$LAB" exec --prefix "$p" "$n" -- "$@"; }

# hop addresses (first address of each traceroute line, '*' if none)
trace_hops() { awk 'NR > 1 { print $2 }'; }

# The fastest of a ping's round trips: a constant delay is its floor, and a loaded machine
# (CI's 2 cores while other work runs) only adds to some of them, never takes away.
ping_min() { sed -n 's|.*= \([0-9.]*\)/[0-9.]*/.*|\1|p'; }
ping_loss() { sed -n 's|.* \([0-9.]*\)% packet loss.*|\1|p'; }
sysctl_in() { local p=$1 n=$2; in_ns "$p" "$n" sysctl -n "$3"; }
tx_csum() { local p=$1 n=$2; in_ns "$p" "$n" ethtool -k "$3" | awk '$1 == "tx-checksumming:" { print $2 }'; }
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }

[[ $EUID -eq 0 ]] || { echo "selftest.sh: must run as root" >&2; exit 1; }
for tool in ping traceroute nft ethtool cc; do
    command -v "$tool" >/dev/null || { echo "selftest.sh: $tool missing" >&2; exit 1; }
done

# ----------------------------------------------------------------- chain
if "$LAB" up --prefix "$P" --routers 3 >/dev/null; then pass "up --routers 3"; else
    fail "up --routers 3"
    echo "0 passed, 1 failed"
    exit 1
fi
D4=$("$LAB" addr --prefix "$P" d)
D6=$("$LAB" addr --prefix "$P" d --v6)

check "ping IPv4 client -> dest $D4" in_ns "$P" c ping -q -c 3 -i 0.2 -W 1 "$D4"
check "ping IPv6 client -> dest $D6" in_ns "$P" c ping -q -6 -c 3 -i 0.2 -W 1 "$D6"
check "hosts file: dest.lab -> $D4" bash -c "[[ \$('$LAB' exec --prefix $P c -- getent hosts dest.lab | awk '{print \$1}') == $D4 ]]"
check "sweep prefix answers (10.77.140.9)" in_ns "$P" c ping -q -c 1 -W 1 10.77.140.9

want=$("$LAB" path --prefix "$P" | tr '\n' ' ')
got=$(in_ns "$P" c traceroute -n -w 1 "$D4" | trace_hops | tr '\n' ' ')
check "traceroute IPv4 hops [$got]" test "$got" = "$want"
want6=$("$LAB" path --prefix "$P" --v6 | tr '\n' ' ')
got6=$(in_ns "$P" c traceroute -6 -n -w 1 "$D6" | trace_hops | tr '\n' ' ')
check "traceroute IPv6 hops [$got6]" test "$got6" = "$want6"

check "idealised: r2 icmp_ratelimit 0" test "$(sysctl_in "$P" r2 net.ipv4.icmp_ratelimit)" = 0
check "idealised: client right tx-checksumming off" test "$(tx_csum "$P" c right)" = off
check "idealised: mode" test "$("$LAB" mode --prefix "$P")" = idealised

out=$(in_ns "$P" c ping -c 1 -W 1 10.66.0.1 || true)
check "10.66.0.1: net unreachable from 10.99.1.2" \
    grep -q 'From 10.99.1.2 .*Destination Net Unreachable' <<<"$out"
out=$(in_ns "$P" c ping -c 1 -W 1 10.67.0.1 || true)
check "10.67.0.1: admin prohibited from r3 10.99.3.2" grep -q 'From 10.99.3.2 .*Packet filtered' <<<"$out"
out=$(in_ns "$P" c ping -6 -c 1 -W 1 fd00:66::1 || true)
check "fd00:66::1: no route from fd00:99:1::2" grep -q 'From fd00:99:1::2 .*No route' <<<"$out"

"$LAB" silent --prefix "$P" --node r2 >/dev/null
got=$(in_ns "$P" c traceroute -n -q 1 -w 0.5 "$D4" | trace_hops | tr '\n' ' ')
check "silent r2: hop 2 is * [$got]" test "$got" = "10.99.1.2 * 10.99.3.2 $D4 "
"$LAB" clear --prefix "$P" --node r2 >/dev/null

"$LAB" ratelimit --prefix "$P" --node r1 --rate 1/second --burst 2 >/dev/null
n=$(in_ns "$P" c ping -c 20 -i 0.01 -t 1 -W 1 "$D4" | grep -c 'Time to live exceeded' || true)
check "ratelimit r1 1/s burst 2: $n of 20 time-exceeded" in_range "$n" 1 3
"$LAB" clear --prefix "$P" --node r1 >/dev/null

"$LAB" ratelimit --prefix "$P" --node r1 --vendor >/dev/null
n=$(in_ns "$P" c ping -c 20 -i 0.05 -t 1 -W 1 "$D4" | grep -c 'Time to live exceeded' || true)
check "ratelimit --vendor r1 (1 per 500 ms): $n of 20 time-exceeded in 1 s" in_range "$n" 2 4
"$LAB" clear --prefix "$P" --node r1 >/dev/null

"$LAB" udp-drop --prefix "$P" --node d >/dev/null
got=$(in_ns "$P" c traceroute -n -q 1 -w 0.5 -f 4 -m 4 "$D4" | trace_hops | tr '\n' ' ')
check "udp-drop d: UDP traceroute gets no answer from dest [$got]" test "$got" = "* "
got=$(in_ns "$P" c traceroute -I -n -q 1 -w 0.5 -f 4 -m 4 "$D4" | trace_hops | tr '\n' ' ')
check "udp-drop d: ICMP traceroute still reaches dest [$got]" test "$got" = "$D4 "
"$LAB" clear --prefix "$P" --node d >/dev/null
got=$(in_ns "$P" c traceroute -n -q 1 -w 0.5 -f 4 -m 4 "$D4" | trace_hops | tr '\n' ' ')
check "udp-drop cleared: UDP traceroute reaches dest [$got]" test "$got" = "$D4 "

# delay: 20 ms each way on r2's left link -> RTT 40 ms
"$LAB" delay --prefix "$P" --node r2 --side left --ms 20 >/dev/null
RELAY_PIDS+=("$(cat "/run/ispc-lab/$P/relay-r2-left.pid")")
in_ns "$P" c ping -q -c 2 -i 0.1 -W 1 "$D4" >/dev/null || true # warm neighbour caches
avg=$(in_ns "$P" c ping -q -c 20 -i 0.05 -W 1 "$D4" | ping_min || true)
check "delay r2 left 20 ms: IPv4 RTT min $avg ms (want 40 +- 1)" in_range "$avg" 39 41
in_ns "$P" c ping -q -6 -c 2 -i 0.1 -W 1 "$D6" >/dev/null || true
avg6=$(in_ns "$P" c ping -q -6 -c 20 -i 0.05 -W 1 "$D6" | ping_min || true)
check "delay r2 left 20 ms: IPv6 RTT min $avg6 ms (want 40 +- 1)" in_range "$avg6" 39 41

# loss: 20 % of forwarded packets in r1
"$LAB" loss --prefix "$P" --node r1 --percent 20 --dir forward >/dev/null
loss=$(in_ns "$P" c ping -q -c 300 -i 0.002 -W 1 "$D4" | ping_loss || true)
check "loss r1 20% forward: ping loss $loss% (want 10..32)" in_range "$loss" 10 32
"$LAB" loss --prefix "$P" --node r1 --percent 20 --dir both >/dev/null
lossb=$(in_ns "$P" c ping -q -c 300 -i 0.002 -W 1 "$D4" | ping_loss || true)
check "loss r1 20% both: ping loss $lossb% (want 1-0.8^2=36, 24..48)" in_range "$lossb" 24 48
"$LAB" loss --prefix "$P" --node r1 --percent 0 >/dev/null
loss0=$(in_ns "$P" c ping -q -c 50 -i 0.002 -W 1 "$D4" | ping_loss || true)
check "loss removed: ping loss $loss0%" in_range "$loss0" 0 0

# ------------------------------------------------------------- realistic
# Kernel defaults (read from a namespace nobody touched) and veth offload stay.
ip netns add "$FRESH"
fresh() { ip netns exec "$FRESH" sysctl -n "$1"; }
if "$LAB" up --prefix "$PR" --routers 3 --realistic >/dev/null; then
    pass "up --routers 3 --realistic"
    check "realistic: mode" test "$("$LAB" mode --prefix "$PR")" = realistic
    check "realistic: state REALISTIC=1" grep -qx REALISTIC=1 "/run/ispc-lab/$PR/state"
    v=$(sysctl_in "$PR" r2 net.ipv4.icmp_ratelimit)
    check "realistic: r2 icmp_ratelimit $v (kernel default 1000)" test "$v" = 1000
    for k in net.ipv4.icmp_ratemask net.ipv4.icmp_msgs_per_sec net.ipv4.icmp_msgs_burst \
        net.ipv6.icmp.ratelimit net.ipv6.icmp.ratemask; do
        v=$(sysctl_in "$PR" r2 "$k")
        check "realistic: r2 $k '$v' untouched" test "$v" = "$(fresh "$k")"
    done
    check "realistic: r2 rp_filter still 0" test "$(sysctl_in "$PR" r2 net.ipv4.conf.all.rp_filter)" = 0
    check "realistic: r2 forwarding on" test "$(sysctl_in "$PR" r2 net.ipv4.ip_forward)" = 1
    check "realistic: client right tx-checksumming on" test "$(tx_csum "$PR" c right)" = on
    check "realistic: r2 left tx-checksumming on" test "$(tx_csum "$PR" r2 left)" = on
    DR=$("$LAB" addr --prefix "$PR" d)
    # 20 expiring pings in 0.2 s: r1 answers its burst of 6 (per destination), then 1 a second.
    n=$(in_ns "$PR" c ping -c 20 -i 0.01 -t 1 -W 1 "$DR" | grep -c 'Time to live exceeded' || true)
    check "realistic: r1 kernel limit: $n of 20 time-exceeded (burst 6)" in_range "$n" 5 8
    sleep 2 # r1 earns back 2 of its 6 tokens: traceroute's first probe at each hop is answered
    want=$("$LAB" path --prefix "$PR" | tr '\n' ' ')
    got=$(in_ns "$PR" c traceroute -n -w 1 "$DR" | trace_hops | tr '\n' ' ')
    check "realistic: traceroute IPv4 hops [$got]" test "$got" = "$want"
    "$LAB" delay --prefix "$PR" --node r2 --side left --ms 20 >/dev/null
    RELAY_PIDS+=("$(cat "/run/ispc-lab/$PR/relay-r2-left.pid")")
    relay_tx="r2:lwire=$(tx_csum "$PR" r2 lwire) r2:lpeer=$(tx_csum "$PR" r2 lpeer) r2:left=$(tx_csum "$PR" r2 left) r1:right=$(tx_csum "$PR" r1 right)"
    check "realistic delay: relay veths tx off [$relay_tx]" \
        test "$relay_tx" = "r2:lwire=off r2:lpeer=off r2:left=off r1:right=off"
    check "realistic delay: r2 right (no relay) tx on" test "$(tx_csum "$PR" r2 right)" = on
    in_ns "$PR" c ping -q -c 2 -i 0.1 -W 1 "$DR" >/dev/null || true
    avg=$(in_ns "$PR" c ping -q -c 20 -i 0.05 -W 1 "$DR" | ping_min || true)
    check "realistic delay r2 left 20 ms: IPv4 RTT min $avg ms (want 40 +- 1)" in_range "$avg" 39 41
    # A kernel UDP socket's datagram leaves the client with a partial checksum; it must still
    # arrive whole across the relay.
    got=$(in_ns "$PR" c traceroute -n -q 1 -w 1 -f 4 -m 4 "$DR" | trace_hops | tr '\n' ' ')
    check "realistic delay: UDP traceroute across the relay reaches dest [$got]" test "$got" = "$DR "
else
    fail "up --routers 3 --realistic"
fi
"$LAB" down --prefix "$PR" >/dev/null
ip netns del "$FRESH"

# ------------------------------------------------------------------ ECMP
if "$LAB" up --prefix "$PE" --routers 3 --ecmp >/dev/null; then
    pass "up --routers 3 --ecmp"
    DE=$("$LAB" addr --prefix "$PE" d)
    seen=$(for port in $(seq 33434 37 34434); do
        in_ns "$PE" c traceroute -n -q 1 -f 2 -m 2 -w 1 -p "$port" "$DE" | trace_hops
    done | sort -u | tr '\n' ' ')
    check "ECMP: hop 2 takes both paths across ports [$seen]" test "$seen" = "10.99.102.2 10.99.2.2 "
    stable=1
    for sport in 40001 40002 40003 40004; do
        n=$(in_ns "$PE" c traceroute -n -U -p 53 --sport="$sport" -q 6 -f 2 -m 2 -w 1 "$DE" |
            tail -n 1 | grep -oE '10\.99\.[0-9]+\.2' | sort -u | wc -l)
        [[ $n == 1 ]] || stable=0
    done
    check "ECMP: one flow (fixed ports) stays on one path" test "$stable" = 1
else
    fail "up --routers 3 --ecmp"
fi

# ----------------------------------------------------------- two sites
# c -- r1 -- r2 -- r3 -- d, and c2 -- r1b -- r2: two access routers, one shared transit.
if "$LAB" up --prefix "$PS" --routers 3 --sites 2 >/dev/null; then
    pass "up --routers 3 --sites 2"
    DS=$("$LAB" addr --prefix "$PS" d)
    check "sites: c2's address is 10.99.201.1" test "$("$LAB" addr --prefix "$PS" c2)" = 10.99.201.1
    h1=$(in_ns "$PS" c traceroute -n -q 1 -w 1 "$DS" | trace_hops | tr '\n' ' ')
    h2=$(in_ns "$PS" c2 traceroute -n -q 1 -w 1 "$DS" | trace_hops | tr '\n' ' ')
    check "sites: site 1 goes r1, r2, r3, d [$h1]" test "$h1" = "10.99.1.2 10.99.2.2 10.99.3.2 $DS "
    check "sites: site 2 goes r1b, r2, r3, d [$h2]" test "$h2" = "10.99.201.2 10.99.202.2 10.99.3.2 $DS "
    h6=$(in_ns "$PS" c2 traceroute -6 -n -q 1 -w 1 "$("$LAB" addr --prefix "$PS" d --v6)" | trace_hops | tr '\n' ' ')
    check "sites: site 2 over IPv6 goes r1b, r2, r3, d [$h6]" test "$h6" = "fd00:99:201::2 fd00:99:202::2 fd00:99:3::2 fd00:99:4::2 "
    check "sites: the sites reach each other" in_ns "$PS" c2 ping -q -c 1 -W 1 10.99.1.1
    # Loss on site 1's access router: site 1 loses, site 2 does not.
    "$LAB" loss --prefix "$PS" --node r1 --percent 100 >/dev/null
    check "sites: 100 % loss on r1 cuts site 1 off" bash -c "! '$LAB' exec --prefix $PS c -- ping -q -c 2 -i 0.2 -W 1 $DS"
    check "sites: ... and not site 2" in_ns "$PS" c2 ping -q -c 2 -i 0.2 -W 1 "$DS"
    "$LAB" clear --prefix "$PS" --node r1 >/dev/null
    # Loss on the shared transit r2: both sites lose.
    "$LAB" loss --prefix "$PS" --node r2 --percent 100 >/dev/null
    check "sites: 100 % loss on r2 cuts site 1 off" bash -c "! '$LAB' exec --prefix $PS c -- ping -q -c 2 -i 0.2 -W 1 $DS"
    check "sites: ... and site 2" bash -c "! '$LAB' exec --prefix $PS c2 -- ping -q -c 2 -i 0.2 -W 1 $DS"
    "$LAB" clear --prefix "$PS" --node r2 >/dev/null
    check "sites: cleared, site 2 reaches the destination" in_ns "$PS" c2 ping -q -c 2 -i 0.2 -W 1 "$DS"
else
    fail "up --routers 3 --sites 2"
fi
check "--sites 2 refuses --ecmp" bash -c "! '$LAB' up --prefix $PS --routers 3 --ecmp --sites 2 2>/dev/null"

# ------------------------------------------------------------------ down
"$LAB" down --prefix "$P" >/dev/null
"$LAB" down --prefix "$PE" >/dev/null
"$LAB" down --prefix "$PS" >/dev/null
left=$(ip netns list | awk '{print $1}' | grep -E '^ispc-selftest' || true)
check "down: no ispc-selftest* namespace left [${left//$'\n'/ }]" test -z "$left"
alive=
for pid in "${RELAY_PIDS[@]}"; do
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [[ -n $st && $st != Z ]] && alive+="$pid "
done
check "down: relay process gone [${alive}]" test -z "$alive"
check "down: /etc/netns and /run/ispc-lab entries gone" \
    bash -c "! ls -d /etc/netns/$P-* /run/ispc-lab/$P /run/ispc-lab/$PE /run/ispc-lab/$PR /run/ispc-lab/$PS >/dev/null 2>&1"

echo "selftest: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
