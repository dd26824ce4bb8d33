import Foundation
import GRDB
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// Incidents in the monitor (issue 22): kept in the store beside the runs, served by the API,
/// counted in /metrics, posted to webhooks (retried, never holding up the runs).
@Suite("Incidents in the monitor")
struct IncidentMonitorTests {
    let base = Date(timeIntervalSince1970: 1_796_000_000)

    /// A run of `target` at `base + seconds` with this score (and an Upstream fault when bad).
    func run(_ seconds: Int, score: Double, target: String = "lab.invalid") -> RunReport {
        let bad = score >= 40
        let probes = [ProbeReport(name: "ping", status: bad ? .crit : .ok, details: ["packet_loss": .double(bad ? 100 : 0)])]
        let diagnosis = bad ? [Diagnosis(component: "Upstream", confidence: 0.98, explanation: "Complete connectivity failure detected",
                                         suggestedAction: "Verify ISP status and local network equipment",
                                         evidence: [Evidence(probe: "ping", detail: "100 % packet loss")])] : []
        return RunReport(id: "r\(seconds)-\(target)", target: target, timestamp: base.addingTimeInterval(Double(seconds)),
                         probes: probes, score: score, diagnosis: diagnosis)
    }

    /// Runs that open (2 bad) and close (2 healthy) one incident of `target`.
    func outage(target: String = "lab.invalid", from start: Int = 0) -> [RunReport] {
        [run(start, score: 0, target: target), run(start + 60, score: 100, target: target), run(start + 120, score: 100, target: target),
         run(start + 180, score: 0, target: target), run(start + 240, score: 0, target: target)]
    }

