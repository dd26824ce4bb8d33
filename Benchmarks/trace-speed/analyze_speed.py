#!/usr/bin/env python3
"""Analyse a traceroute-speed run made by run.sh: wall times, on-wire spans, hop agreement.

    python3 analyze_speed.py OUT_DIR

OUT_DIR holds one folder per scenario (a, b, c), each with windows.txt (tool, repeat, start and
end in CLOCK_REALTIME µs, exit code, and since the realistic-lab version the run's CPU time in ms),
the tools' outputs TOOL.REPEAT.out and capture.pcap. isp-checker's output is its text report (the
plain default command) or, in older runs, --json.
Prints Markdown tables (medians over the repeats, with min and max), the ratios, the goal
verdicts and every hop disagreement, and writes OUT_DIR/results.json.

Standard library only; the pcap reader is the one of ../rtt-accuracy/analyze.py.
"""

import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("rtt_analyze", os.path.join(HERE, "..", "rtt-accuracy", "analyze.py"))
rtt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rtt)

CLIENT = bytes([10, 99, 1, 1])
DEST = bytes([10, 99, 4, 2])
DEST_TTL = 4  # a probe with at least this IP TTL reaches the destination
SCENARIOS = {
    "a": "no added delay",
    "b": "13 ms each way on r2's left link (26 ms RTT)",
    "c": "26 ms RTT and r2 silent",
}
HOPS = ["10.99.1.2", "10.99.2.2", "10.99.3.2", "10.99.4.2"]
EXPECTED = {
    "a": [{h} for h in HOPS],
    "b": [{h} for h in HOPS],
    "c": [{HOPS[0]}, set(), {HOPS[2]}, {HOPS[3]}],
}
# Tool name -> (label, what bounds its wait for a silent hop)
TOOLS = {
    "ours-udp": ("isp-checker `trace` (default: UDP, `-W 1`)",
                 "1 s per probe (a silent hop: 5× a farther hop's RTT, ≥ 0.1 s), 1 probe per hop"),
    "ours-icmp": ("isp-checker `trace -M icmp`", "as above"),
    "ours-udp-cold": ("isp-checker `trace --no-path-cache` (every run cold)", "as above"),
    "ours-icmp-cold": ("isp-checker `trace -M icmp --no-path-cache` (every run cold)", "as above"),
    "ours-udp-capture": ("isp-checker `trace --capture` (pcap clock)", "as above"),
    "ours-udp-no-capture": ("isp-checker `trace --no-capture`", "as above"),
    "traceroute-udp": ("traceroute `-n`", "default `-w 5,3,10`: max 5 s, or 3× the hop's / 10× a later hop's RTT"),
    "traceroute-icmp": ("traceroute `-n -I`", "default `-w 5,3,10`"),
    "traceroute-udp-w1": ("traceroute `-n -w 1`", "`-w 1`: fixed 1 s (the 3/10 factors no longer apply)"),
    "traceroute-icmp-w1": ("traceroute `-n -I -w 1`", "`-w 1`: fixed 1 s"),
    "mtr": ("mtr `-n -r -c 1` (ICMP)", "default: 1 s between rounds, 5 s grace time (`-G`) after the last probe"),
    "scamper-udp-paris": ("scamper `trace -P udp-paris`", "default: `-w 5 -q 2` (5 s, 2 attempts per hop), one hop at a time"),
    "scamper-icmp-paris": ("scamper `trace -P icmp-paris`", "default: `-w 5 -q 2`"),
    "scamper-udp-paris-w1": ("scamper `trace -P udp-paris -w 1 -q 1`", "1 s, 1 attempt per hop"),
    "scamper-icmp-paris-w1": ("scamper `trace -P icmp-paris -w 1 -q 1`", "1 s, 1 attempt per hop"),
    "startup-version": ("isp-checker `--version`", "start-up: Swift runtime and argument parsing only"),
    "startup-ping-loopback": ("isp-checker `ping 127.0.0.1 -c 1 -i 0`", "start-up: engine (sockets, pcap) + one loopback echo"),
}
TRACE_TOOLS = [t for t in TOOLS if not t.startswith("startup")]
# (ours, theirs) pairs for the ratio table, per scenario.
PAIRS = {
    "a": [("ours-udp", "traceroute-udp"), ("ours-icmp", "traceroute-icmp"), ("ours-udp", "mtr"), ("ours-icmp", "mtr"),
          ("ours-udp", "scamper-udp-paris"), ("ours-icmp", "scamper-icmp-paris")],
    "b": [("ours-udp", "traceroute-udp"), ("ours-icmp", "traceroute-icmp"),
          ("ours-udp-cold", "traceroute-udp"), ("ours-icmp-cold", "traceroute-icmp"), ("ours-udp", "mtr"), ("ours-icmp", "mtr"),
          ("ours-udp", "scamper-udp-paris"), ("ours-icmp", "scamper-icmp-paris")],
    "c": [("ours-udp", "traceroute-udp-w1"), ("ours-icmp", "traceroute-icmp-w1"),
          ("ours-udp", "traceroute-udp"), ("ours-icmp", "traceroute-icmp"),
          ("ours-udp", "mtr"), ("ours-icmp", "mtr"),
          ("ours-udp", "scamper-udp-paris-w1"), ("ours-icmp", "scamper-icmp-paris-w1"),
          ("ours-udp", "scamper-udp-paris"), ("ours-icmp", "scamper-icmp-paris")],
}
# Issue 17's process-cost rows (scenario a): ours against traceroute, same method.
COST_PAIRS = [("ours-udp", "traceroute-udp"), ("ours-icmp", "traceroute-icmp")]
# Issue 14's bar: one trace on the 26 ms path (b) no slower than traceroute, same method, in the
# same run; the in-library duration <= 1.5 x the path RTT when every hop answers.
ISSUE14_PAIRS = {"ours-udp": "traceroute-udp", "ours-icmp": "traceroute-icmp",
                 "ours-udp-cold": "traceroute-udp", "ours-icmp-cold": "traceroute-icmp"}
