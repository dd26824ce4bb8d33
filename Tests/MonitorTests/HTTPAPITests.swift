import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// The HTTP API over real loopback sockets, the monitor fed like the scheduler would.
@Suite("HTTP API")
struct HTTPAPITests {
    let base = Date(timeIntervalSince1970: 1_796_000_000)

    private func withMonitor(_ backend: Backend = .sqlite, apiKey: String? = nil,
                             _ body: (InProcessMonitor) async throws -> Void) async throws {
        try await withStore(backend) { store, _ in
            let monitor = try await InProcessMonitor(store: store, apiKey: apiKey)
            do { try await body(monitor) } catch { await monitor.stop(); throw error }
            await monitor.stop()
        }
    }

    private func ids(_ reply: HTTPReply) throws -> [String] {
        try #require(try reply.json()["runs"] as? [[String: Any]]).compactMap { $0["id"] as? String }
    }

    @Test("runs fed to the monitor are listed through /api/v1/runs, with paging and filters", arguments: Backend.availableCases)
    func runsListedWithPagingAndFilters(_ backend: Backend) async throws {
        try await withMonitor(backend) { (monitor: InProcessMonitor) async throws in
            let runs = (0..<6).map { sampleRun($0, target: $0 < 4 ? "a.invalid" : "b.invalid", timestamp: base.addingTimeInterval(Double($0) * 60)) }
            for run in runs { monitor.submit(run) }
            #expect(try await monitor.waitForStoredRuns(6))

            let firstPage = try await httpGet(port: monitor.port, "/api/v1/runs?limit=4")
            #expect(firstPage.status == 200)
            #expect(firstPage.headers["content-type"] == "application/json")
            #expect(try ids(firstPage) == runs.reversed()[0..<4].map(\.id))
            #expect(try firstPage.json()["total"] as? Int == 6)
            #expect(try firstPage.json()["next_offset"] as? Int == 4)

            let secondPage = try await httpGet(port: monitor.port, "/api/v1/runs?limit=4&offset=4")
            #expect(try ids(secondPage) == runs.reversed()[4..<6].map(\.id))
            #expect(try secondPage.json()["next_offset"] is NSNull)

            let since = base.addingTimeInterval(60).formatted(.iso8601), until = base.addingTimeInterval(180).formatted(.iso8601)
            let filtered = try await httpGet(port: monitor.port, "/api/v1/runs?target=a.invalid&since=\(since)&until=\(until)")
            #expect(try ids(filtered) == [runs[3].id, runs[2].id, runs[1].id])
        }
    }

    @Test("a run is served whole by /api/v1/runs/{id}; an unknown id is 404")
    func runByIdAnd404() async throws {
        try await withMonitor { (monitor: InProcessMonitor) async throws in
            let run = sampleRun(9, timestamp: base)
            monitor.submit(run)
            #expect(try await monitor.waitForStoredRuns(1))
            let found = try await httpGet(port: monitor.port, "/api/v1/runs/\(run.id)")
            #expect(found.status == 200)
            #expect(try RunReport.decoder.decode(RunReport.self, from: found.body) == run)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs/no-such-run").status == 404)
        }
    }

    @Test("bad query parameters are 400, not a trace")
    func badParametersAre400() async throws {
        try await withMonitor { (monitor: InProcessMonitor) async throws in
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs?limit=0").status == 400)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs?limit=abc").status == 400)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs?since=yesterday").status == 400)
        }
    }

    @Test("with an API key configured, /api needs it (X-API-Key or Bearer); /metrics and /health stay open")
    func apiKeyEnforced() async throws {
        try await withMonitor(apiKey: "s3cret") { (monitor: InProcessMonitor) async throws in
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs").status == 401)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": "wrong"]).status == 401)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["Authorization": "Bearer wrong"]).status == 401)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": "s3cret"]).status == 200)
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["Authorization": "Bearer s3cret"]).status == 200)
            #expect(try await httpGet(port: monitor.port, "/metrics").status == 200)
            #expect(try await httpGet(port: monitor.port, "/health").status == 200)
        }
    }

    @Test("every API response is counted by class in isp_checker_api_requests_total")
    func apiResponsesCounted() async throws {
        try await withMonitor(apiKey: "k") { (monitor: InProcessMonitor) async throws in
            _ = try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": "k"])
            _ = try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": "k"])
            _ = try await httpGet(port: monitor.port, "/api/v1/runs")
            _ = try await httpGet(port: monitor.port, "/api/v1/runs/missing", headers: ["X-API-Key": "k"])
            let text = try await httpGet(port: monitor.port, "/metrics").text
            #expect(text.contains(#"isp_checker_api_requests_total{status="2xx"} 2"#))
            #expect(text.contains(#"isp_checker_api_requests_total{status="4xx"} 2"#))
            #expect(text.contains(#"isp_checker_api_requests_total{status="5xx"} 0"#))
        }
    }

    @Test("/metrics shows the last run's score, probe status (1 current, 0 others) and numeric details")
    func metricsReflectLastRun() async throws {
        try await withMonitor { (monitor: InProcessMonitor) async throws in
            let run = sampleRun(9, target: "lab.invalid", timestamp: base)  // index 9: 20% loss, ping crit
            monitor.submit(run)
            #expect(try await monitor.waitForStoredRuns(1))
            let text = try await httpGet(port: monitor.port, "/metrics").text
            #expect(text.contains("isp_checker_score{target=\"lab.invalid\"} \(run.score)"))
            #expect(text.contains(#"isp_checker_probe_status{target="lab.invalid",probe="ping",status="crit"} 1.0"#))
            #expect(text.contains(#"isp_checker_probe_status{target="lab.invalid",probe="ping",status="ok"} 0.0"#))
            #expect(text.contains(#"isp_checker_probe_details{target="lab.invalid",probe="ping",key="packet_loss"} 20.0"#))
            #expect(!text.contains(#"key="clock""#))  // strings are not series
        }
    }

    @Test("/health/detailed reports the store, the last run's age and breaker states")
    func healthDetailed() async throws {
        try await withMonitor { (monitor: InProcessMonitor) async throws in
            let run = sampleRun(0, target: "lab.invalid", timestamp: Date().addingTimeInterval(-5))
            monitor.submit(run)
            #expect(try await monitor.waitForStoredRuns(1))
            monitor.state.setCircuitBreakerState(.open, target: "lab.invalid")
            let reply = try await httpGet(port: monitor.port, "/health/detailed")
            #expect(reply.status == 200)
            let json = try reply.json()
            #expect(json["status"] as? String == "ok")
            let store = try #require(json["store"] as? [String: Any])
            #expect(store["backend"] as? String == "sqlite")
            #expect(store["reachable"] as? Bool == true)
            #expect(store["pending_runs"] as? Int == 0)
            let lastRun = try #require(json["last_run"] as? [String: Any])
            #expect(lastRun["id"] as? String == run.id)
            let age = try #require(lastRun["age_seconds"] as? Double)
            #expect(age >= 4 && age < 120)
            #expect((json["circuit_breakers"] as? [String: String]) == ["lab.invalid": "open"])
            let metrics = try await httpGet(port: monitor.port, "/metrics").text
            #expect(metrics.contains(#"isp_checker_circuit_breaker_state{target="lab.invalid"} 2.0"#))
        }
    }
}
