#!/usr/bin/env python3
"""Analyse an RTT-accuracy run made by run.sh: match every tool's RTTs to the capture's truth.

    python3 analyze.py OUT_DIR

OUT_DIR holds one folder per repeat and scenario (rep1-idle, rep1-loaded, ...), each with
capture.pcap, windows.txt (tool name, start and end in CLOCK_REALTIME ns), isp-checker.json,
ping.txt and ping-single.txt. Prints a Markdown table (medians over the repeats) and the goal
verdicts, and writes OUT_DIR/results.json with every per-probe error.

Standard library only: the pcap reader below handles the classic format in micro- and
nanosecond flavours, both byte orders, Ethernet (with 802.1Q tags), Linux cooked v1/v2 and raw IP.
"""

import json
import os
import re
import struct
import sys

ECHO_MAGIC = b"ISPC"  # CP_ECHO_MAGIC: the first four payload bytes of every isp-checker probe
TOOLS = ("isp-checker", "isp-checker-no-capture", "ping", "ping-single")
TOOL_LABELS = {
    "isp-checker": "isp-checker (pcap clock)",
    "isp-checker-no-capture": "isp-checker --no-capture (socket timestamps)",
    "ping": "iputils ping, per-reply time= (0.1 ms resolution)",
    "ping-single": "iputils ping -c 1, rtt min (1 µs resolution)",
}
SCENARIOS = ("idle", "loaded")
GOAL_MEDIAN_US = 5.0
GOAL_P99_LOADED_US = 20.0
GOAL_RATIO = 5.0


# ------------------------------------------------------------------------------ pcap