# The traceroute each goal compares with: the comparable-timeout one in scenario c.
GOAL_TRACEROUTE = {
    "a": {"ours-udp": "traceroute-udp", "ours-icmp": "traceroute-icmp"},
    "b": {"ours-udp": "traceroute-udp", "ours-icmp": "traceroute-icmp"},
    "c": {"ours-udp": "traceroute-udp-w1", "ours-icmp": "traceroute-icmp-w1"},
}
PEER_BAR = {"a": {"traceroute": 0.01, "scamper": 0.20, "mtr": 5.76},
            "b": {"traceroute": 0.03, "scamper": 0.23, "mtr": 5.7}}
OURS_TIMEOUT_S = 1.0

IPV4 = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")


# ------------------------------------------------------------------------------ capture


def wire_events(path):
    """(ts ns, 'probe'|'answer', detail) for every IPv4 probe the client sent and every ICMP it got:
    detail is a probe's IP TTL, or an answer's source address."""
    events = []
    for ts, link_type, frame, _ in rtt.read_pcap(path):
        l3 = rtt.l3_of(link_type, frame)
        if l3 is None or l3[0] != 0x0800:
            continue
        packet = l3[1]
        if len(packet) < 20 or packet[0] >> 4 != 4:
            continue
        ihl = (packet[0] & 0x0F) * 4
        proto, src, dst = packet[9], packet[12:16], packet[16:20]
        icmp_type = packet[ihl] if proto == 1 and len(packet) > ihl else None
        if src == CLIENT and (proto == 17 or (proto == 1 and icmp_type == 8)):
            events.append((ts, "probe", packet[8]))
        elif dst == CLIENT and proto == 1 and icmp_type in (0, 3, 11):
            events.append((ts, "answer", bytes(src)))
    events.sort()
    return events


# ------------------------------------------------------------------------- tool outputs


def hops_ours_text(text):
    """The CLI's text report: TRACE line, HOP header, one line per TTL, then '... in N ms'."""
    hops, last_fields, duration = {}, None, None
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+)\s", line)
        if m:
            ttl = int(m.group(1))
            hops[ttl] = set() if m.group(2) == "???" else set(IPV4.findall(m.group(2)))
            more = re.search(r"\(\+\d+ more: ([^)]*)\)", line)
            if more:
                hops[ttl] |= set(IPV4.findall(more.group(1)))
            last_fields = line.split()
        m = re.search(r" in ([0-9.]+) ms\s*$", line)
        if m and not line.startswith("TRACE"):
            duration = float(m.group(1))
    if duration is None:
        raise ValueError("no 'in N ms' line")
    dest_rtt = None
    if last_fields and len(last_fields) >= 6 and last_fields[5] != "-":
        dest_rtt = float(last_fields[5])  # TTL ADDRESS LOSS% SNT LAST AVG ...
    ordered = [hops.get(t, set()) for t in range(1, max(hops) + 1)] if hops else []
    return ordered, {"duration_ms": duration, "dest_rtt_ms": dest_rtt, "clocks": []}


