#!/usr/bin/env bash
# lab.sh: network-namespace lab for isp-checker (see lab/README.md).
# Every packet stays inside namespaces created here (10.x / fd00::/8 only).
set -Eeuo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${ISPC_LAB_BIN:-$LAB_DIR/bin}
RELAY_SRC=$LAB_DIR/relay.c
RELAY_BIN=$BIN/isp-lab-relay
RUN_ROOT=/run/ispc-lab
NETNS_ETC=/etc/netns

usage() {
    cat <<'EOF'
usage: lab.sh SUBCOMMAND [options]

  up        [--prefix P] [--routers N] [--ecmp] [--sites 1|2] [--realistic]
                                                  build the lab (tears down an old one first);
                                                  --realistic keeps the kernel's ICMP rate limits
                                                  and veth checksum/TSO/GSO offload (see README);
                                                  --sites 2 adds a second client site: c2 behind
                                                  its own access router r1b, joining the chain at
                                                  r2 (the shared transit; needs --routers >= 2)
  down      [--prefix P]                          kill processes, delete namespaces (always exit 0)
  down-all                                        down every namespace named ispc*
  loss      [--prefix P] --node rK --percent X [--dir both|forward|reverse]
                                                  drop X% (0..100, up to 2 decimals) of forwarded packets
  ratelimit [--prefix P] --node NODE --rate N/second [--burst B]
                                                  limit ICMP time-exceeded + dest-unreachable sent by NODE
  ratelimit [--prefix P] --node NODE --vendor     a common router default: one such error per 500 ms
                                                  (= --rate 2/second --burst 1)
  silent    [--prefix P] --node NODE              NODE sends no ICMP errors (still forwards)
  echo-drop [--prefix P] --node NODE --to ADDR[/LEN] --drop K --every N
                                                  drop K of every N echo requests to ADDR (exact)
  udp-drop  [--prefix P] --node NODE              NODE drops UDP to its own ports 33434-65535
                                                  (a host that filters traceroute's UDP probes)
  family-drop [--prefix P] --node rK --family 4|6  rK forwards nothing of that family (IPv6 or IPv4
                                                  broken alone); `clear` removes it
  clear     [--prefix P] --node NODE              remove loss/ratelimit/silent/echo-drop/udp-drop/family-drop
  reroute   [--prefix P] --via r2a|r2b|both       (--ecmp labs) r1 forwards onward through r2a only,
                                                  r2b only, or both again (ECMP): a path change
                                                  (the way back is r3 -> r2a in every case)
  delay     [--prefix P] --node NODE --side left|right --ms D
                                                  userspace relay holds every frame D ms each way on that link
  bottleneck [--prefix P] --node NODE --side left|right --kbit K [--queue-ms Q] [--ms D]
                                                  that link becomes a K kbit/s bottleneck (each way)
                                                  behind a deep tail-drop FIFO of Q ms (default 200),
                                                  plus D ms delay (default 0): a bulk flow builds a
                                                  standing queue (bufferbloat); userspace relay
  bulk-server [--prefix P] --node NODE --port N   a TCP server on NODE's main address that sinks what
                                                  it reads and sends zeros without end (the load of
                                                  `isp-checker run --bufferbloat`); stopped by down
  exec      [--prefix P] NODE -- CMD [ARGS...]    run CMD in NODE's namespace
  mtu       [--prefix P] --node rK --mtu M [--blackhole]
                                                  the link from rK onward (rK right, its neighbour's
                                                  left) gets MTU M (576..1500, v6 >= 1280); with
                                                  --blackhole both ends drop their own "fragmentation
                                                  needed" / "packet too big" (a path MTU black hole)
  nat       [--prefix P] --node rK                rK masquerades what leaves its right side (a home
                                                  router's NAT; IPv4)
  cgnat     [--prefix P] --node rK                rK is a carrier-grade NAT: masquerades onward and
                                                  answers traceroute from 100.64.K.1 (RFC 6598; IPv4)
  stateless-nat [--prefix P] --node rK            rK translates the client 1:1 to 198.51.100.7 and
                                                  its UDP/TCP ports by XOR 0x2000, statelessly
                                                  (nft payload rewrite, notrack): unlike conntrack
                                                  NAT it leaves the packet quoted in ICMP errors
                                                  from beyond it untranslated (IPv4)
  dns-intercept [--prefix P] --node rK            rK redirects DNS (port 53, UDP and TCP) from the
                                                  client side to its own resolver (unbound, identity
                                                  "intercept-rK", check.lab -> rK's address; IPv4)
  captive-portal [--prefix P] --node rK           rK answers HTTP (port 80) from the client side with
                                                  a 302 to its login page (IPv4)
  addr      [--prefix P] NODE [--v6]              print NODE's main address
  path      [--prefix P] [--v6]                   print expected traceroute hops client->dest, one per line
  nodes     [--prefix P]                          print node names (c r1 .. rN d)
  mode      [--prefix P]                          print the lab's mode: realistic or idealised

  Defaults: --prefix ispc, --routers 3 (1..8), --dir both, --burst 5.
  NODE: c (client), rK (router K; r2a/r2b with --ecmp), d (dest); aliases client, dest.
        With --sites 2 also c2 (second site's client, 10.99.201.1) and r1b (its access router).
  Namespaces are named P-NODE. State lives in /run/ispc-lab/P/.
EOF
}

die() {
    echo "lab.sh: $*" >&2
    exit 1
}

on_err() {
    echo "lab.sh: command failed (exit $1, line $2): $3" >&2
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---------------------------------------------------------------- options

SUB=${1:-}
[[ $# -gt 0 ]] && shift
PREFIX=ispc
ROUTERS=3
ECMP=0
SITES=1
REALISTIC=0
OPT_NODE=
OPT_PERCENT=
OPT_DIR=both
OPT_RATE=
OPT_BURST=5
OPT_SIDE=
OPT_MS=
OPT_V6=0
OPT_VIA=
OPT_FAMILY=
OPT_TO=
OPT_DROP=
OPT_EVERY=
OPT_REALISTIC=0
OPT_VENDOR=0
OPT_MTU=
OPT_BLACKHOLE=0
OPT_KBIT=
OPT_QUEUE_MS=
OPT_PORT=
POSITIONAL=()
EXEC_CMD=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value"; }

while [[ $# -gt 0 ]]; do
    case $1 in
    --prefix) need_arg "$@"; PREFIX=$2; shift 2 ;;
    --routers) need_arg "$@"; ROUTERS=$2; shift 2 ;;
    --ecmp) ECMP=1; shift ;;
    --sites) need_arg "$@"; SITES=$2; shift 2 ;;
    --realistic) OPT_REALISTIC=1; shift ;;
    --vendor) OPT_VENDOR=1; shift ;;
    --mtu) need_arg "$@"; OPT_MTU=$2; shift 2 ;;
    --blackhole) OPT_BLACKHOLE=1; shift ;;
    --node) need_arg "$@"; OPT_NODE=$2; shift 2 ;;
    --percent) need_arg "$@"; OPT_PERCENT=$2; shift 2 ;;
    --dir) need_arg "$@"; OPT_DIR=$2; shift 2 ;;
    --rate) need_arg "$@"; OPT_RATE=$2; shift 2 ;;
    --burst) need_arg "$@"; OPT_BURST=$2; shift 2 ;;
    --side) need_arg "$@"; OPT_SIDE=$2; shift 2 ;;
    --ms) need_arg "$@"; OPT_MS=$2; shift 2 ;;
    --kbit) need_arg "$@"; OPT_KBIT=$2; shift 2 ;;
    --queue-ms) need_arg "$@"; OPT_QUEUE_MS=$2; shift 2 ;;
    --port) need_arg "$@"; OPT_PORT=$2; shift 2 ;;
    --v6) OPT_V6=1; shift ;;
    --to) need_arg "$@"; OPT_TO=$2; shift 2 ;;
    --drop) need_arg "$@"; OPT_DROP=$2; shift 2 ;;
    --every) need_arg "$@"; OPT_EVERY=$2; shift 2 ;;
    --via) need_arg "$@"; OPT_VIA=$2; shift 2 ;;
    --family) need_arg "$@"; OPT_FAMILY=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; EXEC_CMD=("$@"); break ;;
    -*) die "unknown option $1 (see lab.sh --help)" ;;
    *) POSITIONAL+=("$1"); shift ;;
    esac
