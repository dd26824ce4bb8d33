#!/usr/bin/env python3
"""Analyse a hop-accuracy run made by hop-accuracy.sh: isp-checker's per-hop RTTs vs the wire.

    python3 analyze_hops.py OUT_DIR

OUT_DIR holds one folder per repeat and variant (rep1-capture, rep1-no-capture, ...), each with
capture.pcap (tcpdump on the client's interface, nanosecond timestamps) and isp-checker.json
(`isp-checker trace DEST -c ROUNDS -M udp --json`).

Truth: every UDP probe the client sent whose payload starts with "ISPT" (bytes 4..5: the probe
id, big-endian) is paired with the ICMP error (time exceeded or port unreachable) that quotes it:
same probe id in the quoted payload, same quoted IP identification and UDP source port, the
latest such probe sent before the error. Its RTT is the error's timestamp minus the probe's, its
hop the probe's IP TTL. isp-checker reports aggregates per hop, so per hop the truth's mean, min,
max, population standard deviation and the RTT of the last answered probe are compared with
latency_avg_ms, latency_best_ms, latency_worst_ms, latency_stdev_ms and latency_last_ms (runs
made before the JSON dialect was unified wrote avgMilliseconds … lastMilliseconds: both are read).
Counts (sent, received) and reply addresses are checked too.

Prints Markdown tables (medians over the repeats) and the verdict, and writes
OUT_DIR/results.json. Standard library only; the pcap reader is the one of
../rtt-accuracy/analyze.py.
"""

import importlib.util
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("rtt_analyze", os.path.join(HERE, "..", "rtt-accuracy", "analyze.py"))
rtt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rtt)

CLIENT = bytes([10, 99, 1, 1])
MAGIC = b"ISPT"  # CP_TRACE_MAGIC: the first four payload bytes of every isp-checker trace probe
VARIANTS = ("capture", "no-capture")
LABELS = {"capture": "isp-checker (pcap clock)", "no-capture": "isp-checker --no-capture (fallback clock)"}
STATS = (("avg", "latency_avg_ms"), ("best", "latency_best_ms"), ("worst", "latency_worst_ms"),
         ("last", "latency_last_ms"), ("stdev", "latency_stdev_ms"))
# The same statistics in the camelCase JSON of runs made before the dialect was unified.
OLD_KEYS = {"latency_avg_ms": "avgMilliseconds", "latency_best_ms": "bestMilliseconds", "latency_worst_ms": "worstMilliseconds",
            "latency_last_ms": "lastMilliseconds", "latency_stdev_ms": "stdevMilliseconds"}


def hop_stat(hop, key):
    return hop.get(key, hop.get(OLD_KEYS[key]))
RTT_STATS = ("avg", "best", "worst", "last")
GOAL_US = 5.0


def ip_text(raw):
    return ".".join(str(b) for b in raw)


def read_wire(path):
    """Probes (send order) and answers (arrival order) from the capture."""
    probes, answers, other = [], [], 0
    for ts, link_type, frame, _ in rtt.read_pcap(path):
        l3 = rtt.l3_of(link_type, frame)
        if l3 is None or l3[0] != 0x0800:
            continue
        p = l3[1]
        if len(p) < 20 or p[0] >> 4 != 4:
            continue
        ihl = (p[0] & 0x0F) * 4
        proto, src, dst = p[9], p[12:16], p[16:20]
        if src == CLIENT and proto == 17 and len(p) >= ihl + 8:
            payload = p[ihl + 8:]
            if payload[:4] != MAGIC:
                other += 1
                continue
            sport, dport, _, checksum = struct.unpack_from(">HHHH", p, ihl)
            probes.append({"ts": ts, "ttl": p[8], "ipid": struct.unpack_from(">H", p, 4)[0], "sport": sport,
                           "dport": dport, "probe_id": struct.unpack_from(">H", payload, 4)[0],
                           "udp_checksum": checksum, "answer": None})
        elif dst == CLIENT and proto == 1 and len(p) >= ihl + 8 + 20:
            icmp_type, icmp_code = p[ihl], p[ihl + 1]
            if icmp_type not in (3, 11):
                continue
            inner = p[ihl + 8:]
            if inner[0] >> 4 != 4:
                continue
            ihl2 = (inner[0] & 0x0F) * 4
            if inner[9] != 17 or inner[12:16] != CLIENT or len(inner) < ihl2 + 8:
                continue
            quoted_payload = inner[ihl2 + 8:]
            answers.append({"ts": ts, "from": ip_text(src), "type": icmp_type, "code": icmp_code,
                            "ipid": struct.unpack_from(">H", inner, 4)[0],
                            "sport": struct.unpack_from(">H", inner, ihl2)[0],
                            "quoted_ttl": inner[8],
                            "probe_id": struct.unpack_from(">H", quoted_payload, 4)[0]
                            if quoted_payload[:4] == MAGIC and len(quoted_payload) >= 6 else None})
    return probes, answers, other


