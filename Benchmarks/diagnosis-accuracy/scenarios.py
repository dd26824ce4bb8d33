#!/usr/bin/env python3
"""The scenario matrix of the diagnosis-accuracy benchmark (standard library only).

Prints one scenario per line, tab-separated, for run.sh:

    NAME  FAMILY  EXPECTED  CATEGORY  FAULTS  DNS

NAME      e.g. loss20-r3, rl1-r2+loss20-r3 (faults joined by "+")
FAMILY    4 or 6
EXPECTED  "Component@hop", "Component" (no hop) or "no fault"
CATEGORY  healthy, loss, ratelimit, silent, pair, silent+loss, latency, udp-drop, dns, outage,
          reverse-loss, mtu, nat, interception, bufferbloat, family, ecmp, path-change (the analysis counts false faults on healthy, ratelimit, silent, udp-drop)
FAULTS    ";"-separated operations run.sh applies after `lab.sh up` (see run.sh: apply_fault)
DNS       1 when the destination runs a DNS server and the check probes it (no --no-dns)

The expected verdict is derived from where the fault was put, never from what isp-checker said:
the lab is client c - r1 - r2 - r3 - r4 - destination d (hop 5). Router rK is hop K; loss made
by rK (it drops what it forwards) shows from hop K+1 on; a delayed link into rK is a latency
step at hop K. Hop 1 is "Local Network", hops 2..3 "ISP Access" (accessHops = 2), farther hops
"Peering/Transit" for loss and "Transit" for latency (Sources/ISPChecker/Analysis/
DiagnosisComponent.swift, docs/scoring.md section 3).

    scenarios.py [--only REGEX] [--v6-subset default|none|all|REGEX] [--pairs all|sample]
"""
import argparse
import re
import sys

ROUTERS = 4
DEST_HOP = ROUTERS + 1
ACCESS_HOPS = 2

LOSS_PERCENTS = (5, 20, 50)
PAIR_LOSS = 20           # loss in the loss + rate-limit pairs and next to silent hops
DELAY_MS = 90            # each way: a 180 ms step, above the 150 ms ping warn threshold
RATE_PROFILES = {        # name: (rate per second, burst)
    "rl1": (1, 1),       # one ICMP error a second, no burst
    "rl2": (2, 1),       # vendor-like, as lab.sh ratelimit --vendor: one every 500 ms
}

# The IPv6 subset run by default (names; each also runs in IPv4).
V6_DEFAULT = [
    "healthy", "loss20-r1", "loss20-r3", "loss50-r4", "rl1-r2", "rl1-d", "rl1-r1+loss20-r3",
    "loss20-r1+rl1-r3", "silent-r2", "delay90-r4", "outage-r1", "udpdrop-d", "rloss20-r2",
    "healthy-pathmtu", "mtubh-r1", "mtubh-r2", "mtubh-r4", "mtuptb-r2",
    "ecmp-healthy", "ecmp-loss30-r2b",
]


def component(hop, kind):
    if hop <= 1:
        return "Local Network"
    if hop <= 1 + ACCESS_HOPS:
        return "ISP Access"
    return "Peering/Transit" if kind == "loss" else "Transit"


def verdict(component_name, hop=None):
    return component_name if hop is None else f"{component_name}@{hop}"


def node_hop(node):
    return DEST_HOP if node == "d" else int(node[1:])