def hops_ours(text):
    if not text.lstrip().startswith("{"):
        return hops_ours_text(text)
    report = json.loads(text)
    hops = [set(a["address"] for a in h["addresses"]) for h in sorted(report["hops"], key=lambda h: h["ttl"])]
    last = report["hops"][-1] if report["hops"] else {}
    # snake_case since the JSON dialect was unified; the camelCase keys are those of older runs.
    return hops, {"duration_ms": report.get("duration_ms", report.get("durationMilliseconds")),
                  "dest_rtt_ms": last.get("latency_avg_ms", last.get("avgMilliseconds")),
                  "clocks": sorted({h.get("clock") for h in report["hops"] if h.get("clock")})}


def hops_traceroute(text):
    hops = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(.*)", line)
        if m and not line.startswith("traceroute"):
            hops[int(m.group(1))] = set(IPV4.findall(m.group(2)))
    return [hops.get(t, set()) for t in range(1, max(hops) + 1)] if hops else [], {}


def hops_mtr(text):
    hops = {}
    last = None
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\.\|--\s+(\S+)", line)
        if m:
            last = int(m.group(1))
            hops[last] = set() if m.group(2) == "???" else {m.group(2)}
            continue
        m = re.match(r"\s*\|\s*`\|--\s+(\S+)", line)  # further addresses of the same hop
        if m and last is not None:
            hops[last].add(m.group(1))
    return [hops.get(t, set()) for t in range(1, max(hops) + 1)] if hops else [], {}


def hops_scamper(text):
    hops = {}
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+(\S+)", line)
        if m:
            hops[int(m.group(1))] = set() if m.group(2) == "*" else set(IPV4.findall(line))
    return [hops.get(t, set()) for t in range(1, max(hops) + 1)] if hops else [], {}


def parse_hops(tool, text):
    if tool.startswith("ours"):
        return hops_ours(text)
    if tool.startswith("traceroute"):
        return hops_traceroute(text)
    if tool == "mtr":
        return hops_mtr(text)
    if tool.startswith("scamper"):
        return hops_scamper(text)
    return None, {}


def show_hops(hops):
    return " ".join("/".join(sorted(h)) if h else "*" for h in hops) if hops is not None else "unparsed"


# --------------------------------------------------------------------------- statistics


def median(values):
    values = sorted(v for v in values if v is not None)
    return rtt.quantile(values, 0.5) if values else None


def fmt(value, digits=3):
    if value is None:
        return "–"
    if abs(value) < 0.5 * 10 ** -digits:
        value = 0.0  # no "-0.000"
    return f"{value:.{digits}f}"


