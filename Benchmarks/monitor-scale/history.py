#!/usr/bin/env python3
"""History helper for Benchmarks/monitor-scale/run.sh.

  history.py count DB TARGETS          exit 0 once TARGETS distinct targets have a run in DB
  history.py clone DB RUNS INTERVAL    copy each target's newest run back in time, one INTERVAL
                                       apart (new ids, timestamps in the row and in the JSON),
                                       until each target has RUNS runs
"""
import datetime
import json
import sqlite3
import sys
import uuid


def count(database, targets):
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    have = connection.execute("SELECT COUNT(DISTINCT target) FROM runs").fetchone()[0]
    connection.close()
    return 0 if have >= targets else 1


def iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clone(database, runs, interval):
    connection = sqlite3.connect(database)
    newest = connection.execute(
        "SELECT target, MAX(timestamp_ms), score, severity, report_json FROM runs GROUP BY target").fetchall()
    rows = []
    for target, ms, score, severity, text in newest:
        have = connection.execute("SELECT COUNT(*) FROM runs WHERE target = ?", (target,)).fetchone()[0]
        report = json.loads(text)
        for k in range(1, runs - have + 1):
            copy_ms = ms - k * interval * 1000
            report["id"] = str(uuid.uuid4()).upper()
            report["timestamp"] = iso(copy_ms / 1000)
            rows.append((report["id"], target, copy_ms, score, severity,
                         json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)))
    with connection:
        connection.executemany(
            "INSERT INTO runs (id, target, timestamp_ms, score, severity, report_json) VALUES (?, ?, ?, ?, ?, ?)", rows)
    total = connection.execute("SELECT COUNT(*), SUM(LENGTH(report_json)) FROM runs").fetchone()
    connection.close()
    print(f"history: {len(rows)} runs copied; {total[0]} runs, {total[1] / 1e6:.1f} MB of JSON in the table")


if __name__ == "__main__":
    if sys.argv[1] == "count":
        sys.exit(count(sys.argv[2], int(sys.argv[3])))
    elif sys.argv[1] == "clone":
        clone(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(f"usage: {sys.argv[0]} count DB TARGETS | clone DB RUNS INTERVAL")
