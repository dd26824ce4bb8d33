import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

@Suite("Prometheus scrape", .enabled(if: PrometheusServer.available, "needs Debian's prometheus"))
struct PrometheusScrapeTests {
    @Test("a real Prometheus scrapes /metrics and PromQL returns isp_checker_score for the target")
    func promQLReturnsScore() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store)
            let prometheus: PrometheusServer
            do { prometheus = try PrometheusServer(scrapingPort: monitor.port) } catch { await monitor.stop(); throw error }
            defer { prometheus.stop() }
            let run = sampleRun(9, target: "lab.invalid", timestamp: Date())
            monitor.submit(run)
            var result: [[String: Any]] = []
            let found = (try? await eventually(timeout: .seconds(90)) {
                result = try await prometheus.query(#"isp_checker_score{target="lab.invalid"}"#)
                return !result.isEmpty
            }) ?? false
            await monitor.stop()
            #expect(found, "Prometheus log: \(prometheus.log.suffix(2000))")
            let value = (result.first?["value"] as? [Any])?.last as? String
            #expect(value.flatMap(Double.init) == run.score)
        }
    }
}