done

[[ $OPT_REALISTIC == 0 || $SUB == up ]] || die "--realistic is an option of up only (the mode is fixed when the lab is built)"
[[ $OPT_VENDOR == 0 || $SUB == ratelimit ]] || die "--vendor is an option of ratelimit only"
[[ $PREFIX =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ ]] ||
    die "bad --prefix '$PREFIX' (letters, digits, _ and -, at most 32 characters)"
RUN_DIR=$RUN_ROOT/$PREFIX
STATE_FILE=$RUN_DIR/state

# ------------------------------------------------------------------ helpers

ns_of() { echo "$PREFIX-$1"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { [[ -e /run/netns/$1 ]]; }

# Regex matching exactly the namespaces of prefix $1.
ns_regex() { echo "^$1-(c|c2|d|r[0-9]+[ab]?)\$"; }

list_ns() { # $1 = extended regex
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "$1" || true
}

canon_node() {
    case $1 in
    client) echo c ;;
    dest) echo d ;;
    *) echo "$1" ;;
    esac
}

# ------------------------------------------------------------------- model
# Link k joins node k-1 (left end, .1 / ::1) and node k (right end, .2 / ::2).
# With --ecmp, r2 is replaced by r2a (links 2, 3) and r2b (links 102, 103).

NODES=()
L_ID=()
L_LN=()
L_LIF=()
L_RN=()
L_RIF=()
L_POS=()

add_link() {
    L_ID+=("$1"); L_LN+=("$2"); L_LIF+=("$3"); L_RN+=("$4"); L_RIF+=("$5"); L_POS+=("$6")
}

chain_node() { # position -> name (plain chain)
    if (($1 == 0)); then echo c; elif (($1 == ROUTERS + 1)); then echo d; else echo "r$1"; fi
}

build_model() {
    local k
    NODES=(c)
    L_ID=(); L_LN=(); L_LIF=(); L_RN=(); L_RIF=(); L_POS=()
    if ((ECMP)); then
        NODES+=(r1 r2a r2b)
        for ((k = 3; k <= ROUTERS; k++)); do NODES+=("r$k"); done
        add_link 1 c right r1 left 1
        add_link 2 r1 right r2a left 2
        add_link 102 r1 rightb r2b left 2
        add_link 3 r2a right r3 left 3
        add_link 103 r2b right r3 leftb 3
        for ((k = 4; k <= ROUTERS + 1; k++)); do
            add_link "$k" "$(chain_node $((k - 1)))" right "$(chain_node "$k")" left "$k"
        done
    else
        for ((k = 1; k <= ROUTERS; k++)); do NODES+=("r$k"); done
        for ((k = 1; k <= ROUTERS + 1; k++)); do
            add_link "$k" "$(chain_node $((k - 1)))" right "$(chain_node "$k")" left "$k"
        done
    fi
    NODES+=(d)
    # Second site (--sites 2): c2 -- r1b -- r2, links 201 and 202 (10.99.201.0/24, 10.99.202.0/24).
    if ((SITES == 2)); then
        NODES+=(c2 r1b)
        add_link 201 c2 right r1b left 1
        add_link 202 r1b right r2 leftb 2
    fi
}

node_pos() {
    case $1 in
    c | c2) echo 0 ;;
    r1b) echo 1 ;;
    d) echo $((ROUTERS + 1)) ;;
    r2a | r2b) echo 2 ;;
    r*) echo "${1#r}" ;;
    esac
}

is_node() {
    local n
    for n in "${NODES[@]}"; do [[ $n == "$1" ]] && return 0; done
    return 1
}

is_router() { [[ $1 == r* ]]; }

a4() { echo "10.99.$1.$2"; }
a6() { echo "fd00:99:$1::$2"; }

# Lines "IFNAME LINKID END NEIGHBOUR_END" for node $1.
node_ifaces() {
    local i
    for i in "${!L_ID[@]}"; do
        [[ ${L_LN[$i]} == "$1" ]] && echo "${L_LIF[$i]} ${L_ID[$i]} 1 2"
        [[ ${L_RN[$i]} == "$1" ]] && echo "${L_RIF[$i]} ${L_ID[$i]} 2 1"
    done
    return 0
}

# "LINKID END NEIGHBOUR_END" of interface $2 on node $1 (empty if none).
iface_link() {
    local ifn id end nend
    while read -r ifn id end nend; do
        [[ $ifn == "$2" ]] && { echo "$id $end $nend"; return 0; }
    done < <(node_ifaces "$1")
    return 0
}

main_addr() { # node, v6(0/1)
    local id end
    case $1 in
    c) id=1; end=1 ;;
    c2) id=201; end=1 ;;
    d) id=$((ROUTERS + 1)); end=2 ;;
    *) read -r id end _ < <(iface_link "$1" left) ;;
    esac
    if (($2)); then a6 "$id" "$end"; else a4 "$id" "$end"; fi
}

