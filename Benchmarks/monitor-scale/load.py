#!/usr/bin/env python3
"""Steady API load for Benchmarks/monitor-scale/run.sh: one thread per endpoint, each with one
keep-alive HTTP/1.1 connection, sending at a fixed rate (open schedule: a request is due every
1/rate s; a thread that falls behind sends at once and counts it as `late`). Latency is from
send to the last byte of the body. Writes per-endpoint latencies (ms) and errors as JSON, and
the last /metrics body it received (for the run count per target).

Endpoints: /health, /health/detailed, /metrics (--metrics-rate), /api/v1/runs?limit=50,
/api/v1/runs?target=T&limit=10 (T random from --targets), /api/v1/runs/ID (ID one of the runs
the listing returned last; skipped until there is one)."""
import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--duration", type=float, required=True)
parser.add_argument("--rate", type=float, required=True)
parser.add_argument("--metrics-rate", type=float, required=True)
parser.add_argument("--targets", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--last-metrics", required=True)
args = parser.parse_args()

targets = [line.strip() for line in open(args.targets) if line.strip()]
recent_ids: list[str] = []
ids_lock = threading.Lock()
last_metrics = [b""]


def path_health():
    return "/health"


def path_detailed():
    return "/health/detailed"


def path_metrics():
    return "/metrics"


def path_runs():
    return "/api/v1/runs?limit=50"


def path_target():
    return "/api/v1/runs?" + urllib.parse.urlencode({"target": random.choice(targets), "limit": 10})


def path_one():
    with ids_lock:
        if not recent_ids:
            return None
        return "/api/v1/runs/" + random.choice(recent_ids)


def keep_ids(body: bytes):
    try:
        runs = json.loads(body)["runs"]
    except (ValueError, KeyError, TypeError):
        return
    ids = [run["id"] for run in runs if isinstance(run, dict) and "id" in run]
    if ids:
        with ids_lock:
            recent_ids[:] = ids


def keep_metrics(body: bytes):
    last_metrics[0] = body


ENDPOINTS = [
    ("/health", path_health, args.rate, None),
    ("/health/detailed", path_detailed, args.rate, None),
    ("/metrics", path_metrics, args.metrics_rate, keep_metrics),
    ("/api/v1/runs?limit=50", path_runs, args.rate, keep_ids),
    ("/api/v1/runs?target=T&limit=10", path_target, args.rate, None),
    ("/api/v1/runs/ID", path_one, args.rate, None),
]

results = {name: {"latencies_ms": [], "errors": 0, "error_samples": [], "late": 0, "bytes": 0} for name, *_ in ENDPOINTS}
deadline = time.monotonic() + args.duration


def worker(name, make_path, rate, keep):
    result = results[name]
    if rate <= 0:
        return
    period = 1.0 / rate
    connection = None
    due = time.monotonic() + random.random() * period
    while True:
        now = time.monotonic()
        if due >= deadline:
            break
        if now < due:
            time.sleep(due - now)
        elif now - due > period:
            result["late"] += 1
        due += period
        path = make_path()
        if path is None:
            continue
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            sent = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - sent) * 1000
            result["latencies_ms"].append(elapsed)
            result["bytes"] += len(body)
            if not 200 <= response.status < 300:
                result["errors"] += 1
                if len(result["error_samples"]) < 5:
                    result["error_samples"].append(f"{response.status} {path}: {body[:200]!r}")
            elif keep:
                keep(body)
        except (OSError, http.client.HTTPException) as error:
            result["errors"] += 1
            if len(result["error_samples"]) < 5:
                result["error_samples"].append(f"{type(error).__name__} {path}: {error}")
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()


threads = [threading.Thread(target=worker, args=endpoint, daemon=True) for endpoint in ENDPOINTS]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()

with open(args.out, "w") as f:
    json.dump(results, f)
with open(args.last_metrics, "wb") as f:
    f.write(last_metrics[0])
print("requests:", {name: len(r["latencies_ms"]) for name, r in results.items()})