    @Test("the store keeps incidents: saved, replaced by id, filtered by target, state and since, paged, and only closed ones expire",
          arguments: Backend.availableCases)
    func storeContract(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let incidents = try #require(store as? any IncidentStore)
            var tracker = IncidentTracker()
            var saved: [Incident] = []
            for report in outage(target: "a.lab") + outage(target: "b.lab", from: 1000) + [run(2000, score: 90, target: "c.lab"), run(2060, score: 90, target: "c.lab")] {
                if let change = tracker.observe(report) {
                    try await incidents.save(change.incident)
                    saved.removeAll { $0.id == change.incident.id }
                    saved.append(change.incident)
                }
            }
            #expect(saved.count == 3)
            #expect(try await incidents.incident(id: saved[0].id) == saved[0])
            #expect(try await incidents.incident(id: "INC-none") == nil)
            let all = try await incidents.incidents(matching: IncidentQuery())
            #expect(all.total == 3 && all.incidents.map(\.target) == ["c.lab", "b.lab", "a.lab"])
            #expect(try await incidents.incidents(matching: IncidentQuery(state: .open)).incidents.map(\.target) == ["c.lab"])
            #expect(try await incidents.incidents(matching: IncidentQuery(target: "a.lab")).incidents.first?.state == .closed)
            // Since: started after, or still open.
            let since = try await incidents.incidents(matching: IncidentQuery(since: base.addingTimeInterval(500)))
            #expect(since.incidents.map(\.target) == ["c.lab", "b.lab"])
            let page = try await incidents.incidents(matching: IncidentQuery(limit: 1, offset: 1))
            #expect(page.total == 3 && page.incidents.map(\.target) == ["b.lab"])
            // Retention: a's and b's ended before the cutoff, c's is open.
            #expect(try await incidents.deleteIncidents(endedBefore: base.addingTimeInterval(5000)) == 2)
            #expect(try await incidents.incidents(matching: IncidentQuery()).incidents.map(\.target) == ["c.lab"])
        }
    }

    @Test("a stored incident row that does not decode is left out of the list instead of failing it; by id it is an error")
    func unreadableRowLeftOut() async throws {
        try await withStore(.sqlite) { store, _ in
            let sqlite = try #require(store as? SQLiteRunStore)
            var tracker = IncidentTracker(policy: IncidentPolicy(openAfterRuns: 1))
            let change = tracker.observe(run(0, score: 100))
            let good = try #require(change).incident
            try await sqlite.save(good)
            try await sqlite.pool.write { db in
                try db.execute(sql: "INSERT INTO incidents (id, target, state, severity, started_at_ms, ended_at_ms, incident_json) VALUES ('INC-bad', 'x', 'open', 'P1', 0, NULL, '{\"id\": 1')")
            }
            let page = try await sqlite.incidents(matching: IncidentQuery())
            #expect(page.incidents.map(\.id) == [good.id] && page.total == 2)
            await #expect(throws: RunStoreError.self) { try await sqlite.incident(id: "INC-bad") }
        }
    }

    @Test("the retention job deletes closed incidents with the runs")
    func retentionDeletesClosedIncidents() async throws {
        try await withStore(.sqlite) { store, _ in
            let incidents = try #require(store as? any IncidentStore)
            var tracker = IncidentTracker()
            for report in outage() { if let change = tracker.observe(report) { try await incidents.save(change.incident) } }
            let job = RetentionJob(store: store, retention: .seconds(3600), now: { [base] in base.addingTimeInterval(7200) })
            try await job.runOnce()
            #expect(try await incidents.incidents(matching: IncidentQuery()).total == 0)
        }
    }

    @Test("a monitor with a webhook that fails its first delivery: open and close posted once each, served by the API, counted in /metrics")
    func monitorOpensClosesAndNotifies() async throws {
        let directory = try makeTemporaryDirectory("mn-incidents")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRunStore(path: "\(directory)/runs.sqlite")
        let receiver = try WebhookReceiver(statuses: [500])
        defer { receiver.stop() }
        let metrics = MonitorMetrics()
        let notifier = try WebhookNotifier(
            webhooks: [WebhookConfiguration(name: "noc", url: "http://127.0.0.1:\(receiver.port)/hook?token=secret", minSeverity: .p2)],
            retryPolicy: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(50), maxDelay: .milliseconds(200)), metrics: metrics)
        let recorder = IncidentRecorder(store: store, notifier: notifier, metrics: metrics)
        let monitor = try await InProcessMonitor(store: store, extraServices: [notifier], metrics: metrics, incidents: recorder)
        for report in outage() { monitor.submit(report) }
        #expect(try await eventually { receiver.requests.filter { $0.status == 200 }.count >= 2 }, "\(receiver.requests.map(\.status))")
        #expect(try await eventually { try await store.incidents(matching: IncidentQuery(state: .closed)).total == 1 })

        // The receiver: 500, then the retried open, then the close; each event delivered once.
        let requests = receiver.requests
        #expect(requests.map(\.status) == [500, 200, 200])
        #expect(requests.allSatisfy { $0.path == "/hook?token=secret" })
        let delivered = try requests.filter { $0.status == 200 }.map { try $0.json() }
        #expect(delivered.map { $0["event"] as? String } == ["opened", "closed"])
        let opened = try #require(delivered.first?["incident"] as? [String: Any])
        #expect(opened["severity"] as? String == "P1")
        #expect(opened["target"] as? String == "lab.invalid")

        let list = try await httpGet(port: monitor.port, "/api/v1/incidents?state=closed&target=lab.invalid").json()
        #expect(list["total"] as? Int == 1)
        let first = try #require((list["incidents"] as? [[String: Any]])?.first)
        let id = try #require(first["id"] as? String)
        #expect(first["duration_seconds"] as? Double == 120, "first bad run (60 s) to first healthy run (180 s)")
        #expect(try await httpGet(port: monitor.port, "/api/v1/incidents?state=sideways").status == 400)

        let one = try await httpGet(port: monitor.port, "/api/v1/incidents/\(id)").json()
        #expect((one["timeline"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["opened", "closed"])
        let runs = try #require(one["runs"] as? [String: Any])
        #expect((runs["runs"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["r180-lab.invalid", "r120-lab.invalid", "r60-lab.invalid"])
        #expect(try await httpGet(port: monitor.port, "/api/v1/incidents/INC-none").status == 404)

        let report = try await httpGet(port: monitor.port, "/api/v1/incidents/\(id)/report?format=markdown")
        #expect(report.headers["content-type"]?.hasPrefix("text/markdown") == true)
        #expect(report.text.contains("## Incident Summary") && report.text.contains("- **ID**: \(id)"))
        #expect(report.text.contains("# Post-Incident Report: \(id)") && report.text.contains("(2m 00s)"), "\(report.text)")

        let exposition = try await httpGet(port: monitor.port, "/metrics").text
        #expect(exposition.contains(#"isp_checker_incidents_open{target="lab.invalid",severity="P1"} 0"#), "\(exposition)")
        #expect(exposition.contains(#"isp_checker_notifications_total{webhook="noc",outcome="delivered"} 2"#), "\(exposition)")
        let dashboard = try await httpGet(port: monitor.port, "/").text
        #expect(dashboard.contains("data-incident=\"\(id)\""))
        let page = try await httpGet(port: monitor.port, "/incidents/\(id)")
        #expect(page.status == 200 && page.text.contains("# Post-Incident Report: \(id)"), "\(page.text)")
        await monitor.stop()
    }

    @Test("an open incident shows in /metrics at its severity and on the dashboard; a restart continues it")
    func openIncidentSurvivesRestart() async throws {
        let directory = try makeTemporaryDirectory("mn-incidents")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRunStore(path: "\(directory)/runs.sqlite")
        let metrics = MonitorMetrics()
        let first = try await InProcessMonitor(store: store, metrics: metrics, incidents: IncidentRecorder(store: store, metrics: metrics))
        for report in outage().prefix(3) { first.submit(report) }
        #expect(try await eventually { try await store.incidents(matching: IncidentQuery(state: .open)).total == 1 })
        let exposition = try await httpGet(port: first.port, "/metrics").text
        #expect(exposition.contains(#"isp_checker_incidents_open{target="lab.invalid",severity="P1"} 1"#), "\(exposition)")
        #expect(try await httpGet(port: first.port, "/").text.contains("class=\"incident open\""))
        await first.stop()

        let second = try await InProcessMonitor(store: store, incidents: IncidentRecorder(store: store))
        for report in outage().suffix(2) { second.submit(report) }
        #expect(try await eventually { try await store.incidents(matching: IncidentQuery(state: .closed)).total == 1 })
        #expect(try await store.incidents(matching: IncidentQuery()).total == 1, "the restart continued the incident")
        await second.stop()
    }

    @Test("a webhook that never answers costs no run: its queue drops the oldest events and counts them")
    func deadWebhookDelaysNothing() async throws {
        // Listening but never accepting: connections complete in the backlog, no answer ever comes.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                guard bind(silent, pointer, length) == 0, listen(silent, 64) == 0, getsockname(silent, pointer, &length) == 0 else {
                    throw HarnessError.failed("cannot listen: errno \(errno)")
                }
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let directory = try makeTemporaryDirectory("mn-incidents")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRunStore(path: "\(directory)/runs.sqlite")
        let metrics = MonitorMetrics()
        let notifier = try WebhookNotifier(
            webhooks: [WebhookConfiguration(name: "dead", url: "http://127.0.0.1:\(port)/", timeout: .seconds(30))],
            retryPolicy: RetryPolicy(maxAttempts: 1), queueCapacity: 1, drainTimeout: .milliseconds(100), metrics: metrics)
        let recorder = IncidentRecorder(store: store, policy: IncidentPolicy(openAfterRuns: 1, closeAfterRuns: 1),
                                        notifier: notifier, metrics: metrics)
        let monitor = try await InProcessMonitor(store: store, extraServices: [notifier], metrics: metrics, incidents: recorder)
        // Four incidents opened and closed: eight events for a webhook stuck on the first.
        var reports: [RunReport] = []
        for index in 0..<4 { reports += [run(index * 120, score: 100), run(index * 120 + 60, score: 0)] }
        for report in reports { monitor.submit(report) }
        #expect(try await monitor.waitForStoredRuns(reports.count))
        #expect(try await eventually { try await store.incidents(matching: IncidentQuery(state: .closed)).total == 4 })
        let exposition = try await httpGet(port: monitor.port, "/metrics").text
        let dropped = exposition.split(separator: "\n").first { $0.hasPrefix(#"isp_checker_notifications_total{webhook="dead",outcome="dropped"}"#) }
        #expect(dropped.flatMap { Double($0.split(separator: " ").last!) } ?? 0 >= 6, "\(exposition)")
        await monitor.stop()
    }

    @Test("isp-checker run --mode replay --incident-report prints the ticket of a saved report; with --json it is a usage error",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MonitorSubcommandTests.cli), "build isp-checker first"))
    func cliPrintsTheTicket() throws {
        let directory = try makeTemporaryDirectory("mn-ticket")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Run as root, replay reads its input as nobody: the folder must let it in.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        // Replay scores and diagnoses the saved probes again: the ticket shows that verdict.
        let report = run(60, score: 100, target: "10.99.3.2")
        try RunReport.encoder.encode(report).write(to: URL(fileURLWithPath: "\(directory)/run.json"))
        let printed = try TestSupport.run(MonitorSubcommandTests.cli, ["run", "--mode", "replay", "--input", "\(directory)/run.json", "--incident-report"], check: false)
        #expect(printed.status == 2, "a critical probe: \(printed.stderr)")
        let id = Incident.makeID(target: "10.99.3.2", start: report.timestamp, runID: report.id)
        for line in ["## Incident Summary", "- **ID**: \(id)", "- **Severity**: P1 (Critical)", "- **Start Time**: 2026-11-30T00:54:20Z",
                     "- **Reporter**: isp-checker run", "- **Health Score**: 100 / 100", "- **Affected Targets**: 10.99.3.2",
                     "- **Primary Symptoms**: critical probes: ping; Complete connectivity failure detected", "## Diagnosis",
                     "- **Upstream** (confidence 98 %)", "Evidence: ping", "Suggested action: ", "## Initial Actions", "## Next Steps"] {
            #expect(printed.stdout.contains(line), "\(line) missing from:\n\(printed.stdout)")
        }
        let both = try TestSupport.run(MonitorSubcommandTests.cli, ["run", "--mode", "replay", "--input", "\(directory)/run.json", "--incident-report", "--json"], check: false)
        #expect(both.status == 64, "\(both.stderr)")
    }

    @Test("webhook URLs: path and query kept, Host header with brackets and non-default port, logs without the path; bad ones refused")
    func webhookURLs() throws {
        let slack = try WebhookURL("https://hooks.example.net/services/T0/SECRET?x=1")
        #expect(slack.tls && slack.port == 443 && slack.target == "/services/T0/SECRET?x=1" && slack.hostHeader == "hooks.example.net")
        #expect(!slack.redacted.contains("SECRET") && !slack.isAddressLiteral)
        let v6 = try WebhookURL("http://[::1]:9000")
        #expect(v6.host == "::1" && v6.target == "/" && v6.hostHeader == "[::1]:9000" && v6.isAddressLiteral)
        for bad in ["ftp://example.net/", "http:///path", "not a url"] {
            #expect(throws: WebhookError.self, "\(bad)") { try WebhookURL(bad) }
        }
    }

    @Test("the Alertmanager format: one alert with the incident's labels; firing ends in the future, the close ends it at the restore time")
    func alertmanagerPayload() throws {
        var tracker = IncidentTracker()
        var changes: [IncidentChange] = []
        for report in outage() { if let change = tracker.observe(report) { changes.append(change) } }
        let now = base.addingTimeInterval(150)
        let firing = try JSONSerialization.jsonObject(with: Data(IncidentNotification(event: changes[0].events[0], incident: changes[0].incident)
            .alertmanagerBody(now: now))) as? [[String: Any]]
        let alert = try #require(firing?.first)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["alertname"] == "ISPCheckerIncident" && labels["severity"] == "P1" && labels["target"] == "lab.invalid")
        #expect(labels["component"] == "Upstream" && labels["incident_id"] == changes[0].incident.id)
        #expect((alert["annotations"] as? [String: String])?["suggested_action"] == "Verify ISP status and local network equipment")
        #expect(alert["startsAt"] as? String == "2026-11-30T00:54:20Z")
        #expect(alert["endsAt"] as? String == "2026-11-30T01:55:50Z", "now + 1 h")
        let closed = try JSONSerialization.jsonObject(with: Data(IncidentNotification(event: changes[1].events[0], incident: changes[1].incident)
            .alertmanagerBody(now: now))) as? [[String: Any]]
        #expect(closed?.first?["endsAt"] as? String == "2026-11-30T00:56:20Z", "the first healthy run")
    }
}