# route_line FAMILY DST GW... ; each GW is "LINKID END IFNAME"
route_line() {
    local fam=$1 dst=$2 g id end ifn line
    shift 2
    if [[ $# -eq 1 ]]; then
        read -r id end ifn <<<"$1"
        if [[ $fam == 4 ]]; then line="via $(a4 "$id" "$end") dev $ifn"; else line="via $(a6 "$id" "$end") dev $ifn"; fi
    else
        line=
        for g in "$@"; do
            read -r id end ifn <<<"$g"
            if [[ $fam == 4 ]]; then line+=" nexthop via $(a4 "$id" "$end") dev $ifn"
            else line+=" nexthop via $(a6 "$id" "$end") dev $ifn"; fi
        done
    fi
    echo "route replace $dst $line"
}

# Emit `ip -batch` lines for node $1, family $2 (4|6).
node_routes() {
    local node=$1 fam=$2 p i ifn id end nend last dst
    local -a left_gw=() right_gw=() leftb_gw=() connected=()
    local cl=1 side
    last="r$ROUTERS"
    case $node in
    c | c2)
        [[ $node == c2 ]] && cl=201
        if [[ $fam == 4 ]]; then
            echo "route replace default via 10.99.$cl.2 dev right"
            for dst in 10.65.0.0/16 10.66.0.0/16 10.67.0.0/16 10.77.128.0/20 10.78.0.0/16; do
                echo "route replace $dst via 10.99.$cl.2 dev right"
            done
        else
            echo "route replace default via fd00:99:$cl::2 dev right"
            for dst in fd00:65::/32 fd00:66::/32 fd00:67::/32 fd00:77::/64; do
                echo "route replace $dst via fd00:99:$cl::2 dev right"
            done
        fi
        return 0
        ;;
    d)
        id=$((ROUTERS + 1))
        if [[ $fam == 4 ]]; then
            echo "route replace default via $(a4 "$id" 1) dev left"
            echo "route replace local 10.77.128.0/20 dev lo"
            echo "route replace local 10.78.0.0/16 dev lo"
        else
            echo "route replace default via $(a6 "$id" 1) dev left"
            echo "route replace local fd00:77::/64 dev lo"
        fi
        return 0
        ;;
    esac
    p=$(node_pos "$node")
    while read -r ifn id end nend; do
        connected+=("$id")
        case $ifn in
        left) left_gw+=("$id $nend $ifn") ;;
        # --sites 2: r2's second left side leads to site 2 only (below). With --ecmp, r3's
        # leftb is not a way back (the way back is r3 -> r2a).
        leftb) if ((SITES == 2)); then leftb_gw+=("$id $nend $ifn"); fi ;;
        right | rightb) right_gw+=("$id $nend $ifn") ;;
        esac
    done < <(node_ifaces "$node")
    # `reroute --via` (VIA_ONLY): r1 keeps only the gateway of that branch of the ECMP pair.
    if [[ -n ${VIA_ONLY:-} && ${#right_gw[@]} -gt 1 ]]; then
        if [[ $VIA_ONLY == r2a ]]; then right_gw=("${right_gw[0]}"); else right_gw=("${right_gw[1]}"); fi
    fi
    for i in "${!L_ID[@]}"; do
        id=${L_ID[$i]}
        [[ " ${connected[*]} " == *" $id "* ]] && continue
        side=
        if ((SITES == 2)); then
            # Site 1's access r1 and site 2's r1b reach everything not behind them through r2;
            # r2 reaches site 2's networks through r1b (leftb).
            if [[ $node == r1b ]] || { ((id >= 200)) && [[ $node == r1 ]]; }; then side=right
            elif ((id >= 200)) && [[ $node == r2 ]]; then side=leftb; fi
        fi
        if [[ $side == leftb ]]; then
            if [[ $fam == 4 ]]; then route_line 4 "10.99.$id.0/24" "${leftb_gw[@]}"
            else route_line 6 "fd00:99:$id::/64" "${leftb_gw[@]}"; fi
        elif [[ $side != right ]] && ((L_POS[i] <= p)); then
            if [[ $fam == 4 ]]; then route_line 4 "10.99.$id.0/24" "${left_gw[@]}"
            else route_line 6 "fd00:99:$id::/64" "${left_gw[@]}"; fi
        else
            if [[ $fam == 4 ]]; then route_line 4 "10.99.$id.0/24" "${right_gw[@]}"
            else route_line 6 "fd00:99:$id::/64" "${right_gw[@]}"; fi
        fi
    done
    if [[ $fam == 4 ]]; then
        route_line 4 10.77.128.0/20 "${right_gw[@]}"
        route_line 4 10.78.0.0/16 "${right_gw[@]}"
        if [[ $node == "$last" ]]; then echo "route replace prohibit 10.67.0.0/16"
        else route_line 4 10.67.0.0/16 "${right_gw[@]}"; fi
        if [[ $node == r1 ]]; then
            echo "route replace unreachable 10.66.0.0/16"
            echo "route replace unreachable 10.65.0.0/16"
        fi
    else
        route_line 6 fd00:77::/64 "${right_gw[@]}"
        if [[ $node == "$last" ]]; then echo "route replace prohibit fd00:67::/32"
        else route_line 6 fd00:67::/32 "${right_gw[@]}"; fi
        if [[ $node == r1 ]]; then
            echo "route replace unreachable fd00:66::/32"
            echo "route replace unreachable fd00:65::/32"
        fi
    fi
}

apply_routes() { # node
    local ns
    ns=$(ns_of "$1")
    node_routes "$1" 4 | ip -n "$ns" -4 -batch - || die "IPv4 routes failed in $ns"
    node_routes "$1" 6 | ip -n "$ns" -6 -batch - || die "IPv6 routes failed in $ns"
}

# Deterministic ICMP errors for the special networks.  The routes alone would
# answer through ip_error(), whose per-source token bucket (global sysctl
# net.ipv4.route.error_cost/error_burst, shared with icmp_ratelimit state)
# silently eats errors after a traceroute; nft reject is not rate limited.
apply_base_nft() { # node
    local node=$1 rules=
    [[ $node == r1 ]] && rules+="
        ip daddr 10.66.0.0/16 reject with icmp type net-unreachable
        ip6 daddr fd00:66::/32 reject with icmpv6 type no-route
        ip daddr 10.65.0.0/16 reject with icmp type host-unreachable
        ip6 daddr fd00:65::/32 reject with icmpv6 type addr-unreachable"
    [[ $node == "r$ROUTERS" ]] && rules+="
        ip daddr 10.67.0.0/16 reject with icmp type admin-prohibited
        ip6 daddr fd00:67::/32 reject with icmpv6 type admin-prohibited"
    [[ -z $rules ]] && return 0
    nsx "$(ns_of "$node")" nft -f - <<EOF
table inet ispc_base {
    chain prerouting {
        type filter hook prerouting priority 0; policy accept;$rules
    }
}
EOF
}

offload_off() { # ns dev...
    local ns=$1 dev
    shift
    for dev in "$@"; do
        nsx "$ns" ethtool -K "$dev" tx off tso off gso off >/dev/null 2>&1 ||
            die "ethtool -K $dev tx off tso off gso off failed in $ns"
    done
}

mode_name() { if ((REALISTIC)); then echo realistic; else echo idealised; fi; }

load_state() {
    [[ -f $STATE_FILE ]] || die "lab '$PREFIX' is not up (no $STATE_FILE); run: lab.sh up --prefix $PREFIX"
    REALISTIC=0 # state files written before the realistic mode existed
    SITES=1
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    build_model
}

require_node() { # sets NODE
    NODE=$(canon_node "$1")
    is_node "$NODE" || die "no node '$1' in lab '$PREFIX' (nodes: ${NODES[*]})"
    ns_exists "$(ns_of "$NODE")" || die "namespace $(ns_of "$NODE") does not exist"
}

# ------------------------------------------------------------------- down

ancestors() { # pids of this shell and its ancestors
    local pid=$$
    while [[ -n $pid && $pid != 0 && $pid != 1 ]]; do
        echo "$pid"
        pid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)
    done
}

kill_ns_pids() { # ns...
    local ns pid round mine pids
    mine=" $(ancestors | tr '\n' ' ') "
    for round in 1 2 3 4 5 6 7 8 9 10 11 12; do
        pids=()
        for ns in "$@"; do
            while read -r pid; do
                [[ -n $pid && $mine != *" $pid "* ]] && pids+=("$pid")
            done < <(ip netns pids "$ns" 2>/dev/null || true)
        done
        [[ ${#pids[@]} -eq 0 ]] && return 0
        if ((round < 10)); then kill -TERM "${pids[@]}" 2>/dev/null || true
        else kill -KILL "${pids[@]}" 2>/dev/null || true; fi
        sleep 0.1
    done
    return 0
}

# True if $1 is a live (not zombie) isp-lab-relay process.  Zombies happen
# where PID 1 does not reap orphans; they hold no sockets.
relay_alive() {
    local stat
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat == *"(isp-lab-relay) "* ]] || return 1
    [[ ${stat#*) } != Z* ]]
}

kill_pidfiles() { # run dir
    local f pid
    for f in "$1"/relay-*.pid; do
        [[ -f $f ]] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        relay_alive "$pid" && kill -TERM "$pid" 2>/dev/null
    done
    return 0
}

teardown() { # ns regex, etc regex-glob run dirs...
    local regex=$1 ns d
    local -a nss
    shift
    mapfile -t nss < <(list_ns "$regex")
    for d in "$@"; do [[ -d $d ]] && kill_pidfiles "$d"; done
    if [[ ${#nss[@]} -gt 0 ]]; then
        kill_ns_pids "${nss[@]}"
        for ns in "${nss[@]}"; do
            ip netns del "$ns" 2>/dev/null || true
        done
    fi
    return 0
}

do_down() { # prefix
    local p=$1 regex d
    regex=$(ns_regex "$p")
    teardown "$regex" "$RUN_ROOT/$p"
    if [[ -d $NETNS_ETC ]]; then
        for d in "$NETNS_ETC"/"$p"-*; do
            [[ -e $d ]] || continue
            [[ $(basename "$d") =~ $regex ]] && rm -rf -- "$d"
        done
    fi
    rm -rf -- "${RUN_ROOT:?}/$p"
    return 0
}

cmd_down() {
    set +e
    trap - ERR
    do_down "$PREFIX"
    exit 0
}

cmd_down_all() {
    local d
    local -a dirs=()
    set +e
    trap - ERR
    for d in "$RUN_ROOT"/ispc*; do [[ -d $d ]] && dirs+=("$d"); done
    teardown '^ispc' "${dirs[@]}"
    for d in "$NETNS_ETC"/ispc*; do [[ -e $d ]] && rm -rf -- "$d"; done
    for d in "${dirs[@]}"; do rm -rf -- "$d"; done
    exit 0
}

# --------------------------------------------------------------------- up

UP_DONE=1
up_exit() {
    local rc=$?
    if ((UP_DONE == 0)); then
        trap - ERR
        echo "lab.sh: up --prefix $PREFIX failed; tearing down" >&2
        do_down "$PREFIX" || true
        ((rc == 0)) && rc=1
    fi
    exit "$rc"
}

write_etc() {
    local node ns n last dir
    last=$((ROUTERS + 1))
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        dir=$NETNS_ETC/$ns
        mkdir -p "$dir"
        echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
        {
            echo "127.0.0.1 localhost"
            echo "::1 localhost"
            echo "$(a4 "$last" 2) dest.lab"
            echo "$(a6 "$last" 2) dest6.lab"
            echo "$(a4 "$last" 2) dual.lab"
            echo "$(a6 "$last" 2) dual.lab"
            echo "10.99.1.1 client.lab"
            echo "fd00:99:1::1 client6.lab"
            for n in "${NODES[@]}"; do
                is_router "$n" || continue
                echo "$(main_addr "$n" 0) $n.lab"
                echo "$(main_addr "$n" 1) ${n}-6.lab"
            done
        } >"$dir/hosts"
    done
}

cmd_up() {
    local node ns i ifn id end dest4 dest6 common
    [[ $ROUTERS =~ ^[1-8]$ ]] || die "--routers must be 1..8 (got '$ROUTERS')"
    ((ECMP == 0 || ROUTERS >= 3)) || die "--ecmp needs --routers >= 3"
    [[ $SITES =~ ^[12]$ ]] || die "--sites must be 1 or 2 (got '$SITES')"
    ((SITES == 1 || (ECMP == 0 && ROUTERS >= 2))) || die "--sites 2 needs --routers >= 2 and no --ecmp"
    command -v ethtool >/dev/null || die "ethtool not installed (apt-get install ethtool)"
    command -v nft >/dev/null || die "nft not installed (apt-get install nftables)"
    build_model

    do_down "$PREFIX"
    UP_DONE=0
    trap up_exit EXIT

    mkdir -p "$RUN_DIR"
    REALISTIC=$OPT_REALISTIC
    printf 'ROUTERS=%s\nECMP=%s\nREALISTIC=%s\nSITES=%s\n' "$ROUTERS" "$ECMP" "$REALISTIC" "$SITES" >"$STATE_FILE"

    # Idealised: no ICMP type is rate limited (ratemask empty): besides the per-destination
    # limit, the namespace-wide bucket (icmp_msgs_per_sec) starts empty, and while the first
    # error refills it a second one on another CPU is dropped (IcmpOutRateLimitGlobal): a fresh
    # lab's first two concurrent traces then lost one hop.  Tests that want rate limiting use
    # nftables `limit`.  Realistic: the kernel's defaults stay, as on every real host and
    # router (icmp_ratelimit 1000 ms per destination, burst 6; icmp_msgs_per_sec 1000, burst
    # 50; IPv6 ratelimit 100 ms).
    common=
    ((REALISTIC)) || common="net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
        net.ipv4.icmp_ratemask=0 net.ipv6.icmp.ratemask=
        net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=10000"
    common+="
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0
        net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
        net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0"
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        ip netns add "$ns" || die "cannot create namespace $ns"
        ip -n "$ns" link set lo up
        # shellcheck disable=SC2086
        nsx "$ns" sysctl -q -w $common >/dev/null
        if is_router "$node"; then
            nsx "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
        fi
        if ((ECMP)) && [[ $node == r1 ]]; then
            # Policy 3 (custom fields) = L4 5-tuple from the packet headers.
            # Policy 1 would reuse skb->hash, which veth carries over from the
            # sending socket's random sk_txhash: every traceroute probe socket
            # would then pick a random path even with identical ports.
            nsx "$ns" sysctl -q -w net.ipv4.fib_multipath_hash_policy=3 \
                net.ipv4.fib_multipath_hash_fields=0x0037 \
                net.ipv6.fib_multipath_hash_policy=3 \
                net.ipv6.fib_multipath_hash_fields=0x0037 >/dev/null
        fi
    done

    for i in "${!L_ID[@]}"; do
        ip link add name "${L_LIF[$i]}" netns "$(ns_of "${L_LN[$i]}")" type veth \
            peer name "${L_RIF[$i]}" netns "$(ns_of "${L_RN[$i]}")" ||
            die "cannot create veth for link ${L_ID[$i]}"
    done

    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        while read -r ifn id end _; do
            # Realistic: veth's default, tx checksum/TSO/GSO offload on, as in every container.
            ((REALISTIC)) || offload_off "$ns" "$ifn"
            ip -n "$ns" addr add "$(a4 "$id" "$end")/24" dev "$ifn"
            ip -n "$ns" -6 addr add "$(a6 "$id" "$end")/64" dev "$ifn" nodad
            ip -n "$ns" link set "$ifn" up
        done < <(node_ifaces "$node")
    done

    for node in "${NODES[@]}"; do
        apply_routes "$node"
        apply_base_nft "$node"
    done
    write_etc

    dest4=$(a4 $((ROUTERS + 1)) 2)
    dest6=$(a6 $((ROUTERS + 1)) 2)
    nsx "$(ns_of c)" ping -q -c 1 -W 2 "$dest4" >/dev/null || die "self-check: client cannot ping $dest4"
    nsx "$(ns_of c)" ping -q -6 -c 1 -W 2 "$dest6" >/dev/null || die "self-check: client cannot ping $dest6"
    if ((SITES == 2)); then
        nsx "$(ns_of c2)" ping -q -c 1 -W 2 "$dest4" >/dev/null || die "self-check: site 2's client cannot ping $dest4"
        nsx "$(ns_of c2)" ping -q -6 -c 1 -W 2 "$dest6" >/dev/null || die "self-check: site 2's client cannot ping $dest6"
        nsx "$(ns_of c2)" ping -q -c 1 -W 2 10.99.1.1 >/dev/null || die "self-check: site 2's client cannot ping site 1's"
    fi

    UP_DONE=1
    trap - EXIT
    echo "lab $PREFIX up ($(mode_name)): nodes ${NODES[*]} (ecmp=$ECMP, sites=$SITES); client 10.99.1.1$( ((SITES == 2)) && echo ", client 2 10.99.201.1"), dest $dest4 / $dest6"
}

# -------------------------------------------------------------- nft knobs

nft_replace_table() { # ns family name body
    local ns=$1 fam=$2 name=$3 body=$4
    nsx "$ns" nft -f - <<EOF
table $fam $name
delete table $fam $name
table $fam $name {
$body
}
EOF
}

nft_delete_table() { # ns family name
    nsx "$1" nft delete table "$2" "$3" 2>/dev/null || true
}

node_option() {
    [[ -n $OPT_NODE ]] || die "$SUB needs --node NODE"
    require_node "$OPT_NODE"
}

cmd_loss() {
    local ns whole frac thr iif_fwd iif_rev rules
    load_state
    node_option
    is_router "$NODE" || die "loss applies to routers only (forward hook); got '$NODE'"
    [[ $OPT_PERCENT =~ ^([0-9]{1,3})(\.([0-9]{1,2}))?$ ]] || die "--percent must be 0..100 (up to 2 decimals)"
    whole=${BASH_REMATCH[1]}
    frac=${BASH_REMATCH[3]:-0}
    [[ ${#frac} -eq 1 ]] && frac=${frac}0
    thr=$((10#$whole * 100 + 10#$frac))
    ((thr <= 10000)) || die "--percent must be 0..100"
    ns=$(ns_of "$NODE")
    if ((thr == 0)); then
        nft_delete_table "$ns" inet ispc_loss
        echo "loss on $NODE removed"
        return 0
    fi
    iif_fwd='iifname { "left", "leftb" }'
    iif_rev='iifname { "right", "rightb" }'
    # 100 % is every packet: numgen's range ends at 9999, so no comparison at all.
    draw="numgen random mod 10000 < $thr"
    ((thr == 10000)) && draw=
    case $OPT_DIR in
    both) rules="        $draw drop" ;;
    forward) rules="        $iif_fwd $draw drop" ;;
    reverse) rules="        $iif_rev $draw drop" ;;
    *) die "--dir must be both, forward or reverse" ;;
    esac
    nft_replace_table "$ns" inet ispc_loss "    chain forward {
        type filter hook forward priority 0; policy accept;
$rules
    }"
    echo "loss on $NODE: $OPT_PERCENT% ($OPT_DIR)"
}

cmd_ratelimit() {
    local ns
    load_state
    node_option
    if ((OPT_VENDOR)); then
        # One time-exceeded/unreachable per 500 ms: a common default of router control planes.
        [[ -z $OPT_RATE && $OPT_BURST == 5 ]] || die "--vendor sets the rate and burst itself; give no --rate/--burst"
        OPT_RATE=2/second
        OPT_BURST=1
    fi
    [[ $OPT_RATE =~ ^[0-9]+/(second|minute|hour|day)$ ]] || die "--rate must look like 10/second"
    if ! [[ $OPT_BURST =~ ^[0-9]+$ ]] || ((OPT_BURST < 1)); then die "--burst must be a positive integer"; fi
    ns=$(ns_of "$NODE")
    nft_replace_table "$ns" inet ispc_ratelimit "    chain output {
        type filter hook output priority 0; policy accept;
        icmp type { time-exceeded, destination-unreachable } limit rate over $OPT_RATE burst $OPT_BURST packets drop
        icmpv6 type { time-exceeded, destination-unreachable } limit rate over $OPT_RATE burst $OPT_BURST packets drop
    }"
    echo "ratelimit on $NODE: ICMP errors over $OPT_RATE (burst $OPT_BURST) dropped"
}

cmd_silent() {
    local ns
    load_state
    node_option
    ns=$(ns_of "$NODE")
    nft_replace_table "$ns" inet ispc_silent "    chain output {
        type filter hook output priority 0; policy accept;
        icmp type { time-exceeded, destination-unreachable } drop
        icmpv6 type { time-exceeded, destination-unreachable, packet-too-big } drop
    }"
    echo "silent on $NODE"
}

# Drops, in order, DROP of every EVERY echo requests to an address or prefix (nftables
# numgen inc: deterministic, each rule counts only its own packets). Rules accumulate in
# table inet ispc_echodrop (input and forward hooks); `clear` removes them.
cmd_echo_drop() {
    local ns match
    load_state
    node_option
    [[ -n $OPT_TO ]] || die "echo-drop needs --to ADDRESS[/LEN]"
    [[ $OPT_TO =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] || die "--to must be an IPv4/IPv6 address or prefix, got '$OPT_TO'"
    [[ $OPT_DROP =~ ^[0-9]+$ && $OPT_EVERY =~ ^[0-9]+$ ]] || die "echo-drop needs --drop K --every N (integers)"
    ((OPT_EVERY >= 1 && OPT_DROP <= OPT_EVERY)) || die "need 1 <= --every and --drop <= --every"
    if [[ $OPT_TO == *:* ]]; then
        match="ip6 daddr $OPT_TO icmpv6 type echo-request"
    else
        match="ip daddr $OPT_TO icmp type echo-request"
    fi
    ns=$(ns_of "$NODE")
    nsx "$ns" nft -f - <<NFT
table inet ispc_echodrop {
    chain input { type filter hook input priority 0; policy accept; }
    chain forward { type filter hook forward priority 0; policy accept; }
}
add rule inet ispc_echodrop input $match numgen inc mod $OPT_EVERY < $OPT_DROP drop
add rule inet ispc_echodrop forward $match numgen inc mod $OPT_EVERY < $OPT_DROP drop
NFT
    echo "echo-drop on $NODE: $OPT_DROP of every $OPT_EVERY echo requests to $OPT_TO"
}

# A host that filters traceroute: UDP to its own ports 33434-65535 is dropped on input, so
# UDP probes that reach it get no port-unreachable (ICMP echo and TCP still answer).
cmd_udp_drop() {
    local ns
    load_state
    node_option
    ns=$(ns_of "$NODE")
    nft_replace_table "$ns" inet ispc_udpdrop "    chain input {
        type filter hook input priority 0; policy accept;
        udp dport >= 33434 drop
    }"
    echo "udp-drop on $NODE: UDP to its ports 33434-65535 dropped"
}

# One family broken at a router: rK forwards nothing of that family (its own ICMP errors still
# go out), as a tunnel, a firewall rule or a missing route breaks IPv6 (or IPv4) alone.
cmd_family_drop() {
    local ns proto
    load_state
    node_option
    is_router "$NODE" || die "$SUB applies to routers; got '$NODE'"
    case $OPT_FAMILY in
    4) proto=ipv4 ;;
    6) proto=ipv6 ;;
    *) die "family-drop needs --family 4 or 6; got '$OPT_FAMILY'" ;;
    esac
    ns=$(ns_of "$NODE")
    nft_replace_table "$ns" inet ispc_familydrop "    chain forward {
        type filter hook forward priority 0; policy accept;
        meta nfproto $proto drop
    }"
    echo "family-drop on $NODE: forwards no IPv$OPT_FAMILY"
}

cmd_clear() {
    local ns t
    load_state
    node_option
    ns=$(ns_of "$NODE")
    for t in ispc_loss ispc_ratelimit ispc_silent ispc_echodrop ispc_udpdrop ispc_familydrop; do nft_delete_table "$ns" inet "$t"; done
    echo "cleared loss/ratelimit/silent/echo-drop/udp-drop/family-drop on $NODE"
}

# ------------------------------------------------------------------ delay

ensure_relay() {
    local tmp
    if [[ -x $RELAY_BIN && ! $RELAY_SRC -nt $RELAY_BIN ]]; then return 0; fi
    command -v cc >/dev/null || die "cc not found (apt-get install gcc)"
    mkdir -p "$BIN"
    tmp=$(mktemp "$BIN/.isp-lab-relay.XXXXXX")
    if ! cc -O2 -Wall -Wextra -o "$tmp" "$RELAY_SRC"; then
        rm -f "$tmp"
        die "compiling $RELAY_SRC failed"
    fi
    mv -f "$tmp" "$RELAY_BIN"
}

stop_relay() { # pidfile
    local pid i
    [[ -f $1 ]] || return 0
    pid=$(cat "$1" 2>/dev/null || true)
    if relay_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 50); do
            relay_alive "$pid" || break
            sleep 0.05
        done
        relay_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$1"
}

# The interface ("NODE IFNAME") at the other end of link $1 from node $2.
link_neighbour() {
    local i
    for i in "${!L_ID[@]}"; do
        [[ ${L_ID[$i]} == "$1" ]] || continue
        if [[ ${L_LN[$i]} == "$2" ]]; then echo "${L_RN[$i]} ${L_RIF[$i]}"; else echo "${L_LN[$i]} ${L_LIF[$i]}"; fi
        return 0
    done
    return 0
}

cmd_delay() {
    local ns side tag wire peer us id end nend mac pidfile logfile pid i neigh wait_s ok nnode nif
    local -a rate_args=()
    if [[ -n $OPT_KBIT ]]; then
        [[ $OPT_KBIT =~ ^[0-9]+$ ]] && ((OPT_KBIT >= 8 && OPT_KBIT <= 10000000)) ||
            die "--kbit must be a whole number of kbit/s, 8..10000000"
        OPT_QUEUE_MS=${OPT_QUEUE_MS:-200}
        [[ $OPT_QUEUE_MS =~ ^[0-9]+$ ]] && ((OPT_QUEUE_MS >= 1 && OPT_QUEUE_MS <= 10000)) ||
            die "--queue-ms must be a whole number of milliseconds, 1..10000"
        rate_args=(--rate-kbit "$OPT_KBIT" --queue-ms "$OPT_QUEUE_MS")
    fi
    load_state
    node_option
    side=$OPT_SIDE
    case $side in
    left | right | leftb | rightb) ;;
    *) die "--side must be left or right (leftb/rightb on ECMP r3/r1)" ;;
    esac
    [[ $OPT_MS =~ ^[0-9]+(\.[0-9]{1,3})?$ ]] || die "--ms must be a number of milliseconds (e.g. 20 or 2.5)"
    us=$(awk -v m="$OPT_MS" 'BEGIN { printf "%d", m * 1000 + 0.5 }')
    ((us <= 60000000)) || die "--ms must be at most 60000"
    read -r id end nend < <(iface_link "$NODE" "$side") || true
    [[ -n ${id:-} ]] || die "node $NODE has no '$side' interface"
    ns=$(ns_of "$NODE")
    case $side in left) tag=l ;; right) tag=r ;; leftb) tag=lb ;; rightb) tag=rb ;; esac
    wire=${tag}wire
    peer=${tag}peer
    ensure_relay
    mkdir -p "$RUN_DIR"
    pidfile=$RUN_DIR/relay-$NODE-$side.pid
    logfile=$RUN_DIR/relay-$NODE-$side.log

    if ! ip -n "$ns" link show dev "$wire" >/dev/null 2>&1; then
        mac=$(ip -n "$ns" -br link show dev "$side" | awk '{print $3}')
        [[ $mac =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die "cannot read MAC of $side in $ns"
        ip -n "$ns" link set dev "$side" down
        ip -n "$ns" addr flush dev "$side"
        ip -n "$ns" link set dev "$side" name "$wire"
        nsx "$ns" sysctl -q -w "net.ipv6.conf.$wire.disable_ipv6=1" >/dev/null
        ip -n "$ns" link set dev "$wire" arp off
        ip -n "$ns" link add name "$side" type veth peer name "$peer"
        nsx "$ns" sysctl -q -w "net.ipv6.conf.$peer.disable_ipv6=1" >/dev/null
        ip -n "$ns" link set dev "$peer" arp off
        ip -n "$ns" link set dev "$side" address "$mac"
        nsx "$ns" nft -f - <<EOF
table netdev ispc_relay_$side {
    chain wire_in {
        type filter hook ingress device "$wire" priority 0; policy drop;
    }
    chain peer_in {
        type filter hook ingress device "$peer" priority 0; policy drop;
    }
}
EOF
        # Every end that transmits into the relay (side -> peer, and the neighbour's end ->
        # wire) must send full checksums: AF_PACKET hands over a CHECKSUM_PARTIAL frame as it
        # is, and the relay's copy then arrives with a bad checksum.  In the realistic mode the
        # neighbour's end had offload on; the rest of the lab keeps it.
        offload_off "$ns" "$wire" "$peer" "$side"
        read -r nnode nif < <(link_neighbour "$id" "$NODE") || true
        [[ -n ${nif:-} ]] || die "cannot find the neighbour of $NODE across link $id"
        offload_off "$(ns_of "$nnode")" "$nif"
        ip -n "$ns" link set dev "$wire" up
        ip -n "$ns" link set dev "$peer" up
        ip -n "$ns" link set dev "$side" up
        ip -n "$ns" addr add "$(a4 "$id" "$end")/24" dev "$side"
        ip -n "$ns" -6 addr add "$(a6 "$id" "$end")/64" dev "$side" nodad
        apply_routes "$NODE"
    fi

    stop_relay "$pidfile"
    : >"$logfile"
    nohup ip netns exec "$ns" "$RELAY_BIN" "$wire" "$peer" "$us" "${rate_args[@]}" </dev/null >>"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    ok=0
    for i in $(seq 100); do
        if grep -q '^ready' "$logfile" 2>/dev/null; then ok=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if ((ok == 0)); then
        cat "$logfile" >&2 || true
        die "relay in $ns ($wire<->$peer) did not start"
    fi
    # Ready means bound; now prove frames cross it both ways.
    wait_s=$(awk -v u="$us" 'BEGIN { printf "%.1f", 2 * u / 1e6 + 1 }')
    for neigh in "$(a4 "$id" "$nend")" "$(a6 "$id" "$nend")"; do
        ok=0
        for i in 1 2 3 4 5; do
            if nsx "$ns" ping -q -c 1 -W "$wait_s" "$neigh" >/dev/null 2>&1; then ok=1; break; fi
        done
        ((ok)) || die "no ping across the relay from $NODE to $neigh"
    done
    if [[ -n $OPT_KBIT ]]; then
        echo "bottleneck on $NODE $side: $OPT_KBIT kbit/s each way, FIFO $OPT_QUEUE_MS ms, ${OPT_MS} ms delay (relay pid $pid, log $logfile)"
    else
        echo "delay on $NODE $side: ${OPT_MS} ms each way (relay pid $pid, log $logfile)"
    fi
}

cmd_bottleneck() {
    [[ -n $OPT_KBIT ]] || die "bottleneck needs --kbit K (the link's rate, kbit/s)"
    OPT_MS=${OPT_MS:-0}
    cmd_delay
}

# A TCP sink and source in one (lab/bulk_server.py): the far end of a bulk flow that loads
# the path. Its pid joins the relays' so that `down` stops it.
cmd_bulk_server() {
    local ns addr pidfile logfile pid i
    load_state
    node_option
    [[ $OPT_PORT =~ ^[0-9]+$ ]] && ((OPT_PORT >= 1 && OPT_PORT <= 65535)) || die "--port must be 1..65535"
    command -v python3 >/dev/null || die "python3 not found (apt-get install python3)"
    ns=$(ns_of "$NODE")
    addr=$(main_addr "$NODE" 0)
    mkdir -p "$RUN_DIR"
    pidfile=$RUN_DIR/bulk-$NODE-$OPT_PORT.pid
    logfile=$RUN_DIR/bulk-$NODE-$OPT_PORT.log
    : >"$logfile"
    nohup ip netns exec "$ns" python3 "$LAB_DIR/bulk_server.py" "$addr" "$OPT_PORT" </dev/null >>"$logfile" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    for i in $(seq 100); do
        if grep -q '^ready' "$logfile" 2>/dev/null; then
            echo "bulk server on $NODE $addr:$OPT_PORT (pid $pid, log $logfile)"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$logfile" >&2 || true
    die "the bulk server in $ns did not start"
}

# ------------------------------------------------------------ MTU and NAT

# The link after rK (rK's right end and its neighbour's left end) gets a smaller MTU. A router
# whose next link is too small for a packet with DF answers "fragmentation needed" (RFC 1191)
# or "packet too big" (RFC 8201); with --blackhole both ends drop those errors, as a filter that
# blocks all ICMP does: small packets pass, large ones vanish (RFC 2923 §2.1).
cmd_mtu() {
    local ns id end nend nnode nif
    load_state
    node_option
    is_router "$NODE" || die "mtu applies to routers (the link after rK); got '$NODE'"
    [[ $OPT_MTU =~ ^[0-9]{3,4}$ ]] && ((OPT_MTU >= 576 && OPT_MTU <= 1500)) || die "--mtu must be 576..1500"
    ns=$(ns_of "$NODE")
    read -r id end nend < <(iface_link "$NODE" right) || true
    [[ -n ${id:-} ]] || die "node $NODE has no 'right' interface"
    read -r nnode nif < <(link_neighbour "$id" "$NODE") || true
    [[ -n ${nif:-} ]] || die "cannot find the neighbour of $NODE across link $id"
    ip -n "$ns" link set dev right mtu "$OPT_MTU"
    ip -n "$(ns_of "$nnode")" link set dev "$nif" mtu "$OPT_MTU"
    for n in "$NODE" "$nnode"; do
        if ((OPT_BLACKHOLE)); then
            nft_replace_table "$(ns_of "$n")" inet ispc_mtu "    chain output {
        type filter hook output priority 0; policy accept;
        icmp type destination-unreachable icmp code frag-needed drop
        icmpv6 type packet-too-big drop
    }"
        else
            nft_delete_table "$(ns_of "$n")" inet ispc_mtu
        fi
    done
    echo "mtu $OPT_MTU on the link $NODE-$nnode$( ((OPT_BLACKHOLE)) && echo ' (black hole: no frag-needed / packet-too-big)')"
}