def scenarios(pairs="all"):
    out = []  # (name, expected, category, faults, dns)

    def add(name, expected, category, faults, dns=0):
        out.append((name, expected, category, ";".join(faults), dns))

    add("healthy", "no fault", "healthy", [])
    add("dns-up", "no fault", "healthy", [], dns=1)

    # Loss at each hop: rK drops X % of what it forwards toward the destination.
    for percent in LOSS_PERCENTS:
        for k in range(1, ROUTERS + 1):
            hop = k + 1
            add(f"loss{percent}-r{k}", verdict(component(hop, "loss"), hop), "loss",
                [f"loss r{k} {percent} forward"])

    # Rate limiting at each hop (routers and the destination): a note, never a fault.
    nodes = [f"r{k}" for k in range(1, ROUTERS + 1)] + ["d"]
    for profile, (rate, burst) in RATE_PROFILES.items():
        for node in nodes:
            add(f"{profile}-{node}", "no fault", "ratelimit", [f"ratelimit {node} {rate} {burst}"])

    # Loss from hop j (made by r(j-1)) with rate limiting at hop k != j, both orders.
    pair_list = []
    for k_loss in range(1, ROUTERS + 1):
        loss_hop = k_loss + 1
        for node in nodes:
            rl_hop = node_hop(node)
            if rl_hop == loss_hop:
                continue
            pair_list.append((k_loss, loss_hop, node, rl_hop))
    if pairs == "sample":
        # Keep every adjacent pair (|j - k| = 1) and the farthest pair each way.
        keep = [p for p in pair_list if abs(p[1] - p[3]) == 1]
        before = [p for p in pair_list if p[3] < p[1]]
        after = [p for p in pair_list if p[3] > p[1]]
        for group in (before, after):
            far = max(group, key=lambda p: abs(p[1] - p[3]))
            if far not in keep:
                keep.append(far)
        pair_list = keep
    for k_loss, loss_hop, node, rl_hop in pair_list:
        rate, burst = RATE_PROFILES["rl1"]
        loss = f"loss{PAIR_LOSS}-r{k_loss}"
        rl = f"rl1-{node}"
        name = f"{rl}+{loss}" if rl_hop < loss_hop else f"{loss}+{rl}"
        add(name, verdict(component(loss_hop, "loss"), loss_hop), "pair",
            [f"loss r{k_loss} {PAIR_LOSS} forward", f"ratelimit {node} {rate} {burst}"])

    # Silent hops (no ICMP errors at all; they still forward).
    for k in range(1, ROUTERS + 1):
        add(f"silent-r{k}", "no fault", "silent", [f"silent r{k}"])
    # A silent hop before, inside and after the lossy stretch.
    for silent_k, loss_k in ((1, 3), (2, 3), (3, 1), (4, 2)):
        loss_hop = loss_k + 1
        first, second = (f"silent-r{silent_k}", f"loss{PAIR_LOSS}-r{loss_k}")
        name = f"{first}+{second}" if silent_k < loss_hop else f"{second}+{first}"
        add(name, verdict(component(loss_hop, "loss"), loss_hop), "silent+loss",
            [f"silent r{silent_k}", f"loss r{loss_k} {PAIR_LOSS} forward"])

    # Latency steps: the link into rK holds every frame DELAY_MS each way.
    for k in range(1, ROUTERS + 1):
        add(f"delay{DELAY_MS}-r{k}", verdict(component(k, "latency"), k), "latency",
            [f"delay r{k} {DELAY_MS}"])

    # The destination drops UDP to traceroute ports: the trace cannot reach it, ping can.
    add("udpdrop-d", "no fault", "udp-drop", ["udpdrop"])
    # The destination's DNS server does not answer; IP is fine.
    add("dns-down", "DNS", "dns", ["dnsdown"], dns=1)
    # r1 forwards nothing but still answers TTL 1: Upstream outage, first dark hop 2.
    add("outage-r1", verdict("Upstream", 2), "outage", ["loss r1 100 both"])
    # Loss only on the way back (rK drops what it forwards toward the client): from hop K+1.
    for k in (1, 2, 3):
        hop = k + 1
        add(f"rloss20-r{k}", verdict(component(hop, "loss"), hop), "reverse-loss",
            [f"loss r{k} 20 reverse"])

    # Issue 20 item 1: the path MTU probe (run --path-mtu, the `pathmtu` operation). A clean path
    # with the probe on; a black hole on the link after rK (1400 bytes, no "fragmentation
    # needed" / "packet too big"), located at the first hop large packets do not reach (K+1);
    # the same link with its routers reporting "too big": no fault.
    add("healthy-pathmtu", "no fault", "healthy", ["pathmtu"])
    for k in (1, 2, 4):
        hop = k + 1
        add(f"mtubh-r{k}", verdict(component(hop, "loss"), hop), "mtu", [f"mtu r{k} 1400 blackhole", "pathmtu"])
    add("mtuptb-r2", "no fault", "healthy", ["mtu r2 1400 -", "pathmtu"])
    # Issue 20 item 5: r1 NATs, r2 is a carrier-grade NAT answering from 100.64.2.1 (IPv4 only):
    # no fault, and a CGNAT note at hop 2 ("note:" verdicts, analyze.py record).
    add("cgnat-r2", "note:CGNAT@2", "nat", ["nat r1", "cgnat r2"])
    # Issue 20 item 5, Dublin traceroute's method: rK a stateless 1:1 NAT (lab.sh stateless-nat,
    # to 198.51.100.7) that leaves quoted packets untranslated: from hop K+1 on the quotes carry
    # the translated source, so a CGNAT note at hop K (r1: the home router, expected, nothing).
    # A conntrack NAT at r2 translates quotes back (RFC 5508): nothing either.
    for k in (2, 3):
        add(f"snat-r{k}", f"note:CGNAT@{k}", "nat", [f"snat r{k}"])
    add("snat-r1", "no fault", "healthy", ["snat r1"])
    add("nat-r2", "no fault", "healthy", ["nat r2"])
    # Issue 20 items 3 and 4 (IPv4: the lab's middleboxes are). DNS interception: rK redirects
    # port 53 to a resolver of its own; the check asks with --dns-interception, a canary address
    # that runs no resolver and the answer the destination's dnsmasq gives (`checkdnsint`): the
    # hop is K, where hop-limited queries are answered. A captive portal: rK answers port 80 with
    # a 302 to its login page; the check fetches the destination's page expecting 200 and its
    # text (`checkportal`, with a web server on the destination, `http`). No hop: an HTTP answer
    # does not say where it came from.
    add("healthy-dnsint", "no fault", "healthy", ["checkdnsint"], dns=1)
    for k in (1, 2, 3):
        add(f"dnsint-r{k}", verdict("DNS Interception", k), "interception", [f"dnsint r{k}", "checkdnsint"], dns=1)
    add("healthy-portal", "no fault", "healthy", ["http", "checkportal"])
    add("portal-r1", "Captive Portal", "interception", ["http", "portal r1", "checkportal"])
    add("portal-r2", "Captive Portal", "interception", ["http", "portal r2", "checkportal"])
    # Issue 20 item 2: latency under load (run --bufferbloat against the destination's bulk
    # server, IPv4). A clean path under load: no fault. The link after rK a 10 Mbit/s
    # bottleneck behind a 200 ms FIFO: the RTT rises from hop K+1 on, the queue is hop K's
    # (r1: Local Network@1, the home router's uplink; r2: ISP Access@2).
    add("healthy-bufferbloat", "no fault", "healthy", ["bufferbloat"])
    for k in (1, 2):
        add(f"bloat-r{k}", verdict(component(k, "latency"), k), "bufferbloat", [f"bottleneck r{k} 10000 200", "bufferbloat"])
    # Issue 20 item 6: a name with both addresses (`dual`: the target is dual.lab, from the
    # lab's hosts file), checked in both families by one `run`. rK forwarding nothing of one
    # family: that family's path goes dark from hop K+1 (an outage of it: "Upstream"), the
    # other family is fine. Listed as family 4 only: each run checks both.
    add("healthy-dual", "no fault", "healthy", ["dual"])
    for k, fam in ((1, 6), (2, 6), (3, 6), (2, 4)):
        add(f"v{fam}broken-r{k}", verdict("Upstream", k + 1), "family", [f"familydrop r{k} {fam}", "dual"])
    # Issue 20 item 7: ECMP (run --ecmp; `ecmp` builds the lab with lab.sh up --ecmp, r2 replaced
    # by the parallel routers r2a/r2b that r1 balances flows over; r1 hashes IPv6 flows too). Two clean paths: no
    # fault. r2a or r2b drops 30 % of what it forwards: loss on one of two parallel paths, located
    # at hop 2 where the lossy path branches off (not at hop 3, where its loss first shows: r3 is
    # on both paths and the other path is clean). r3 drops 20 %: loss on every path, from hop 4.
    # Issue 20 item 8: a path change with new loss. The --ecmp lab routed through r2a only; one
    # clean check is saved (`baseline`), then r1 moves to r2b, which drops 30 % of what it
    # forwards; every measured check gets the saved one as --history. Loss from hop 3, and the
    # verdict must carry the change's evidence ("+path-change", analyze.py).
    add("pathchange-r2b", verdict(component(3, "loss"), 3) + "+path-change", "path-change",
        ["ecmplab", "reroute r2a", "baseline", "loss r2b 30 forward", "reroute r2b"])
    add("ecmp-healthy", "no fault", "healthy", ["ecmp"])
    for branch in ("r2a", "r2b"):
        add(f"ecmp-loss30-{branch}", verdict(component(2, "loss"), 2), "ecmp", ["ecmp", f"loss {branch} 30 forward"])
    add("ecmp-loss20-r3", verdict(component(4, "loss"), 4), "ecmp", ["ecmp", "loss r3 20 forward"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="keep scenarios whose name matches this regex (re.search)")
    ap.add_argument("--v6-subset", default="default",
                    help="IPv6 scenarios: default (%d names), none, all, or a regex" % len(V6_DEFAULT))
    ap.add_argument("--pairs", choices=("all", "sample"), default="all")
    ap.add_argument("--no-v4", action="store_true", help="IPv6 only")
    args = ap.parse_args()

    rows = scenarios(args.pairs)
    only = re.compile(args.only) if args.only else None
    lines = []
    for family in (4, 6):
        if family == 4 and args.no_v4:
            continue
        for name, expected, category, faults, dns in rows:
            if only and not only.search(name):
                continue
            if family == 6:
                if dns:  # the lab's DNS server listens on the IPv4 address only
                    continue
                if category == "nat":  # CGNAT is IPv4's (RFC 6598)
                    continue
                if ";dual" in ";" + faults:  # both families in one run, listed once
                    continue
                sel = args.v6_subset
                if sel == "none":
                    continue
                if sel == "default" and name not in V6_DEFAULT:
                    continue
                if sel not in ("default", "all") and not re.search(sel, name):
                    continue
            lines.append("\t".join([name, str(family), expected, category, faults or "-", str(dns)]))
    if not lines:
        print("scenarios.py: no scenario left after the filters", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
