#!/usr/bin/env python3
"""Summary of a Benchmarks/monitor-scale/run.sh run: CPU and memory from the samples, API latency
per endpoint, and whether every target was checked in every interval (from the SQLite history
and the last /metrics). Prints a table with each goal met or missed; exit 0 when all are met."""
import argparse
import json
import os
import re
import sqlite3
import statistics
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--start", type=float, required=True)
parser.add_argument("--end", type=float, required=True)
parser.add_argument("--interval", type=float, required=True)
parser.add_argument("--targets", type=int, required=True)
parser.add_argument("--sample-skip", type=float, default=5)
parser.add_argument("--commit", default="unknown")
parser.add_argument("--setup", default="")
args = parser.parse_args()
out = args.out

CPU_GOAL_CORES = 1.0
RSS_GOAL_MIB = 200.0
P99_GOAL_MS = 50.0


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


goals = []  # (goal, measured, met)

# --- CPU and memory
tick = 100
samples = []
with open(os.path.join(out, "samples.tsv")) as f:
    for line in f:
        if line.startswith("# clk_tck"):
            tick = int(line.split()[2])
            continue
        t, cpu, rss = line.split()
        samples.append((float(t), int(cpu), int(rss)))
steady = [s for s in samples if s[0] >= args.start + args.sample_skip]
if len(steady) < 2:
    print("monitor-scale: too few CPU samples", file=sys.stderr)
    sys.exit(2)
per_second = [((b[1] - a[1]) / tick) / (b[0] - a[0]) for a, b in zip(steady, steady[1:]) if b[0] > a[0]]
average_cores = ((steady[-1][1] - steady[0][1]) / tick) / (steady[-1][0] - steady[0][0])
total_cpu_seconds = samples[-1][1] / tick
rss_mib = [s[2] / 1024 for s in samples]
with open(os.path.join(out, "vmhwm-kb")) as f:
    hwm_mib = int(f.read().strip() or 0) / 1024

print(f"monitor at scale — commit {args.commit}; {args.setup}")
print(f"files: {out}")
print()
print("CPU (cores, utime+stime per second)   average {:.3f}   p50 {:.3f}   p95 {:.3f}   max {:.3f}   ({:.1f} CPU-s in {:.0f} s)".format(
    average_cores, percentile(per_second, 50), percentile(per_second, 95), max(per_second), total_cpu_seconds,
    samples[-1][0] - samples[0][0]))
print("RSS (MiB)                              last {:.1f}   median {:.1f}   max sampled {:.1f}   VmHWM {:.1f}".format(
    rss_mib[-1], statistics.median(rss_mib), max(rss_mib), hwm_mib))
goals.append(("CPU average <= 1 core", f"{average_cores:.3f} cores", average_cores <= CPU_GOAL_CORES))
goals.append(("peak RSS (VmHWM) <= 200 MiB", f"{hwm_mib:.1f} MiB", hwm_mib <= RSS_GOAL_MIB))

# --- API latency
with open(os.path.join(out, "latency.json")) as f:
    latency = json.load(f)
print()
print(f"{'endpoint':34} {'requests':>8} {'errors':>6} {'late':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'kB/resp':>8}")
worst_p99 = 0.0
all_errors = 0
for name, r in latency.items():
    values = r["latencies_ms"]
    n = len(values)
    p99 = percentile(values, 99)
    if n:
        worst_p99 = max(worst_p99, p99)
    all_errors += r["errors"]
    print(f"{name:34} {n:8d} {r['errors']:6d} {r['late']:5d} {percentile(values, 50):8.2f} {percentile(values, 90):8.2f} "
          f"{p99:8.2f} {max(values) if values else float('nan'):8.2f} {(r['bytes'] / n / 1024) if n else 0:8.1f}")
    for sample in r["error_samples"]:
        print(f"    error: {sample}")
all_latencies = [v for r in latency.values() for v in r["latencies_ms"]]
print(f"{'all':34} {len(all_latencies):8d} {all_errors:6d} {'':5} {percentile(all_latencies, 50):8.2f} {percentile(all_latencies, 90):8.2f} "
      f"{percentile(all_latencies, 99):8.2f} {max(all_latencies) if all_latencies else float('nan'):8.2f}")