# NAT rules of rK: masquerade out of its right side (conntrack translates the ICMP errors that
# come back, quoted packet included, RFC 5508 §4.1); for cgnat also the source of rK's own ICMP
# errors rewritten to 100.64.K.1, the shared address space an ISP's CGNAT sits in (RFC 6598).
nat_rules() { # cgnat(0/1)
    local k=${NODE#r} rules
    rules="    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        oifname \"right\" masquerade
    }"
    (($1)) && rules+="
    chain errors {
        type filter hook output priority 0; policy accept;
        oifname \"left\" icmp type { time-exceeded, destination-unreachable } ip saddr set 100.64.$k.1
    }"
    echo "$rules"
}

cmd_nat() {
    local cg=$1
    load_state
    node_option
    is_router "$NODE" || die "$SUB applies to routers; got '$NODE'"
    ((ECMP == 0)) || die "$SUB needs a lab without --ecmp"
    nft_replace_table "$(ns_of "$NODE")" ip ispc_nat "$(nat_rules "$cg")"
    if ((cg)); then echo "cgnat on $NODE: masquerade onward, ICMP errors from 100.64.${NODE#r}.1"
    else echo "nat on $NODE: masquerade onward"; fi
}

# A stateless 1:1 NAT on rK (RFC 2663 "basic NAT" plus a port rewrite), as stateless NAT44
# boxes and some carrier NATs do: the client's address becomes STATELESS_NAT_ADDRESS and its
# UDP/TCP source port is XORed with 0x2000 (a bijection, so the way back needs no state), by
# nft payload rewrites that fix the IP and L4 checksums (csum_flags pseudo-header). With notrack
# conntrack never sees the flow, so nothing translates the packet an ICMP error from beyond rK
# quotes (RFC 5508 §4.1 is conntrack's job): it still carries the translated address, port and
# UDP/TCP checksum, while the error's own header is translated back to the client. rK's own
# errors quote the probe as it arrived (the rewrite is in postrouting, after the TTL check).
# Every router past rK routes the address back to rK.
STATELESS_NAT_ADDRESS=198.51.100.7
cmd_stateless_nat() {
    local k j client=10.99.1.1 pub=$STATELESS_NAT_ADDRESS ns
    load_state
    node_option
    is_router "$NODE" || die "$SUB applies to routers; got '$NODE'"
    ((ECMP == 0)) || die "$SUB needs a lab without --ecmp"
    k=${NODE#r}
    ns=$(ns_of "$NODE")
    nft_replace_table "$ns" ip ispc_snat "    chain raw_prerouting {
        type filter hook prerouting priority raw; policy accept;
        notrack
    }
    chain raw_output {
        type filter hook output priority raw; policy accept;
        notrack
    }
    chain outbound {
        type filter hook postrouting priority 0; policy accept;
        oifname \"right\" ip saddr $client meta l4proto udp ip saddr set $pub udp sport set udp sport ^ 0x2000
        oifname \"right\" ip saddr $client meta l4proto tcp ip saddr set $pub tcp sport set tcp sport ^ 0x2000
        oifname \"right\" ip saddr $client ip saddr set $pub
    }
    chain inbound {
        type filter hook prerouting priority 0; policy accept;
        iifname \"right\" ip daddr $pub meta l4proto udp ip daddr set $client udp dport set udp dport ^ 0x2000
        iifname \"right\" ip daddr $pub meta l4proto tcp ip daddr set $client tcp dport set tcp dport ^ 0x2000
        iifname \"right\" ip daddr $pub ip daddr set $client
    }"
    for ((j = k + 1; j <= ROUTERS; j++)); do
        ip -n "$(ns_of "r$j")" -4 route replace "$pub/32" via "$(a4 "$j" 1)" dev left ||
            die "route to $pub failed in $(ns_of "r$j")"
    done
    echo "stateless-nat on $NODE: $client -> $pub (ports ^ 0x2000), quotes left untranslated"
}

