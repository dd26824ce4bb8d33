import Foundation
import ISPChecker
import ISPCheckerConfig
@testable import ISPCheckerMonitor
import Logging
import Testing

/// One crafted row in a shared store must not stop the monitors that read it: the history
/// skips it (logged, counted in `isp_checker_history_rows_skipped_total`) and the baseline is
/// made of the other rows. Before, the row decoded, and its `latency_avg_ms` of 1e300 trapped
/// in the diagnosis text of every monitor's next check of the target, in a loop.
@Suite struct HostileHistoryTests {
    func run(_ target: String, latency: DetailValue, at timestamp: Date) -> RunReport {
        HealthAnalyzer().analyze(target: target, probes: [
            ProbeReport(name: ProbeName.ping, status: .ok, details: ["packet_loss": .int(0), "latency_avg_ms": latency]),
        ], trace: nil, timestamp: timestamp)
    }

    @Test(arguments: Backend.availableCases)
    func aCraftedRowIsSkippedLoggedAndCounted(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let now = Date()
            // The store writes what it is given: a report built in code is not range-checked,
            // so this is the row a crafted writer leaves.
            let crafted = run("10.99.5.2", latency: .double(1e300), at: now.addingTimeInterval(-60))
            let good = (1...5).map { run("10.99.5.2", latency: .double(20), at: now.addingTimeInterval(Double(-120 * $0))) }
            try await store.insert([crafted] + good)
            let metrics = MonitorMetrics()
            let history = RunHistory(store: store, metrics: metrics, logger: Logger(label: "test"))

            let runs = await history.recentRuns(of: "10.99.5.2")
            #expect(runs.count == 5)
            #expect(!runs.contains { $0.id == crafted.id })
            let text = String(decoding: metrics.render(), as: UTF8.self)
            #expect(text.contains("isp_checker_history_rows_skipped_total 1"), "\(text)")

            // The check that follows uses the baseline of the good rows, and does not trap.
            let next = HealthAnalyzer().analyze(target: "10.99.5.2", probes: [
                ProbeReport(name: ProbeName.ping, status: .ok, details: ["packet_loss": .int(0), "latency_avg_ms": .double(200)]),
            ], trace: nil, history: runs, timestamp: now)
            #expect(next.notes.contains { $0.component == DiagnosisComponent.baseline })
        }
    }
}

@Suite struct HostileConfigurationTests {
    @Test(arguments: [
        ("store:\n  sqlite: x\n  retention_days: 100000000000000\n", "store.retention_days", "must be at most 36500"),
        ("retry_policy:\n  initial_delay: 100000h\n", "retry_policy.initial_delay", "must be at most a day"),
        ("retry_policy:\n  max_attempts: 100000000000000\n", "retry_policy.max_attempts", "must be at most 1000"),
        ("retry_policy:\n  backoff_factor: 1e300\n", "retry_policy.backoff_factor", "from 1 to 1000"),
        ("circuit_breaker:\n  recovery_timeout: 1000000s\n", "circuit_breaker.recovery_timeout", "must be at most a day"),
        ("circuit_breaker:\n  sliding_window_size: 100000000000000\n", "circuit_breaker.sliding_window_size", "must be at most 100000"),
        ("probe_intervals:\n  critical_targets: 1000000s\n", "probe_intervals.critical_targets", "at most a day"),
    ])
    func aNumberOutOfRangeIsRefusedAtItsKey(yaml: String, key: String, reason: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "targets:\n  - host: a.example\n" + yaml)
        }
        let problem = error?.problem(at: key)
        #expect(problem?.reason.contains(reason) == true, "\(String(describing: error))")
    }
}