def read_pcap(path):
    """Yields (timestamp_ns, link_type, frame bytes) for each record of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file (only {len(data)} bytes)")
    magic_le = struct.unpack("<I", data[:4])[0]
    magic_be = struct.unpack(">I", data[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        endian, magic = "<", magic_le
    elif magic_be in (0xA1B2C3D4, 0xA1B23C4D):
        endian, magic = ">", magic_be
    else:
        raise ValueError(f"{path}: unknown pcap magic {data[:4].hex()}")
    nano = magic == 0xA1B23C4D
    link_type = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    offset = 24
    record = struct.Struct(endian + "IIII")
    while offset + 16 <= len(data):
        seconds, fraction, caplen, _ = record.unpack_from(data, offset)
        offset += 16
        frame = data[offset : offset + caplen]
        offset += caplen
        if len(frame) < caplen:
            break  # truncated last record (capture killed mid-write)
        ts = seconds * 1_000_000_000 + (fraction if nano else fraction * 1000)
        yield ts, link_type, frame, nano


def l3_of(link_type, frame):
    """(ethertype, network-layer bytes) of a frame, or None."""
    if link_type == 1:  # Ethernet
        if len(frame) < 14:
            return None
        ethertype, pos = struct.unpack_from(">H", frame, 12)[0], 14
        while ethertype in (0x8100, 0x88A8) and len(frame) >= pos + 4:
            ethertype, pos = struct.unpack_from(">H", frame, pos + 2)[0], pos + 4
        return ethertype, frame[pos:]
    if link_type == 113:  # Linux cooked v1
        return (struct.unpack_from(">H", frame, 14)[0], frame[16:]) if len(frame) >= 16 else None
    if link_type == 276:  # Linux cooked v2
        return (struct.unpack_from(">H", frame, 0)[0], frame[20:]) if len(frame) >= 20 else None
    if link_type in (101, 12, 228, 229):  # raw IP
        if not frame:
            return None
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    return None


def parse_echo(link_type, frame):
    """(kind 'request'|'reply', ident, seq, has_magic, src, dst) of an ICMP echo, else None."""
    l3 = l3_of(link_type, frame)
    if l3 is None:
        return None
    ethertype, packet = l3
    if ethertype == 0x0800 and len(packet) >= 20 and packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        if packet[9] != 1 or len(packet) < ihl + 8:
            return None
        icmp = packet[ihl:]
        kinds = {8: "request", 0: "reply"}
        src, dst = packet[12:16], packet[16:20]
    elif ethertype == 0x86DD and len(packet) >= 48 and packet[0] >> 4 == 6:
        if packet[6] != 58:  # no extension headers on our echoes
            return None
        icmp = packet[40:]
        kinds = {128: "request", 129: "reply"}
        src, dst = packet[8:24], packet[24:40]
    else:
        return None
    kind = kinds.get(icmp[0])
    if kind is None:
        return None
    ident, seq = struct.unpack_from(">HH", icmp, 4)
    return kind, ident, seq, icmp[8:12] == ECHO_MAGIC, bytes(src), bytes(dst)


def truth_from_capture(path):
    """Echo exchanges seen on the wire: a list of dicts with request/reply timestamps."""
    requests = {}  # (ident, seq) -> exchange, the first request of that key
    exchanges = []
    nano = True
    for ts, link_type, frame, is_nano in read_pcap(path):
        nano = nano and is_nano
        echo = parse_echo(link_type, frame)
        if echo is None:
            continue
        kind, ident, seq, magic, src, dst = echo
        key = (ident, seq)
        if kind == "request":
            if key in requests and requests[key]["reply_ns"] is None:
                continue  # a duplicate before any reply: keep the first
            exchange = {"ident": ident, "seq": seq, "magic": magic, "request_ns": ts, "reply_ns": None,
                        "peer": dst}
            requests[key] = exchange
            exchanges.append(exchange)
        else:
            exchange = requests.get(key)
            if exchange is not None and exchange["reply_ns"] is None and src == exchange["peer"] \
                    and ts >= exchange["request_ns"]:
                exchange["reply_ns"] = ts
    for exchange in exchanges:
        exchange["truth_ns"] = None if exchange["reply_ns"] is None else exchange["reply_ns"] - exchange["request_ns"]
        del exchange["peer"]
    return exchanges, nano


# ------------------------------------------------------------------ tool outputs


def read_windows(path):
    windows = {}
    with open(path) as f:
        for line in f:
            name, start, end = line.split()
            windows[name] = (int(start), int(end))
    return windows


def ours(path):
    """sequence -> (rtt ns, clock) from `isp-checker ping --json`."""
    with open(path) as f:
        report = json.load(f)
    result = {}
    for probe in report["ping"]["probes"]:
        # rtt_nanoseconds since the JSON dialect was unified; rttNanoseconds in older runs.
        rtt_ns = probe.get("rtt_nanoseconds", probe.get("rttNanoseconds"))
        if probe.get("status") == "received" and rtt_ns is not None:
            result[probe["sequence"]] = (int(rtt_ns), probe.get("clock"))
    return result, report.get("engine", {})


PING_LINE = re.compile(r"icmp_seq=(\d+)\b.*\btime=([0-9.]+) ms")
PING_SUMMARY = re.compile(r"rtt min/avg/max/mdev = ([0-9.]+)/")


def ms_to_ns(text):
    """'26.3' -> 26300000 exactly (no float rounding)."""
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


def ping_stream(path):
    """sequence -> rtt ns from the per-reply lines iputils ping prints."""
    result = {}
    with open(path) as f:
        for line in f:
            m = PING_LINE.search(line)
            if m:
                result.setdefault(int(m.group(1)), ms_to_ns(m.group(2)))
    return result


def ping_singles(path):
    """One entry per `ping -c 1` run, in order: its rtt in ns, or None when it got no reply."""
    runs = []
    with open(path) as f:
        for line in f:
            if line.startswith("=== "):
                runs.append(None)
                continue
            m = PING_SUMMARY.search(line)
            if m and runs:
                runs[-1] = ms_to_ns(m.group(1))
    return runs


# ------------------------------------------------------------------------ matching


def in_window(exchanges, window, magic):
    start, end = window
    return [e for e in exchanges if start <= e["request_ns"] <= end and e["magic"] == magic]


def match_run(folder):
    """Per tool: list of (measured ns, truth ns) pairs plus bookkeeping about what did not match."""
    exchanges, nano = truth_from_capture(os.path.join(folder, "capture.pcap"))
    windows = read_windows(os.path.join(folder, "windows.txt"))
    runs = {}
    problems = []

    # isp-checker: its identifier is the one carried by the ISPC-magic requests in its window.
    for tool in ("isp-checker", "isp-checker-no-capture"):
        if tool not in windows:
            continue
        measured, engine = ours(os.path.join(folder, tool + ".json"))
        wire = in_window(exchanges, windows[tool], magic=True)
        idents = sorted({e["ident"] for e in wire})
        if len(idents) != 1:
            problems.append(f"{tool}: expected one ICMP identifier on the wire, saw {idents}")
        by_seq = {e["seq"]: e for e in wire}
        pairs, clocks, unmatched = [], {}, 0
        for seq, (rtt, clock) in sorted(measured.items()):
            clocks[clock] = clocks.get(clock, 0) + 1
            e = by_seq.get(seq)
            if e is None or e["truth_ns"] is None:
                unmatched += 1
                continue
            pairs.append({"seq": seq, "measured_ns": rtt, "truth_ns": e["truth_ns"], "clock": clock})
        runs[tool] = {"pairs": pairs, "identifiers": idents, "reported": len(measured),
                      "on_wire": len(wire), "unmatched": unmatched, "clocks": clocks, "engine": engine}

    # iputils ping: the non-magic echoes in its window (one identifier).
    if "ping" in windows:
        measured = ping_stream(os.path.join(folder, "ping.txt"))
        wire = in_window(exchanges, windows["ping"], magic=False)
        idents = sorted({e["ident"] for e in wire})
        if len(idents) != 1:
            problems.append(f"ping: expected one ICMP identifier on the wire, saw {idents}")
        by_seq = {e["seq"]: e for e in wire}
        pairs, unmatched = [], 0
        for seq, rtt in sorted(measured.items()):
            e = by_seq.get(seq)
            if e is None or e["truth_ns"] is None:
                unmatched += 1
                continue
            pairs.append({"seq": seq, "measured_ns": rtt, "truth_ns": e["truth_ns"]})
        runs["ping"] = {"pairs": pairs, "identifiers": idents, "reported": len(measured),
                        "on_wire": len(wire), "unmatched": unmatched}

    # ping -c 1: the k-th run sent the k-th request of its window (they run one after another).
    if "ping-single" in windows:
        measured = ping_singles(os.path.join(folder, "ping-single.txt"))
        wire = sorted(in_window(exchanges, windows["ping-single"], magic=False), key=lambda e: e["request_ns"])
        pairs, unmatched = [], 0
        if len(wire) != len(measured):
            problems.append(f"ping -c 1: {len(measured)} runs but {len(wire)} requests on the wire; not matched")
        else:
            for k, (rtt, e) in enumerate(zip(measured, wire)):
                if rtt is None or e["truth_ns"] is None:
                    unmatched += 1
                    continue
                pairs.append({"run": k, "ident": e["ident"], "measured_ns": rtt, "truth_ns": e["truth_ns"]})
        runs["ping-single"] = {"pairs": pairs, "reported": sum(r is not None for r in measured),
                               "on_wire": len(wire), "unmatched": unmatched}

    with open(os.path.join(folder, "tcpdump.err")) as f:
        tcpdump_err = f.read()
    return runs, problems, nano, tcpdump_err, cpu_busy(os.path.join(folder, "cpu.txt"))


def cpu_busy(path):
    """Share of all CPU time that was not idle between the two /proc/stat lines, or None."""
    try:
        with open(path) as f:
            rows = [list(map(int, line.split()[1:])) for line in f if line.startswith("cpu ")]
    except OSError:
        return None
    if len(rows) != 2:
        return None
    delta = [b - a for a, b in zip(rows[0], rows[1])]
    total = sum(delta[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    idle = delta[3] + delta[4]
    return None if total <= 0 else 1 - idle / total


# ---------------------------------------------------------------------- statistics


def quantile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarise(pairs):
    errors = sorted(abs(p["measured_ns"] - p["truth_ns"]) / 1000 for p in pairs)
    signed = sorted((p["measured_ns"] - p["truth_ns"]) / 1000 for p in pairs)
    if not errors:
        return {"n": 0}
    return {
        "n": len(errors),
        "median_us": quantile(errors, 0.5),
        "p90_us": quantile(errors, 0.9),
        "p99_us": quantile(errors, 0.99),
        "max_us": errors[-1],
        "signed_median_us": quantile(signed, 0.5),
        "truth_median_ms": quantile(sorted(p["truth_ns"] / 1e6 for p in pairs), 0.5),
    }


def median(values):
    values = sorted(v for v in values if v is not None)
    return quantile(values, 0.5) if values else None


def ratio(theirs, ours_value):
    if theirs is None or ours_value is None:
        return None
    if ours_value == 0:
        return float("inf")
    return theirs / ours_value


def fmt(value, digits=1):
    if value is None:
        return "–"
    if value == float("inf"):
        return "∞"
    return f"{value:.{digits}f}"


# ----------------------------------------------------------------------------- main


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze.py OUT_DIR")
    out = sys.argv[1]
    folders = sorted(d for d in os.listdir(out) if re.fullmatch(r"rep\d+-(idle|loaded)", d))
    if not folders:
        sys.exit(f"analyze.py: no rep*-idle / rep*-loaded folders in {out}")

    per_run = {}
    busy_share = {}
    all_problems = []
    timestamp_types = set()
    for folder in folders:
        runs, problems, nano, tcpdump_err, busy = match_run(os.path.join(out, folder))
        busy_share[folder] = busy
        all_problems += [f"{folder}: {p}" for p in problems]
        refused = "adapter_unsynced" in tcpdump_err and "not supported" in tcpdump_err
        timestamp_types.add("host (kernel software timestamp; adapter_unsynced refused on veth)" if refused
                            else "adapter_unsynced")
        if not nano:
            all_problems.append(f"{folder}: capture has microsecond timestamps, not nanoseconds")
        per_run[folder] = {tool: dict(run, stats=summarise(run["pairs"])) for tool, run in runs.items()}

    # Medians over the repeats of each per-repeat statistic.
    aggregate = {}
    for scenario in SCENARIOS:
        for tool in TOOLS:
            stats = [per_run[f][tool]["stats"] for f in folders
                     if f.endswith("-" + scenario) and tool in per_run[f] and per_run[f][tool]["stats"]["n"] > 0]
            if not stats:
                continue
            aggregate.setdefault(scenario, {})[tool] = {
                "repeats": len(stats),
                **{k: median([s[k] for s in stats]) for k in
                   ("n", "median_us", "p90_us", "p99_us", "max_us", "signed_median_us", "truth_median_ms")},
                "max_of_max_us": max(s["max_us"] for s in stats),
            }

    lines = []
    lines.append("| scenario | tool | n | median µs | p90 µs | p99 µs | max µs | median signed µs |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        for tool in TOOLS:
            a = aggregate.get(scenario, {}).get(tool)
            if a is None:
                continue
            lines.append(f"| {scenario} | {TOOL_LABELS[tool]} | {fmt(a['n'], 0)} | {fmt(a['median_us'], 3)} | "
                         f"{fmt(a['p90_us'], 3)} | {fmt(a['p99_us'], 3)} | {fmt(a['max_us'], 3)} | "
                         f"{fmt(a['signed_median_us'], 3)} |")
    lines.append("")
    lines.append("| scenario | compared with | ratio of medians (theirs / ours) | ratio of p99s |")
    lines.append("|---|---|---|---|")
    ratios = {}
    for scenario in SCENARIOS:
        a = aggregate.get(scenario, {})
        if "isp-checker" not in a:
            continue
        for tool in ("ping", "ping-single"):
            if tool not in a:
                continue
            r_med = ratio(a[tool]["median_us"], a["isp-checker"]["median_us"])
            r_p99 = ratio(a[tool]["p99_us"], a["isp-checker"]["p99_us"])
            ratios.setdefault(scenario, {})[tool] = {"median": r_med, "p99": r_p99}
            lines.append(f"| {scenario} | {TOOL_LABELS[tool]} | {fmt(r_med)}× | {fmt(r_p99)}× |")

    ours_idle = aggregate.get("idle", {}).get("isp-checker")
    ours_loaded = aggregate.get("loaded", {}).get("isp-checker")
    goals = []

    def verdict(name, ok):
        goals.append({"goal": name, "met": ok})
        lines.append(f"- {name}: {'met' if ok else 'NOT met' if ok is not None else 'not measured'}")

    lines.append("")
    lines.append("Goals (isp-checker, medians of the repeats):")
    verdict(f"median error ≤ {GOAL_MEDIAN_US:g} µs idle",
            None if ours_idle is None else ours_idle["median_us"] <= GOAL_MEDIAN_US)
    verdict(f"median error ≤ {GOAL_MEDIAN_US:g} µs with both cores busy",
            None if ours_loaded is None else ours_loaded["median_us"] <= GOAL_MEDIAN_US)
    verdict(f"p99 error ≤ {GOAL_P99_LOADED_US:g} µs with both cores busy",
            None if ours_loaded is None else ours_loaded["p99_us"] <= GOAL_P99_LOADED_US)
    for tool in ("ping", "ping-single"):
        rs = [ratios.get(s, {}).get(tool) for s in SCENARIOS]
        rs = [r for r in rs if r is not None]
        ok = None if not rs else all(r["median"] >= GOAL_RATIO and r["p99"] >= GOAL_RATIO for r in rs)
        verdict(f"≥ {GOAL_RATIO:g}× smaller error than {TOOL_LABELS[tool]} (medians and p99s, both scenarios)", ok)

    lines.append("")
    for scenario in SCENARIOS:
        shares = [busy_share[f] for f in folders if f.endswith("-" + scenario) and busy_share.get(f) is not None]
        if shares:
            lines.append(f"CPU busy during {scenario} runs (all cores): " + ", ".join(f"{100 * b:.0f} %" for b in shares))
    for tool in ("isp-checker", "isp-checker-no-capture"):
        pairs = [p for f in folders for p in per_run[f].get(tool, {}).get("pairs", [])]
        if pairs:
            exact = sum(p["measured_ns"] == p["truth_ns"] for p in pairs)
            lines.append(f"{tool}: {exact} of {len(pairs)} RTTs equal the capture's to the nanosecond")
    lines.append("Timestamp type of the truth capture: " + "; ".join(sorted(timestamp_types)))
    for tool in ("isp-checker", "isp-checker-no-capture"):
        clocks = {}
        for f in folders:
            for clock, count in per_run[f].get(tool, {}).get("clocks", {}).items():
                clocks[clock] = clocks.get(clock, 0) + count
        if clocks:
            lines.append(f"{tool} probes by clock, all repeats: " +
                         ", ".join(f"{k}={v}" for k, v in sorted(clocks.items(), key=lambda kv: str(kv[0]))))
    for f in folders:
        for tool, run in per_run[f].items():
            if run["unmatched"]:
                lines.append(f"- {f} {tool}: {run['unmatched']} reported RTT(s) without a matching exchange on the wire")
            if run["reported"] < run["on_wire"]:
                lines.append(f"- {f} {tool}: {run['on_wire']} requests on the wire, {run['reported']} RTTs reported")
    for p in all_problems:
        lines.append(f"- PROBLEM {p}")
    worst = sorted(((abs(p["measured_ns"] - p["truth_ns"]), f, p) for f in folders
                    for p in per_run[f].get("isp-checker", {}).get("pairs", [])
                    if p["measured_ns"] != p["truth_ns"]), key=lambda t: -t[0])[:5]
    if worst:
        lines.append("isp-checker's largest disagreements with the wire: " + "; ".join(
            f"{f} seq {p['seq']} {p['clock']}: {p['measured_ns']} vs {p['truth_ns']} ns" for _, f, p in worst))

    print("\n".join(lines))

    environment = {}
    env_path = os.path.join(out, "environment.txt")
    if os.path.exists(env_path):
        with open(env_path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                environment[key] = value

    def clean(x):
        if isinstance(x, float) and x == float("inf"):
            return "inf"
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(clean({"environment": environment, "timestamp_types": sorted(timestamp_types),
                         "aggregate_medians_of_repeats": aggregate, "ratios": ratios, "goals": goals,
                         "cpu_busy_share": busy_share,
                         "problems": all_problems, "runs": per_run}), f, indent=1)


if __name__ == "__main__":
    main()