# A route change between the ECMP pair: r1 sends everything onward through one branch, or
# through both again (r3 always answers back through r2a). Routes are replaced in place (`ip route replace`), so traffic
# moves at once, as when a link fails over.
cmd_reroute() {
    load_state
    ((ECMP)) || die "reroute needs a lab built with --ecmp (two parallel routers, r2a and r2b)"
    case $OPT_VIA in
    r2a | r2b) VIA_ONLY=$OPT_VIA ;;
    both) VIA_ONLY= ;;
    *) die "reroute needs --via r2a, r2b or both; got '$OPT_VIA'" ;;
    esac
    apply_routes r1
    echo "reroute: r1 forwards onward via $OPT_VIA"
}

# ------------------------------------------------------------ DNS interception, captive portal

# A middlebox answering in the name of others: rK DNATs what arrives on its left side to a
# server of its own on its left address (so a hop-limited query is answered at hop K, and a
# query to an address that runs no resolver is answered too). The servers run in rK's
# namespace and end with the lab (`down` kills every process of the lab's namespaces).
intercept_common() { # what
    load_state
    node_option
    is_router "$NODE" || die "$1 applies to routers; got '$NODE'"
    mkdir -p "$RUN_DIR"
}

wait_listen() { # ns, ss filter args (-Hlun / -Hltn), port
    for _ in $(seq 1 50); do
        ip netns exec "$1" ss "$2" "sport = :$3" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

cmd_dns_intercept() {
    local ns addr conf
    intercept_common dns-intercept
    ns=$(ns_of "$NODE")
    addr=$(main_addr "$NODE" 0)
    conf=$RUN_DIR/unbound-$NODE.conf
    # Answers only from local data: "." is refused, so it never recurses (no root server is
    # ever asked: nothing leaves the lab). id.server / hostname.bind give the identity (RFC 4892).
    printf '%s\n' "server:" \
        "    interface: $addr" "    port: 53" "    access-control: 0.0.0.0/0 allow" \
        "    identity: \"intercept-$NODE\"" "    hide-identity: no" "    username: \"\"" "    chroot: \"\"" \
        "    directory: \"$RUN_DIR\"" "    pidfile: \"$RUN_DIR/unbound-$NODE.pid\"" "    do-ip6: no" \
        "    use-syslog: no" "    logfile: \"\"" "    verbosity: 0" "    module-config: \"iterator\"" \
        "    local-zone: \".\" refuse" "    local-zone: \"lab.\" static" "    local-data: \"check.lab. 60 IN A $addr\"" \
        "remote-control:" "    control-enable: no" >"$conf"
    ip netns exec "$ns" unbound -d -c "$conf" >"$RUN_DIR/unbound-$NODE.log" 2>&1 &
    wait_listen "$ns" -Hlun 53 || die "unbound did not start on $NODE (see $RUN_DIR/unbound-$NODE.log)"
    nft_replace_table "$ns" ip ispc_dnsint "    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        iifname \"left\" udp dport 53 dnat to $addr
        iifname \"left\" tcp dport 53 dnat to $addr
    }"
    echo "dns-intercept on $NODE: port 53 from the client side answered by unbound at $addr (identity intercept-$NODE)"
}