missing = [name for name, r in latency.items() if not r["latencies_ms"]]
goals.append(("API p99 < 50 ms on every endpoint", f"worst {worst_p99:.2f} ms" + (f", no answers on {missing}" if missing else ""),
              worst_p99 < P99_GOAL_MS and not missing))
goals.append(("API errors = 0", f"{all_errors}", all_errors == 0))

# --- The checks ran: every target in every full interval window
database = os.path.join(out, "db", "runs.sqlite")
connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
history_rows = connection.execute("SELECT COUNT(*) FROM runs WHERE timestamp_ms < ?", (int(args.start * 1000),)).fetchone()[0]
rows = connection.execute("SELECT target, timestamp_ms, score FROM runs WHERE timestamp_ms >= ?", (int(args.start * 1000),)).fetchall()
connection.close()
by_target = {}
for target, ms, score in rows:
    by_target.setdefault(target, []).append(ms / 1000)
with open(os.path.join(out, "targets.txt")) as f:
    expected = [line.strip() for line in f if line.strip()]
full_windows = int((args.end - args.start) // args.interval)
window_counts = []
for k in range(full_windows):
    lo, hi = args.start + k * args.interval, args.start + (k + 1) * args.interval
    window_counts.append(sum(1 for t in expected if any(lo <= s < hi for s in by_target.get(t, []))))
runs_per_target = [len(by_target.get(t, [])) for t in expected]
max_gaps = []
for t in expected:
    starts = sorted(by_target.get(t, []))
    edges = [args.start] + starts + [args.end]
    max_gaps.append(max(b - a for a, b in zip(edges, edges[1:])))
scores = [score for _, _, score in rows]
print()
print(f"history before the run: {history_rows} runs")
print(f"runs stored during the run {len(rows)} for {len(by_target)} of {len(expected)} targets; runs per target min {min(runs_per_target)} "
      f"median {statistics.median(runs_per_target)} max {max(runs_per_target)}; scores median {statistics.median(scores) if scores else float('nan'):.1f} max {max(scores) if scores else float('nan'):.1f}")
print(f"targets checked in each full {args.interval:.0f} s window: {window_counts}")
print(f"longest gap between two check starts of a target (run start and end count as starts): median {statistics.median(max_gaps):.1f} s, max {max(max_gaps):.1f} s")
checked_every_window = bool(window_counts) and all(c == len(expected) for c in window_counts)
goals.append((f"every target checked in every {args.interval:.0f} s window",
              f"{min(window_counts) if window_counts else 0} of {len(expected)} in the worst of {full_windows} windows", checked_every_window))

with open(os.path.join(out, "last-metrics.txt"), errors="replace") as f:
    metrics = f.read()
metric_targets = set(re.findall(r'^isp_checker_runs_total\{target="([^"]+)"\}', metrics, re.M))
series = sum(1 for line in metrics.splitlines() if line and not line.startswith("#"))
print(f"last /metrics: {len(metrics) / 1024:.0f} kB, {series} series, isp_checker_runs_total for {len(metric_targets)} targets")
goals.append(("/metrics has runs_total for every target", f"{len(metric_targets & set(expected))} of {len(expected)}",
              set(expected) <= metric_targets))

# --- The monitor's log
levels = {}
try:
    with open(os.path.join(out, "monitor.err"), errors="replace") as f:
        for line in f:
            match = re.search(r"\b(trace|debug|info|notice|warning|error|critical)\b", line)
            if match:
                levels[match.group(1)] = levels.get(match.group(1), 0) + 1
except FileNotFoundError:
    pass
print(f"monitor log lines by level: {levels}")

print()
print(f"{'goal':44} {'measured':46} result")
for goal, measured, met in goals:
    print(f"{goal:44} {measured:46} {'met' if met else 'MISSED'}")
sys.exit(0 if all(met for _, _, met in goals) else 1)