def pair(probes, answers):
    """Attaches each answer to its probe; returns the list of problems found."""
    problems = []
    by_key = {}
    for probe in probes:
        by_key.setdefault((probe["sport"], probe["probe_id"], probe["ipid"]), []).append(probe)
    for answer in answers:
        if answer["probe_id"] is None:
            problems.append(f"answer from {answer['from']} at {answer['ts']} quotes no ISPT payload")
            continue
        candidates = [p for p in by_key.get((answer["sport"], answer["probe_id"], answer["ipid"]), [])
                      if p["ts"] <= answer["ts"]]
        if not candidates:
            problems.append(f"answer from {answer['from']} quotes probe id {answer['probe_id']} that was not sent")
            continue
        probe = candidates[-1]
        if probe["answer"] is not None:
            problems.append(f"probe id {answer['probe_id']} (TTL {probe['ttl']}) answered twice")
            continue
        probe["answer"] = answer
    return problems


def population_stdev(values):
    mean = sum(values) / len(values)
    return (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5


def analyse_run(folder):
    probes, answers, other = read_wire(os.path.join(folder, "capture.pcap"))
    problems = pair(probes, answers)
    with open(os.path.join(folder, "isp-checker.json")) as f:
        report = json.load(f)
    hops = sorted(report["hops"], key=lambda h: h["ttl"])
    last_ttl = hops[-1]["ttl"] if hops else 0
    ids = [p["probe_id"] for p in probes]
    per_hop = []
    for hop in hops:
        ttl = hop["ttl"]
        mine = [p for p in probes if p["ttl"] == ttl]
        answered = [p for p in mine if p["answer"] is not None]
        truth_ns = [p["answer"]["ts"] - p["ts"] for p in answered]
        row = {"ttl": ttl, "sent_wire": len(mine), "answered_wire": len(answered), "sent_ours": hop["sent"],
               "received_ours": hop["received"], "clock": hop.get("clock"),
               "addresses_wire": sorted({p["answer"]["from"] for p in answered}),
               "addresses_ours": sorted(a["address"] for a in hop["addresses"])}
        if len(mine) != hop["sent"]:
            problems.append(f"hop {ttl}: {len(mine)} probes on the wire, isp-checker says sent {hop['sent']}")
        if len(answered) != hop["received"]:
            problems.append(f"hop {ttl}: {len(answered)} answered on the wire, isp-checker says received {hop['received']}")
        if row["addresses_wire"] != row["addresses_ours"]:
            problems.append(f"hop {ttl}: answers on the wire from {row['addresses_wire']}, isp-checker lists {row['addresses_ours']}")
        if mine and mine[-1]["answer"] is None:
            problems.append(f"hop {ttl}: the last round's probe was not answered (last = an earlier round's)")
        if truth_ns:
            truth = {"avg": sum(truth_ns) / len(truth_ns), "best": min(truth_ns), "worst": max(truth_ns),
                     "last": truth_ns[-1], "stdev": population_stdev(truth_ns)}
            row["truth_us"] = {k: v / 1000 for k, v in truth.items()}
            row["ours_us"] = {k: hop_stat(hop, key) * 1000 if hop_stat(hop, key) is not None else None for k, key in STATS}
            row["diff_us"] = {k: None if row["ours_us"][k] is None else row["ours_us"][k] - row["truth_us"][k]
                              for k, _ in STATS}
        per_hop.append(row)
    beyond = [p for p in probes if p["ttl"] > last_ttl]
    return {"hops": per_hop, "problems": problems, "probes_on_wire": len(probes),
            "answers_on_wire": len(answers), "unpaired_answers": sum(1 for a in answers if a["probe_id"] is None),
            "probes_unanswered": sum(1 for p in probes if p["answer"] is None),
            "probes_beyond_destination": len(beyond), "distinct_probe_ids": len(set(ids)),
            "udp_without_magic": other, "duration_ms": report.get("duration_ms", report.get("durationMilliseconds")),
            "rounds": report.get("rounds")}


def variant_of(folder):
    return folder.split("-", 1)[1]


def median(values):
    values = sorted(v for v in values if v is not None)
    return rtt.quantile(values, 0.5) if values else None


def fmt(value, digits=3):
    if value is None:
        return "–"
    if abs(value) < 0.5 * 10 ** -digits:
        value = 0.0  # no "-0.000"
    return f"{value:.{digits}f}"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze_hops.py OUT_DIR")
    out = sys.argv[1]
    folders = sorted(d for d in os.listdir(out) if re.fullmatch(r"rep\d+-(capture|no-capture)", d))
    if not folders:
        sys.exit(f"analyze_hops.py: no rep*-capture folders in {out}")
    runs = {f: analyse_run(os.path.join(out, f)) for f in folders}

    lines = ["Absolute difference |isp-checker − wire| in µs per hop and statistic, median over the repeats "
             "(truth: mean RTT on the wire, ms):", "",
             "| clock | hop | address | probes (wire/ours) | answered (wire/ours) | truth mean ms | avg | best | worst "
             "| last | stdev |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for variant in VARIANTS:
        vf = [f for f in folders if variant_of(f) == variant]
        if not vf:
            continue
        ttls = sorted({h["ttl"] for f in vf for h in runs[f]["hops"]})
        all_abs = []
        per_run_medians = []
        for f in vf:
            # The goal is about RTT values: avg, best, worst, last (stdev is a spread, shown apart).
            values = [abs(h["diff_us"][k]) for h in runs[f]["hops"] if "diff_us" in h for k in RTT_STATS
                      if h["diff_us"][k] is not None]
            per_run_medians.append(median(values))
            all_abs += values
        for ttl in ttls:
            rows = [h for f in vf for h in runs[f]["hops"] if h["ttl"] == ttl]
            with_truth = [h for h in rows if "diff_us" in h]
            cells = [fmt(median([abs(h["diff_us"][k]) for h in with_truth if h["diff_us"][k] is not None]))
                     for k, _ in STATS]
            addr = "/".join(sorted({a for h in rows for a in h["addresses_wire"]})) or "*"
            lines.append(f"| {LABELS[variant]} | {ttl} | {addr} | "
                         f"{fmt(median([h['sent_wire'] for h in rows]), 0)}/{fmt(median([h['sent_ours'] for h in rows]), 0)} | "
                         f"{fmt(median([h['answered_wire'] for h in rows]), 0)}/{fmt(median([h['received_ours'] for h in rows]), 0)} | "
                         f"{fmt(median([h['truth_us']['avg'] / 1000 for h in with_truth]), 3)} | " + " | ".join(cells) + " |")
        signed = [h["diff_us"]["avg"] for f in vf for h in runs[f]["hops"] if "diff_us" in h]
        exact = sum(1 for f in vf for h in runs[f]["hops"] if "diff_us" in h for k in RTT_STATS
                    if h["diff_us"][k] is not None and abs(h["diff_us"][k]) < 0.0015)
        signed_all = [h["diff_us"][k] for f in vf for h in runs[f]["hops"] if "diff_us" in h for k in RTT_STATS
                      if h["diff_us"][k] is not None]
        summary[variant] = {"median_of_run_medians_us": median(per_run_medians), "max_us": max(all_abs) if all_abs else None,
                            "values": len(all_abs), "within_1ns": exact, "avg_signed_median_us": median(signed),
                            "signed_min_us": min(signed_all) if signed_all else None,
                            "signed_max_us": max(signed_all) if signed_all else None,
                            "clocks": sorted({h["clock"] for f in vf for h in runs[f]["hops"] if h.get("clock")})}

    lines.append("")
    lines.append("Over avg, best, worst and last of every hop (stdev left out: it is a spread, not an RTT):")
    lines.append("")
    lines.append("| clock | runs | values compared | median |Δ| µs (median of runs) | max |Δ| µs | within 1 ns "
                 "| signed Δ range µs | median signed Δavg µs | hop clock field |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for variant, s in summary.items():
        lines.append(f"| {LABELS[variant]} | {sum(1 for f in folders if variant_of(f) == variant)} | {s['values']} | "
                     f"{fmt(s['median_of_run_medians_us'])} | {fmt(s['max_us'])} | {s['within_1ns']} | "
                     f"{fmt(s['signed_min_us'])} … {fmt(s['signed_max_us'])} | "
                     f"{fmt(s['avg_signed_median_us'])} | {', '.join(s['clocks'])} |")
    lines.append("")
    goals = []
    for variant, s in summary.items():
        ok = s["median_of_run_medians_us"] is not None and s["median_of_run_medians_us"] <= GOAL_US
        goals.append({"variant": variant, "met": ok})
        lines.append(f"- {LABELS[variant]}: median |Δ| ≤ {GOAL_US:g} µs: **{'met' if ok else 'NOT met'}** "
                     f"({fmt(s['median_of_run_medians_us'])} µs)")
    lines.append("")
    for f in folders:
        r = runs[f]
        lines.append(f"{f}: {r['rounds']} rounds in {fmt(r['duration_ms'], 1)} ms; {r['probes_on_wire']} probes, "
                     f"{r['answers_on_wire']} ICMP errors quoting a probe, {r['probes_unanswered']} probes unanswered, "
                     f"{r['probes_beyond_destination']} probes beyond the destination's TTL (round 1), "
                     f"{r['distinct_probe_ids']} distinct probe ids, CPU busy "
                     f"{fmt(100 * (rtt.cpu_busy(os.path.join(out, f, 'cpu.txt')) or 0), 0)} %")
        for p in r["problems"]:
            lines.append(f"- PROBLEM {f}: {p}")
    print("\n".join(lines))

    environment = {}
    env_path = os.path.join(out, "environment.txt")
    if os.path.exists(env_path):
        with open(env_path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                environment[key] = value
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"environment": environment, "summary": summary, "goals": goals, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