cmd_captive_portal() {
    local ns addr script
    intercept_common captive-portal
    ns=$(ns_of "$NODE")
    addr=$(main_addr "$NODE" 0)
    script=$RUN_DIR/portal-$NODE.py
    # Every path but /login: 302 to the login page; /login: the page (title "Lab Hotspot Login").
    printf '%s\n' "import http.server" \
        "class Portal(http.server.BaseHTTPRequestHandler):" \
        "    def do_GET(self):" \
        "        if self.path.startswith('/login'):" \
        "            body = b'<html><head><title>Lab Hotspot Login</title></head><body>Accept the terms</body></html>'" \
        "            self.send_response(200)" \
        "        else:" \
        "            body = b'<html><head><title>Redirecting</title></head></html>'" \
        "            self.send_response(302)" \
        "            self.send_header('Location', 'http://$addr/login')" \
        "        self.send_header('Content-Type', 'text/html')" \
        "        self.send_header('Content-Length', str(len(body)))" \
        "        self.end_headers()" \
        "        self.wfile.write(body)" \
        "    def log_message(self, *args):" \
        "        pass" \
        "http.server.HTTPServer(('$addr', 80), Portal).serve_forever()" >"$script"
    ip netns exec "$ns" python3 "$script" >/dev/null 2>&1 &
    wait_listen "$ns" -Hltn 80 || die "the portal did not start on $NODE"
    nft_replace_table "$ns" ip ispc_portal "    chain prerouting {
        type nat hook prerouting priority -100; policy accept;
        iifname \"left\" tcp dport 80 dnat to $addr
    }"
    echo "captive-portal on $NODE: HTTP from the client side answered with a 302 to http://$addr/login"
}

