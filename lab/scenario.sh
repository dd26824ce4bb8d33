#!/usr/bin/env bash
# scenario.sh: a network lab with one chosen fault and the services a full check needs (a DNS
# server and an HTTP server on the destination), for `isp-checker lab`, the demo and the
# end-to-end tests. Everything stays inside the namespaces lab.sh builds (10.x only).
#
# The lab is realistic (`lab.sh up --realistic`): every node keeps the kernel's default ICMP
# rate limits and the veths keep tx checksum/TSO/GSO offload, as on real hosts, routers and
# container networks; the fault comes on top. `--idealised` builds the lab without them.
#
#   scenario.sh list
#   scenario.sh up   --prefix P --scenario NAME [--idealised]   prints KEY=VALUE lines describing the lab
#   scenario.sh step --prefix P --scenario NAME   the fault of a scenario that said baseline=1, after its first run
#   scenario.sh down --prefix P
set -Eeuo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$LAB_DIR/lab.sh
ROUTERS=4
DEST=10.99.$((ROUTERS + 1)).2
DNS_NAME=check.lab
# The destination's bulk TCP server (lab/bulk_server.py): the load of `run --bufferbloat`.
BULK_PORT=9000

# The scenarios and their summaries: lab/scenarios.txt, which `isp-checker lab` reads too.
scenarios() {
    cat "$LAB_DIR/scenarios.txt"
}

die() {
    echo "scenario.sh: $*" >&2
    exit 1
}

sub=${1:-}
[[ $# -gt 0 ]] && shift
prefix=ispc-scn
scenario=
mode=--realistic
while [[ $# -gt 0 ]]; do
    case $1 in
    --prefix) prefix=${2:?--prefix needs a value}; shift 2 ;;
    --scenario) scenario=${2:?--scenario needs a value}; shift 2 ;;
    --idealised) mode=; shift ;;
    *) die "unknown option '$1' (see the header of $0)" ;;
    esac
done

start_services() {
    local run=/run/ispc-lab/$prefix www
    mkdir -p "$run"
    www=$run/www
    mkdir -p "$www"
    printf 'isp-checker lab destination\n' >"$www/index.html"
    # Authoritative for check.lab only; never forwards anywhere (no upstream servers at all).
    ip netns exec "$prefix-d" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
        --bind-interfaces --listen-address="$DEST" --except-interface=lo \
        --address="/$DNS_NAME/$DEST" --local=/lab/ --pid-file="$run/dnsmasq.pid" \
        --user=root --log-facility=/dev/null >/dev/null 2>&1 &
    ip netns exec "$prefix-d" python3 -m http.server 80 --bind "$DEST" --directory "$www" \
        >/dev/null 2>&1 &
    echo $! >"$run/http.pid"
    for _ in $(seq 1 50); do
        if ip netns exec "$prefix-d" ss -Hltn "sport = :80" | grep -q . &&
            ip netns exec "$prefix-d" ss -Hlun "sport = :53" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    die "the lab's DNS or HTTP server did not start (is dnsmasq installed? scripts/install-deps.sh)"
}

start_bulk_server() {
    bash "$LAB" bulk-server --prefix "$prefix" --node d --port "$BULK_PORT" >/dev/null
}

apply_fault() {
    case $scenario in
    healthy) ;;
    transit-loss) bash "$LAB" loss --prefix "$prefix" --node r3 --percent 40 --dir forward >/dev/null ;;
    rate-limited-hop) bash "$LAB" ratelimit --prefix "$prefix" --node r2 --rate 1/second --burst 1 >/dev/null ;;
    transit-latency) bash "$LAB" delay --prefix "$prefix" --node r4 --side left --ms 90 >/dev/null ;;
    dns-down)
        ip netns exec "$prefix-d" nft -f - <<'EOF'
