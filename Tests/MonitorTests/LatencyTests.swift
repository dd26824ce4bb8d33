import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// Latency percentiles over the run history (`/api/v1/targets/{t}/latency`) and the histogram
/// `isp_checker_probe_duration_seconds` in `/metrics`.
@Suite("Latency percentiles and histogram")
struct LatencyTests {
    /// A run with a ping of average RTT `rtt` ms and, when given, an HTTP fetch of `http` ms.
    static func run(_ target: String, at timestamp: Date, rtt: Double?, http: Double? = nil) -> RunReport {
        var probes: [ProbeReport] = []
        var ping: [String: DetailValue] = ["packets_sent": .int(10), "packets_received": .int(rtt == nil ? 0 : 10),
                                           "loss_percent": .double(rtt == nil ? 100 : 0)]
        if let rtt { ping["latency_avg_ms"] = .double(rtt) }
        probes.append(ProbeReport(name: "ping", status: rtt == nil ? .crit : .ok, details: ping))
        if let http {
            probes.append(ProbeReport(name: "http", status: .ok, details: ["total_ms": .double(http), "outcome": .string("ok"), "url": .string("http://x/")]))
        }
        let whole = Date(timeIntervalSince1970: timestamp.timeIntervalSince1970.rounded(.down))
        return RunReport(target: target, timestamp: whole, probes: probes, score: 0)
    }

    @Test("nearest-rank percentiles: always a measured value")
    func nearestRank() {
        let summary = LatencyReport.Summary((1...100).map(Double.init).reversed())
        #expect(summary.samples == 100)
        #expect(summary.p50 == 50 && summary.p95 == 95 && summary.p99 == 99)
        let few = LatencyReport.Summary([3, 1, 2])
        #expect(few.p50 == 2 && few.p95 == 3 && few.p99 == 3)
        let none = LatencyReport.Summary([])
        #expect(none.samples == 0 && none.p50 == nil && none.p99 == nil)
    }

    @Test("each window holds the runs of its span; a ping that lost everything adds no RTT")
    func windows() {
        let now = Date(timeIntervalSince1970: 1_796_000_000)
        var runs: [RunReport] = []
        // Last 5 minutes: 10 ms ... 40 ms; the last hour adds 100 ms runs; the day adds 1000 ms ones.
        for (index, rtt) in [10.0, 20, 30, 40].enumerated() { runs.append(Self.run("a", at: now.addingTimeInterval(-Double(index) * 60), rtt: rtt, http: 200)) }
        runs.append(Self.run("a", at: now.addingTimeInterval(-120), rtt: nil))
        for index in 0..<6 { runs.append(Self.run("a", at: now.addingTimeInterval(-600 - Double(index) * 300), rtt: 100)) }
        for index in 0..<10 { runs.append(Self.run("a", at: now.addingTimeInterval(-7200 - Double(index) * 3600), rtt: 1000, http: 3000)) }
        runs.append(Self.run("b", at: now, rtt: 5))
        runs.append(Self.run("a", at: now.addingTimeInterval(-90_000), rtt: 9999))
        let report = LatencyReport(target: "a", runs: runs, now: now)
        #expect(report.windows["5m"]?.rttMilliseconds == LatencyReport.Summary([10, 20, 30, 40]))
        #expect(report.windows["5m"]?.httpTotalMilliseconds == LatencyReport.Summary([200, 200, 200, 200]))
        #expect(report.windows["1h"]?.rttMilliseconds.samples == 10)
        #expect(report.windows["1h"]?.rttMilliseconds.p95 == 100)
        #expect(report.windows["1d"]?.rttMilliseconds.samples == 20)
        #expect(report.windows["1d"]?.rttMilliseconds.p99 == 1000)
        #expect(report.windows["1d"]?.httpTotalMilliseconds.p50 == 3000)
        #expect(report.windows["1d"]?.seconds == 86_400)
        #expect(report.runsRead == 21)
    }

    @Test("GET /api/v1/targets/{t}/latency serves the percentiles of the stored runs as JSON; an unknown target is 404")
    func latencyEndpoint() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store)
            do {
                let now = Date()
                let rtts = (1...20).map { Double($0) }
                for (index, rtt) in rtts.enumerated() {
                    monitor.submit(Self.run("10.0.0.1", at: now.addingTimeInterval(-Double(index) * 10), rtt: rtt, http: rtt * 10))
                }
                #expect(try await monitor.waitForStoredRuns(20))
                let reply = try await httpGet(port: monitor.port, "/api/v1/targets/10.0.0.1/latency")
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.headers["content-type"] == "application/json")
                let body = try reply.json()
                #expect(body["target"] as? String == "10.0.0.1")
                #expect(body["percentile_method"] as? String == "nearest-rank")
                let windows = try #require(body["windows"] as? [String: [String: Any]], "\(reply.text)")
                let fiveMinutes = try #require(windows["5m"]?["rtt_ms"] as? [String: Any])
                #expect(fiveMinutes["samples"] as? Int == 20)
                #expect(fiveMinutes["p50"] as? Double == 10)
                #expect(fiveMinutes["p95"] as? Double == 19)
                #expect(fiveMinutes["p99"] as? Double == 20)
                let http = try #require(windows["1d"]?["http_total_ms"] as? [String: Any])
                #expect(http["p99"] as? Double == 200)

                let unknown = try await httpGet(port: monitor.port, "/api/v1/targets/nowhere.invalid/latency")
                #expect(unknown.status == 404, "\(unknown.text)")

                // The histogram of the same runs, in /metrics.
                let metrics = try await httpGet(port: monitor.port, "/metrics").text
                #expect(metrics.contains(#"isp_checker_probe_duration_seconds_bucket{target="10.0.0.1",probe="ping",le="0.01"} 10"#), "\(metrics)")
                #expect(metrics.contains(#"isp_checker_probe_duration_seconds_count{target="10.0.0.1",probe="ping"} 20"#))
                #expect(metrics.contains(#"isp_checker_probe_duration_seconds_bucket{target="10.0.0.1",probe="http",le="0.15"} 15"#), "\(metrics)")
            } catch { await monitor.stop(); throw error }
            await monitor.stop()
        }
    }

    @Test("with an API key, the latency endpoint needs it like the rest of /api")
    func latencyNeedsKey() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store, apiKey: "k")
            let reply = try await httpGet(port: monitor.port, "/api/v1/targets/x/latency")
            await monitor.stop()
            #expect(reply.status == 401)
        }
    }
}