def analyse_scenario(folder, scenario):
    windows = []
    with open(os.path.join(folder, "windows.txt")) as f:
        for line in f:
            # Since 2026-12-06 evening (measure.c): cpu_ms cpu_us maxrss_kib; before, cpu_ms alone.
            name, rep, start, end, rc, *cpu = line.split()
            windows.append({"tool": name, "repeat": int(rep), "start_ns": int(start) * 1000,
                            "end_ns": int(end) * 1000, "rc": int(rc), "cpu_ms": int(cpu[0]) if cpu else None,
                            "cpu_us": int(cpu[1]) if len(cpu) > 1 else None,
                            "rss_kib": int(cpu[2]) if len(cpu) > 2 else None})
    events = wire_events(os.path.join(folder, "capture.pcap"))
    runs, problems = [], []
    for w in windows:
        tool, rep = w["tool"], w["repeat"]
        inside = [e for e in events if w["start_ns"] <= e[0] <= w["end_ns"]]
        probes = [t for t, kind, _ in inside if kind == "probe"]
        answers = [t for t, kind, _ in inside if kind == "answer"]
        run = {"tool": tool, "repeat": rep, "rc": w["rc"], "wall_s": (w["end_ns"] - w["start_ns"]) / 1e9,
               "cpu_s": (w["cpu_us"] / 1e6 if w["cpu_us"] is not None
                         else w["cpu_ms"] / 1000 if w["cpu_ms"] is not None else None),
               "rss_kib": w["rss_kib"],
               "probes_on_wire": len(probes), "answers_on_wire": len(answers),
               # Probes whose TTL reaches the destination (each costs it an answer: a port
               # unreachable, rate limited, or an echo reply, not limited), and its answers.
               "probes_to_dest": sum(1 for _, kind, ttl in inside if kind == "probe" and ttl >= DEST_TTL),
               "dest_answers": sum(1 for _, kind, src in inside if kind == "answer" and src == DEST)}
        if probes:
            run["exec_to_first_probe_ms"] = (probes[0] - w["start_ns"]) / 1e6
        if probes and answers:
            run["wire_span_ms"] = (answers[-1] - probes[0]) / 1e6
            run["after_last_answer_ms"] = (w["end_ns"] - answers[-1]) / 1e6
        try:
            with open(os.path.join(folder, f"{tool}.{rep}.out")) as f:
                text = f.read()
            hops, extra = parse_hops(tool, text)
        except (OSError, ValueError, KeyError) as error:
            hops, extra = None, {}
            problems.append(f"scenario {scenario} {tool} run {rep}: output not parsed ({error})")
        run.update(extra)
        if tool in TRACE_TOOLS:
            run["hops"] = None if hops is None else [sorted(h) for h in hops]
            run["hops_ok"] = hops == EXPECTED[scenario]
            run["reached"] = bool(hops) and hops[-1] == {HOPS[-1]}
            if not run["hops_ok"] and hops is not None:
                problems.append(f"scenario {scenario} {tool} run {rep}: hops {show_hops(hops)}, "
                                f"expected {show_hops(EXPECTED[scenario])}")
        if w["rc"] != 0:
            problems.append(f"scenario {scenario} {tool} run {rep}: exit code {w['rc']}")
        runs.append(run)
    return runs, problems


