import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 22's lab test: `isp-checker-monitor --config FILE` checks a healthy target in the
/// realistic lab (ICMP rate limits, checksum offload); its gateway stops forwarding: the monitor
/// opens one P1 incident diagnosed Upstream; forwarding comes back, it closes with the duration of its runs;
/// the webhook receiver (this process, listening on the client namespace's loopback, where the
/// monitor runs) got the open and the close once each although it refused the first delivery;
/// the markdown report and the CLI's `--incident-report` of a saved run fill the runbook's headings.
@Suite("Incidents in the lab", .serialized,
       .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: monitorExecutable), "needs root and a built isp-checker-monitor"))
struct IncidentLabTests {
    static let script = repositoryRoot.appendingPathComponent("lab/lab.sh").path
    /// `ispc-t` (or $ISPC_LAB_TEST_PREFIX, for two test runs on one machine) and this suite's name.
    static let prefix = (ProcessInfo.processInfo.environment["ISPC_LAB_TEST_PREFIX"] ?? "ispc-t") + "inc"
    static let client = "\(prefix)-c"
    /// Two routers: the destination is on the third link.
    static let destination = "10.99.3.2"

    private func get(_ port: Int, _ path: String) throws -> String { try namespaceGet(Self.client, port: port, path) }

    private func incidents(_ port: Int, _ query: String) throws -> [[String: Any]] {
        let body = try JSONSerialization.jsonObject(with: Data(try get(port, "/api/v1/incidents?\(query)").utf8)) as? [String: Any]
        return body?["incidents"] as? [[String: Any]] ?? []
    }

    /// The gateway (r1) forwards nothing: `lab.sh loss` stops at 99.99 %, a drop policy is total.
    private func blackhole(_ on: Bool) throws {
        if on {
            try run("/bin/bash", [Self.script, "exec", "--prefix", Self.prefix, "r1", "--", "nft", "add table inet h1_dark"])
            try run("/bin/bash", [Self.script, "exec", "--prefix", Self.prefix, "r1", "--",
                                  "nft", "add chain inet h1_dark forward { type filter hook forward priority 0; policy drop; }"])
        } else {
            try run("/bin/bash", [Self.script, "exec", "--prefix", Self.prefix, "r1", "--", "nft", "delete table inet h1_dark"])
        }
    }

    @Test("the target goes dark: one P1 incident, Upstream, with evidence; it clears: closed with the runs' duration; open and close posted once each after a failed delivery")
    func darkTargetOpensAndClosesAnIncident() async throws {
        defer { _ = try? run("/bin/bash", [Self.script, "down", "--prefix", Self.prefix], check: false) }
        _ = try? run("/bin/bash", [Self.script, "down", "--prefix", Self.prefix], check: false)
        try run("/bin/bash", [Self.script, "up", "--prefix", Self.prefix, "--routers", "2", "--realistic"])

        let receiver = try WebhookReceiver(statuses: [500], networkNamespace: Self.client)
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory("mn-incident-lab")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Started as root, the monitor continues as nobody: its store in a folder it is handed.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let port = Int.random(in: 20000...39999)
        try """
        targets:
          - host: \(Self.destination)
            class: critical
            timeout: 300ms
        probe_intervals:
          critical_targets: 6s
        retry_policy:            # the checks' and the webhook's: one retry, soon (a dark check is retried too)
          max_attempts: 2
          initial_delay: 100ms
        incidents:               # one bad run opens: see below
          open_severity: P2
          open_after_runs: 1
          close_after_runs: 2
        notifications:
          - url: http://127.0.0.1:\(receiver.port)/hook
            min_severity: P2
            name: lab
        http:
          host: 127.0.0.1
          port: \(port)
        """.write(toFile: "\(directory)/checker.yaml", atomically: true, encoding: .utf8)
        // The monitor checks the healthy target once; the gateway goes dark right after that run
        // is stored, in the quiet time before the next check (a healthy critical target is checked
        // every 2 × 6 s, a check takes about 5 s), so the next check meets the whole fault. One bad
        // run opens the incident here (`open_after_runs: 1`): the runbook's adaptive interval
        // (§4.1.2) checks a P1 target again only after 30 s, so each further bad run costs 30 s of
        // CI. The two-run default is covered by IncidentTrackerTests and IncidentMonitorTests.
        let monitor = try Subprocess("/usr/sbin/ip", ["netns", "exec", Self.client, monitorExecutable,
                                                      "--config", "\(directory)/checker.yaml", "--sqlite", "\(directory)/store/runs.sqlite"])
        defer { if monitor.isRunning { kill(monitor.pid, SIGKILL); _ = monitor.wait() } }
        let storedHealthy = try await eventually(timeout: .seconds(60)) { monitor.stdout.contains("stored ") }
        try #require(storedHealthy, "no first run stored: \(monitor.stderr.suffix(3000))")
        try blackhole(true)
        var darkOff = false
        defer { if !darkOff { try? blackhole(false) } }
        #expect(try incidents(port, "").isEmpty, "an incident before the fault")
        let opened = try await eventually(timeout: .seconds(90)) { try !incidents(port, "state=open").isEmpty }
        try blackhole(false)
        darkOff = true
        try #require(opened, "no incident opened: \(monitor.stderr.suffix(3000))")
        let closed = try await eventually(timeout: .seconds(90)) { try incidents(port, "state=closed").count == 1 }
        try #require(closed, "the incident did not close: \(monitor.stderr.suffix(3000))")
        #expect(try await eventually(timeout: .seconds(30)) { receiver.requests.filter { $0.status == 200 }.count >= 2 },
                "webhook deliveries: \(receiver.requests.map(\.status)); \(monitor.stderr.suffix(2000))")