table inet ispc_dns_down {
    chain input {
        type filter hook input priority -10; policy accept;
        udp dport 53 drop
        tcp dport 53 drop
    }
}
EOF
        ;;
    outage) bash "$LAB" loss --prefix "$prefix" --node r1 --percent 100 --dir both >/dev/null ;;
    mtu-black-hole) bash "$LAB" mtu --prefix "$prefix" --node r2 --mtu 1400 --blackhole >/dev/null ;;
    # r1's uplink (the home router's WAN link) is a 10 Mbit/s line behind a 200 ms FIFO, as a
    # DSL or cable modem without AQM: a bulk flow raises the RTT past r1 by up to 200 ms.
    bufferbloat) bash "$LAB" bottleneck --prefix "$prefix" --node r1 --side right --kbit 10000 --queue-ms 200 >/dev/null ;;
    cgnat)
        bash "$LAB" nat --prefix "$prefix" --node r1 >/dev/null
        bash "$LAB" cgnat --prefix "$prefix" --node r2 >/dev/null
        ;;
    # A NAT that only the quoted headers show: its address is neither shared nor private, and
    # the ICMP errors from beyond it quote our probe translated (Dublin traceroute's method).
    nat-quoted) bash "$LAB" stateless-nat --prefix "$prefix" --node r2 >/dev/null ;;
    dns-interception) bash "$LAB" dns-intercept --prefix "$prefix" --node r2 >/dev/null ;;
    captive-portal) bash "$LAB" captive-portal --prefix "$prefix" --node r1 >/dev/null ;;
    ipv6-broken) bash "$LAB" family-drop --prefix "$prefix" --node r2 --family 6 >/dev/null ;;
    # r2 is a pair of parallel routers (lab.sh up --ecmp); r2a loses what it forwards.
    ecmp-healthy) ;;
    ecmp-path-loss) bash "$LAB" loss --prefix "$prefix" --node r2a --percent 30 --dir forward >/dev/null ;;
    # Two parallel routers at hop 2 (r2a, r2b); r1 sends everything through r2a. The change
    # comes in `step`, after the baseline run.
    path-change) bash "$LAB" reroute --prefix "$prefix" --via r2a >/dev/null ;;
    esac
}

# The second half of a scenario that needs a run before its fault (`baseline=1` in up's output):
# `isp-checker lab` runs the check once, then this, then the check again with the first run as
# its history.
apply_step() {
    case $scenario in
    # The route moves to r2b, which loses 30 % of what it forwards: loss begins with the change.
    path-change)
        bash "$LAB" loss --prefix "$prefix" --node r2b --percent 30 --dir forward >/dev/null
        bash "$LAB" reroute --prefix "$prefix" --via r2b >/dev/null
        ;;
    *) die "scenario '$scenario' has no step" ;;
    esac
}

case $sub in
list) scenarios ;;
up)
    [[ -n $scenario ]] || die "up needs --scenario NAME (one of: $(scenarios | awk '{print $1}' | xargs))"
    scenarios | awk '{print $1}' | grep -qx -- "$scenario" ||
        die "unknown scenario '$scenario' (one of: $(scenarios | awk '{print $1}' | xargs))"
    # The ECMP and path-change scenarios replace r2 by two parallel routers r2a/r2b that r1
    # balances flows over.
    ecmp=
    [[ $scenario == ecmp-* || $scenario == path-change ]] && ecmp=--ecmp
    bash "$LAB" up --prefix "$prefix" --routers "$ROUTERS" ${mode:+"$mode"} ${ecmp:+"$ecmp"} >/dev/null
    start_services
    start_bulk_server
    apply_fault
    echo "client_namespace=$prefix-c"
    # ipv6-broken: a name with both addresses (the lab's /etc/hosts), so `run` checks each family.
    if [[ $scenario == ipv6-broken ]]; then echo "target=dual.lab"; else echo "target=$DEST"; fi
    echo "resolver=$DEST"
    echo "dns_name=$DNS_NAME"
    echo "url=http://$DEST/"
    echo "gateway=10.99.1.2"
    echo "lab_mode=$(bash "$LAB" mode --prefix "$prefix")"
    echo "bulk_server=$DEST:$BULK_PORT"
    # Extra `isp-checker run` flags the scenario needs: small pages cross a black hole, so the
    # path MTU probe is asked for rather than left to a failing HTTP probe.
    if [[ $scenario == mtu-black-hole ]]; then echo "run_args=--path-mtu"; fi
    # DNS interception: 10.99.5.9 (the destination's subnet) runs no resolver, and the
    # resolver's answer for check.lab is known. Captive portal: the destination's page is the
    # check URL, answering 200.
    if [[ $scenario == dns-interception ]]; then echo "run_args=--dns-canary 10.99.5.9 --dns-expect $DEST"; fi
    if [[ $scenario == captive-portal ]]; then echo "run_args=--captive-portal-url http://$DEST/ --captive-portal-status 200"; fi
    # Latency under load needs a load: the bulk server's flows, for 3 s each way.
    if [[ $scenario == bufferbloat ]]; then echo "run_args=--bufferbloat $DEST:$BULK_PORT --bufferbloat-seconds 3"; fi
    # The parallel paths are enumerated and measured one by one when asked.
    if [[ $scenario == ecmp-* ]]; then echo "run_args=--ecmp"; fi
    # A path change: a first (healthy) run, `step`, then the check with that run as its history.
    if [[ $scenario == path-change ]]; then echo "baseline=1"; fi
    ;;
step)
    [[ -n $scenario ]] || die "step needs --scenario NAME"
    apply_step
    ;;
down) bash "$LAB" down --prefix "$prefix" ;;
*) die "usage: scenario.sh list | up --prefix P --scenario NAME [--idealised] | step --prefix P --scenario NAME | down --prefix P" ;;
esac