# ------------------------------------------------------------ small ones

cmd_exec() {
    load_state
    [[ ${#POSITIONAL[@]} -eq 1 ]] || die "usage: lab.sh exec [--prefix P] NODE -- CMD [ARGS...]"
    [[ ${#EXEC_CMD[@]} -gt 0 ]] || die "exec needs a command after --"
    require_node "${POSITIONAL[0]}"
    trap - ERR
    exec ip netns exec "$(ns_of "$NODE")" "${EXEC_CMD[@]}"
}

cmd_addr() {
    load_state
    [[ ${#POSITIONAL[@]} -eq 1 ]] || die "usage: lab.sh addr [--prefix P] NODE [--v6]"
    NODE=$(canon_node "${POSITIONAL[0]}")
    is_node "$NODE" || die "no node '${POSITIONAL[0]}' in lab '$PREFIX' (nodes: ${NODES[*]})"
    main_addr "$NODE" "$OPT_V6"
}

cmd_path() {
    local k
    load_state
    for ((k = 1; k <= ROUTERS; k++)); do
        if ((ECMP)) && ((k == 2)); then
            echo "$(main_addr r2a "$OPT_V6") $(main_addr r2b "$OPT_V6")"
        else
            main_addr "r$k" "$OPT_V6"
        fi
    done
    main_addr d "$OPT_V6"
}

cmd_nodes() {
    load_state
    echo "${NODES[*]}"
}

cmd_mode() {
    load_state
    mode_name
}

[[ $EUID -eq 0 || $SUB == "" || $SUB == help || $SUB == addr || $SUB == path || $SUB == nodes || $SUB == mode ]] ||
    die "must run as root"

case $SUB in
up) cmd_up ;;
down) cmd_down ;;
down-all) cmd_down_all ;;
loss) cmd_loss ;;
ratelimit) cmd_ratelimit ;;
echo-drop) cmd_echo_drop ;;
silent) cmd_silent ;;
udp-drop) cmd_udp_drop ;;
clear) cmd_clear ;;
delay) cmd_delay ;;
bottleneck) cmd_bottleneck ;;
bulk-server) cmd_bulk_server ;;
mtu) cmd_mtu ;;
nat) cmd_nat 0 ;;
reroute) cmd_reroute ;;
family-drop) cmd_family_drop ;;
cgnat) cmd_nat 1 ;;
stateless-nat) cmd_stateless_nat ;;
dns-intercept) cmd_dns_intercept ;;
captive-portal) cmd_captive_portal ;;
exec) cmd_exec ;;
addr) cmd_addr ;;
path) cmd_path ;;
nodes) cmd_nodes ;;
mode) cmd_mode ;;
"" | help) usage ;;
*) usage >&2; die "unknown subcommand '$SUB'" ;;
esac