        // One incident, P1, Upstream with its evidence.
        let all = try incidents(port, "target=\(Self.destination)")
        #expect(all.count == 1, "\(all)")
        let incident = try #require(all.first)
        let id = try #require(incident["id"] as? String)
        #expect(incident["severity"] as? String == "P1", "\(incident)")
        #expect((incident["components"] as? [String])?.contains("Upstream") == true, "\(incident)")
        let diagnosis = try #require((incident["diagnosis"] as? [[String: Any]])?.first, "\(incident)")
        #expect(diagnosis["component"] as? String == "Upstream")
        #expect(!((diagnosis["evidence"] as? [Any]) ?? []).isEmpty, "\(diagnosis)")
        #expect(((incident["failed_probes"] as? [String]) ?? []).contains("ping"), "\(incident)")

        // The duration is that of the runs: from the first bad run to the first healthy one after it,
        // with only bad runs between and healthy runs around.
        let detail = try #require(try JSONSerialization.jsonObject(with: Data(try get(port, "/api/v1/incidents/\(id)").utf8)) as? [String: Any])
        #expect((detail["timeline"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }.first == "opened")
        #expect((detail["timeline"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }.last == "closed")
        let runsBody = try #require(try JSONSerialization.jsonObject(with: Data(try get(port, "/api/v1/runs?target=\(Self.destination)&limit=1000").utf8)) as? [String: Any])
        let runs = try ((runsBody["runs"] as? [Any]) ?? []).map {
            try RunReport.decoder.decode(RunReport.self, from: JSONSerialization.data(withJSONObject: $0))
        }.sorted { $0.timestamp < $1.timestamp }
        let startedAt = try #require((incident["started_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
        let endedAt = try #require((incident["ended_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
        let startIndex = try #require(runs.firstIndex { abs($0.timestamp.timeIntervalSince(startedAt)) < 0.001 }, "no run at the start")
        let endIndex = try #require(runs.firstIndex { abs($0.timestamp.timeIntervalSince(endedAt)) < 0.001 }, "no run at the end")
        let summary = runs.map { "\($0.timestamp) \($0.score) \($0.severity.rawValue)" }.joined(separator: "\n")
        #expect(startIndex >= 1 && runs[..<startIndex].allSatisfy { $0.severity < .p2 }, "healthy runs before the first bad one, which started it:\n\(summary)")
        #expect(runs[startIndex..<endIndex].allSatisfy { $0.severity >= .p2 }, "only bad runs inside:\n\(summary)")
        #expect(runs[endIndex].severity < .p2 && endIndex + 1 < runs.count && runs[endIndex + 1].severity < .p2, "two healthy runs close it:\n\(summary)")
        let duration = try #require(incident["duration_seconds"] as? Double)
        #expect(abs(duration - endedAt.timeIntervalSince(startedAt)) < 0.002, "\(duration)")

        // The webhook: the open (after one refused delivery) and the close, once each.
        let requests = receiver.requests
        #expect(requests.map(\.status) == [500, 200, 200], "\(requests.map(\.status))")
        let events = try requests.filter { $0.status == 200 }.map { try $0.json() }
        #expect(events.compactMap { $0["event"] as? String } == ["opened", "closed"])
        #expect(events.allSatisfy { ($0["incident"] as? [String: Any])?["id"] as? String == id })
        #expect((events.first?["incident"] as? [String: Any])?["severity"] as? String == "P1")

        // The runbook's documents, filled in.
        let markdown = try get(port, "/api/v1/incidents/\(id)/report?format=markdown")
        for line in ["## Incident Summary", "- **ID**: \(id)", "- **Severity**: P1 (Critical)", "- **Affected Targets**: \(Self.destination)",
                     "**Upstream**", "Suggested action: ", "# Post-Incident Report: \(id)", "## Timeline", "| Alert triggered: opened at P1"] {
            #expect(markdown.contains(line), "\(line) missing from:\n\(markdown)")
        }
        let metrics = try get(port, "/metrics")
        #expect(metrics.contains(#"isp_checker_incidents_open{target="\#(Self.destination)",severity="P1"} 0"#), "\(metrics)")

        // The CLI prints the same ticket for a saved run report of the incident.
        let lastBad = try #require(detail["last_evidence_run_id"] as? String)
        let saved = "\(directory)/run.json"
        try get(port, "/api/v1/runs/\(lastBad)").write(toFile: saved, atomically: true, encoding: .utf8)
        let ticket = try run(MonitorSubcommandTests.cli, ["run", "--mode", "replay", "--input", saved, "--incident-report"], check: false)
        #expect(ticket.status == 2, "a critical run: \(ticket.stderr)")
        for line in ["## Incident Summary", "- **Severity**: P1 (Critical)", "- **Affected Targets**: \(Self.destination)", "**Upstream**", "## Next Steps"] {
            #expect(ticket.stdout.contains(line), "\(line) missing from:\n\(ticket.stdout)")
        }

        monitor.terminate()
        #expect(monitor.wait() == 0, "\(monitor.stderr.suffix(2000))")
    }
}