def summarise(runs):
    by_tool = {}
    for run in runs:
        by_tool.setdefault(run["tool"], []).append(run)
    out = {}
    for tool, rs in by_tool.items():
        walls = [r["wall_s"] for r in rs]
        durations = [r.get("duration_ms") for r in rs if r.get("duration_ms") is not None]
        out[tool] = {
            "n": len(rs),
            "wall_median_s": median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "inlib_median_s": median([d / 1000 for d in durations]) if durations else None,
            "inlib_min_s": min(durations) / 1000 if durations else None,
            "inlib_max_s": max(durations) / 1000 if durations else None,
            "cpu_median_s": median([r.get("cpu_s") for r in rs]),
            "cpu_min_s": min((r["cpu_s"] for r in rs if r.get("cpu_s") is not None), default=None),
            "cpu_max_s": max((r["cpu_s"] for r in rs if r.get("cpu_s") is not None), default=None),
            "rss_median_kib": median([r.get("rss_kib") for r in rs]),
            # Under the realistic lab's ICMP limits a run that finds a budget empty waits (traceroute -n
            # 5 s): the wall of the runs that got every hop is the cost of the work itself.
            "wall_hops_ok_median_s": median([r["wall_s"] for r in rs if r.get("hops_ok")]),
            "hops_ok_n": sum(1 for r in rs if r.get("hops_ok")),
            "rss_max_kib": max((r["rss_kib"] for r in rs if r.get("rss_kib") is not None), default=None),
            "probes_to_dest_median": median([r["probes_to_dest"] for r in rs]),
            "probes_to_dest_min": min(r["probes_to_dest"] for r in rs),
            "probes_to_dest_max": max(r["probes_to_dest"] for r in rs),
            "dest_answers_median": median([r["dest_answers"] for r in rs]),
            "reached": sum(1 for r in rs if r.get("reached")),
            "exec_to_first_probe_median_ms": median([r.get("exec_to_first_probe_ms") for r in rs]),
            "wire_span_median_ms": median([r.get("wire_span_ms") for r in rs]),
            "after_last_answer_median_ms": median([r.get("after_last_answer_ms") for r in rs]),
            "probes_median": median([r["probes_on_wire"] for r in rs]),
            "hops_ok": sum(1 for r in rs if r.get("hops_ok")),
            "dest_rtt_median_ms": median([r.get("dest_rtt_ms") for r in rs]),
        }
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze_speed.py OUT_DIR")
    out = sys.argv[1]
    results, problems, lines = {}, [], []
    for scenario in SCENARIOS:
        folder = os.path.join(out, scenario)
        if not os.path.isdir(folder):
            continue
        runs, p = analyse_scenario(folder, scenario)
        problems += p
        results[scenario] = {"runs": runs, "summary": summarise(runs), "cpu_busy": rtt.cpu_busy(os.path.join(folder, "cpu.txt"))}

    environment = {}
    env_path = os.path.join(out, "environment.txt")
    if os.path.exists(env_path):
        with open(env_path) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                environment[key] = value
    lines.append(f"Lab mode: {environment.get('lab_mode', 'idealised (run.sh before LAB_MODE)')}; order "
                 f"{environment.get('order', 'interleaved')} ({environment.get('rest_s', '0')} s of rest before each tool's "
                 f"runs when grouped), {environment.get('gap_s', '0')} s between runs; "
                 f"load average {environment.get('loadavg_start', '?')} at the start, "
                 f"{environment.get('loadavg_end', '?')} at the end; "
                 f"{environment.get('other_benchmarks', '?')} at the start.")
    lines.append("")
    lines.append("Process wall time in seconds, median (min–max) of the repeats; in-library = isp-checker's "
                 "duration_ms; exec→probe = exec to the first probe on the wire; wire span = first probe "
                 "to last answer on the wire; after = last answer to exit; hops ok = runs whose hop addresses "
                 "were the expected ones.")
    lines.append("")
    lines.append("| scenario | tool | wait for a silent hop | n | wall median | wall min–max | in-library median "
                 "(min–max) | CPU median | exec→probe ms | wire span ms | after ms | probes | probes to dest "
                 "(min–max) | dest answers | reached | hops ok |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for scenario, r in results.items():
        for tool in TRACE_TOOLS:
            s = r["summary"].get(tool)
            if s is None:
                continue
            label, wait = TOOLS[tool]
            lines.append(f"| {scenario} | {label} | {wait} | {s['n']} | {fmt(s['wall_median_s'], 4)} | "
                         f"{fmt(s['wall_min_s'], 4)}–{fmt(s['wall_max_s'], 4)} | {fmt(s['inlib_median_s'], 4)}"
                         + (f" ({fmt(s['inlib_min_s'], 4)}–{fmt(s['inlib_max_s'], 4)})" if s['inlib_median_s'] is not None else "")
                         + f" | {fmt(s['cpu_median_s'], 3)} | "
                         f"{fmt(s['exec_to_first_probe_median_ms'], 1)} | {fmt(s['wire_span_median_ms'], 1)} | "
                         f"{fmt(s['after_last_answer_median_ms'], 1)} | {fmt(s['probes_median'], 0)} | "
                         f"{fmt(s['probes_to_dest_median'], 0)} ({s['probes_to_dest_min']}–{s['probes_to_dest_max']}) | "
                         f"{fmt(s['dest_answers_median'], 0)} | {s['reached']}/{s['n']} | {s['hops_ok']}/{s['n']} |")

    startup = results.get("a", {}).get("summary", {})
    lines.append("")
    lines.append("Start-up cost of the CLI alone (scenario a's namespace, process wall time, seconds):")
    lines.append("")
    lines.append("| command | what it includes | n | median | min–max | CPU median |")
    lines.append("|---|---|---|---|---|---|")
    for tool in ("startup-version", "startup-ping-loopback"):
        s = startup.get(tool)
        if s:
            label, what = TOOLS[tool]
            lines.append(f"| {label} | {what} | {s['n']} | {fmt(s['wall_median_s'], 4)} | "
                         f"{fmt(s['wall_min_s'], 4)}–{fmt(s['wall_max_s'], 4)} | {fmt(s['cpu_median_s'], 3)} |")

    lines.append("")
    lines.append("| scenario | ours | theirs | ours/theirs, process wall (medians) | ours in-library / theirs process wall "
                 "| ours/theirs, CPU (medians) |")
    lines.append("|---|---|---|---|---|---|")
    ratios = {}
    process_cost = []
    for scenario, pairs in PAIRS.items():
        summary = results.get(scenario, {}).get("summary", {})
        for ours, theirs in pairs:
            if ours not in summary or theirs not in summary:
                continue
            o, t = summary[ours], summary[theirs]
            r_wall = o["wall_median_s"] / t["wall_median_s"]
            r_inlib = o["inlib_median_s"] / t["wall_median_s"] if o["inlib_median_s"] is not None else None
            r_cpu = (o["cpu_median_s"] / t["cpu_median_s"]
                     if o["cpu_median_s"] is not None and t["cpu_median_s"] else None)
            ratios.setdefault(scenario, {})[f"{ours}/{theirs}"] = {"wall": r_wall, "inlib": r_inlib, "cpu": r_cpu}
            lines.append(f"| {scenario} | {TOOLS[ours][0]} | {TOOLS[theirs][0]} | {fmt(r_wall, 2)} | {fmt(r_inlib, 2)} "
                         f"| {fmt(r_cpu, 1)} |")

    # Issue 17: the whole process of one trace against traceroute's, same method, scenario a.
    a_summary = results.get("a", {}).get("summary", {})
    cost_rows = [(ours, theirs) for ours, theirs in COST_PAIRS if ours in a_summary and theirs in a_summary]
    if cost_rows:
        lines.append("")
        lines.append("Whole-process cost of one trace, scenario a (medians of the repeats; CPU = user + system of "
                     "the process, from wait4(); RSS = its peak resident set). Issue 17's goals: CPU ≤ 3 × "
                     "traceroute's, wall ≤ 1.0 ×, RSS ≤ 16 MiB.")
        lines.append("")
        lines.append("Wall (ok runs): the median over the runs that named every hop, as under the realistic lab's ICMP "
                     "limits a run that finds a budget empty waits out a timeout (traceroute `-n` 5 s).")
        lines.append("")
        lines.append("| method | ours | CPU ms | wall ms | wall ms (ok runs) | peak RSS MiB | traceroute | CPU ms | wall ms "
                     "| wall ms (ok runs) | peak RSS MiB | CPU ratio | wall ratio | wall ratio (ok runs) | RSS ratio |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

        def ms(value):
            return fmt(value * 1000, 2) if value is not None else "–"

        def mib(kib):
            return fmt(kib / 1024, 1) if kib is not None else "–"

        def ratio(a, b):
            return fmt(a / b, 2) if a is not None and b else "–"
        for ours, theirs in cost_rows:
            o, t = a_summary[ours], a_summary[theirs]
            method = "UDP" if ours == "ours-udp" else "ICMP"
            lines.append(f"| {method} | {TOOLS[ours][0]} | {ms(o['cpu_median_s'])} | {ms(o['wall_median_s'])} | "
                         f"{ms(o['wall_hops_ok_median_s'])} ({o['hops_ok_n']}/{o['n']}) | "
                         f"{mib(o['rss_median_kib'])} | {TOOLS[theirs][0]} | {ms(t['cpu_median_s'])} | "
                         f"{ms(t['wall_median_s'])} | {ms(t['wall_hops_ok_median_s'])} ({t['hops_ok_n']}/{t['n']}) | "
                         f"{mib(t['rss_median_kib'])} | {ratio(o['cpu_median_s'], t['cpu_median_s'])} | "
                         f"{ratio(o['wall_median_s'], t['wall_median_s'])} | "
                         f"{ratio(o['wall_hops_ok_median_s'], t['wall_hops_ok_median_s'])} | "
                         f"{ratio(o['rss_median_kib'], t['rss_median_kib'])} |")
            cpu_ratio = o["cpu_median_s"] / t["cpu_median_s"] if o["cpu_median_s"] is not None and t["cpu_median_s"] else None
            ratios.setdefault("a", {}).setdefault(f"{ours}/{theirs}", {})["rss"] = (
                o["rss_median_kib"] / t["rss_median_kib"] if o["rss_median_kib"] and t["rss_median_kib"] else None)
            process_cost.append({"method": method, "ours": ours, "theirs": theirs,
                                 "ours_cpu_s": o["cpu_median_s"], "ours_wall_s": o["wall_median_s"],
                                 "ours_rss_kib": o["rss_median_kib"], "theirs_cpu_s": t["cpu_median_s"],
                                 "theirs_wall_s": t["wall_median_s"], "theirs_rss_kib": t["rss_median_kib"],
                                 "cpu_ratio": cpu_ratio, "wall_ratio": o["wall_median_s"] / t["wall_median_s"],
                                 "ours_wall_ok_s": o["wall_hops_ok_median_s"], "theirs_wall_ok_s": t["wall_hops_ok_median_s"]})
        version = a_summary.get("startup-version")
        if version:
            lines.append(f"| – | isp-checker `--version` | {ms(version['cpu_median_s'])} | {ms(version['wall_median_s'])} | – | "
                         f"{mib(version['rss_median_kib'])} | | | | | | | | | |")

    b_runs = results.get("b", {}).get("runs", [])
    if b_runs:
        lines.append("")
        lines.append("Scenario b run by run (in run order): process wall s / in-library s / probes that reached the "
                     "destination / destination answers / reached with every hop (y/n):")
        lines.append("")
        for tool in ("ours-udp", "ours-udp-cold", "traceroute-udp", "ours-icmp", "ours-icmp-cold", "traceroute-icmp"):
            rs = sorted((r for r in b_runs if r["tool"] == tool), key=lambda r: r["repeat"])
            if rs:
                lines.append(f"- {TOOLS[tool][0]}: " + "; ".join(
                    f"{r['wall_s']:.3f}" + (f" / {r['duration_ms'] / 1000:.3f}" if r.get("duration_ms") is not None else " / –")
                    + f" / {r['probes_to_dest']} / {r['dest_answers']} / {'y' if r.get('hops_ok') else 'n'}" for r in rs))

    goals = []

    def verdict(text, ok, detail):
        goals.append({"goal": text, "met": ok, "detail": detail})
        lines.append(f"- {text}: **{'met' if ok else 'NOT met'}** ({detail})")

    lines.append("")
    lines.append("Goals:")
    b = results.get("b", {}).get("summary", {})
    if b:
        rtt_b = median([b[t]["dest_rtt_median_ms"] for t in ISSUE14_PAIRS if t in b])
        for ours, theirs in ISSUE14_PAIRS.items():
            if ours not in b:
                continue
            o = b[ours]
            if theirs in b:
                t = b[theirs]
                verdict(f"issue 14, scenario b, {TOOLS[ours][0]} ≤ {TOOLS[theirs][0]}, process wall",
                        o["wall_median_s"] <= t["wall_median_s"],
                        f"{o['wall_median_s']:.4f} s vs {t['wall_median_s']:.4f} s, ratio "
                        f"{o['wall_median_s'] / t['wall_median_s']:.2f}")
            if rtt_b is not None and o["inlib_median_s"] is not None:
                bound = 1.5 * rtt_b / 1000
                verdict(f"issue 14, scenario b, {TOOLS[ours][0]} in-library ≤ 1.5 × path RTT = {bound:.4f} s "
                        f"(a fresh process)", o["inlib_median_s"] <= bound,
                        f"median {o['inlib_median_s']:.4f} s, min {o['inlib_min_s']:.4f} s, max {o['inlib_max_s']:.4f} s; "
                        f"{o['inlib_median_s'] * 1000 / rtt_b:.2f} × the RTT of {rtt_b:.2f} ms")
    # Each tool's first run of scenario b meets full ICMP budgets and (ours) no path-length file:
    # the fairest one-off comparison.
    firsts = {r["tool"]: r for r in b_runs if r["repeat"] == 1}
    for ours, theirs in ISSUE14_PAIRS.items():
        if ours in firsts and theirs in firsts and not ours.endswith("-cold"):
            o, t = firsts[ours]["wall_s"], firsts[theirs]["wall_s"]
            verdict(f"issue 14, scenario b, first run (full budgets, cold), {TOOLS[ours][0]} ≤ {TOOLS[theirs][0]}, "
                    f"process wall", o <= t, f"{o:.4f} s vs {t:.4f} s, ratio {o / t:.2f}")
    c = results.get("c", {}).get("summary", {})
    if c:
        rtt_ms = median([c[t]["dest_rtt_median_ms"] for t in ("ours-udp", "ours-icmp") if t in c])
        bound_s = 1.5 * rtt_ms / 1000 + OURS_TIMEOUT_S
        for tool in ("ours-udp", "ours-icmp"):
            if tool not in c:
                continue
            s = c[tool]
            verdict(f"scenario c, {TOOLS[tool][0]} ≤ 1.5 × path RTT + one timeout = {bound_s:.4f} s, process wall",
                    s["wall_median_s"] <= bound_s, f"median {s['wall_median_s']:.4f} s, max {s['wall_max_s']:.4f} s")
            verdict(f"scenario c, {TOOLS[tool][0]} ≤ {bound_s:.4f} s, in-library",
                    s["inlib_median_s"] <= bound_s, f"median {s['inlib_median_s']:.4f} s, max {s['inlib_max_s']:.4f} s")
    for scenario in SCENARIOS:
        summary = results.get(scenario, {}).get("summary", {})
        for ours, traceroute in GOAL_TRACEROUTE[scenario].items():
            for theirs in (traceroute, "mtr"):
                if ours not in summary or theirs not in summary:
                    continue
                o, t = summary[ours], summary[theirs]
                verdict(f"scenario {scenario}, {TOOLS[ours][0]} ≤ 0.5 × {TOOLS[theirs][0]}, process wall",
                        o["wall_median_s"] <= 0.5 * t["wall_median_s"],
                        f"{o['wall_median_s']:.4f} s vs 0.5 × {t['wall_median_s']:.4f} s, ratio "
                        f"{o['wall_median_s'] / t['wall_median_s']:.2f}")
                verdict(f"scenario {scenario}, {TOOLS[ours][0]} ≤ 0.5 × {TOOLS[theirs][0]}, ours in-library",
                        o["inlib_median_s"] <= 0.5 * t["wall_median_s"],
                        f"{o['inlib_median_s']:.4f} s vs 0.5 × {t['wall_median_s']:.4f} s, ratio "
                        f"{o['inlib_median_s'] / t['wall_median_s']:.2f}")

    for row in process_cost:
        verdict(f"issue 17, scenario a, {TOOLS[row['ours']][0]} CPU ≤ 3 × {TOOLS[row['theirs']][0]}'s",
                row["cpu_ratio"] is not None and row["cpu_ratio"] <= 3,
                f"{row['ours_cpu_s'] * 1000:.2f} ms vs {row['theirs_cpu_s'] * 1000:.2f} ms, ratio "
                + (f"{row['cpu_ratio']:.2f}" if row["cpu_ratio"] is not None else "–"))
        verdict(f"issue 17, scenario a, {TOOLS[row['ours']][0]} process wall ≤ 1.0 × {TOOLS[row['theirs']][0]}'s",
                row["wall_ratio"] <= 1.0,
                f"{row['ours_wall_s'] * 1000:.2f} ms vs {row['theirs_wall_s'] * 1000:.2f} ms, ratio {row['wall_ratio']:.2f}")
        if row["ours_wall_ok_s"] is not None and row["theirs_wall_ok_s"]:
            ok_ratio = row["ours_wall_ok_s"] / row["theirs_wall_ok_s"]
            verdict(f"issue 17, scenario a, {TOOLS[row['ours']][0]} process wall ≤ 1.0 × {TOOLS[row['theirs']][0]}'s, "
                    "runs that named every hop", ok_ratio <= 1.0,
                    f"{row['ours_wall_ok_s'] * 1000:.2f} ms vs {row['theirs_wall_ok_s'] * 1000:.2f} ms, ratio {ok_ratio:.2f}")
        if row["ours_rss_kib"] is not None:
            verdict(f"issue 17, scenario a, {TOOLS[row['ours']][0]} peak RSS ≤ 16 MiB",
                    row["ours_rss_kib"] <= 16 * 1024, f"{row['ours_rss_kib'] / 1024:.1f} MiB")

    lines.append("")
    for scenario, r in results.items():
        if r["cpu_busy"] is not None:
            lines.append(f"CPU busy during scenario {scenario} (all cores): {100 * r['cpu_busy']:.0f} %")
    clocks = sorted({c for r in results.values() for run in r["runs"] for c in run.get("clocks", [])})
    lines.append("isp-checker hop clocks seen: " + (", ".join(clocks) or "–"))
    if problems:
        lines.append("")
        lines.append("Problems:")
        lines += [f"- {p}" for p in problems]
    else:
        lines.append("Every run of every tool reported the expected hop addresses and exited 0.")
    print("\n".join(lines))

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"environment": environment, "scenarios": results, "ratios": ratios, "goals": goals,
                   "process_cost_a": process_cost, "problems": problems}, f, indent=1)


if __name__ == "__main__":
    main()
