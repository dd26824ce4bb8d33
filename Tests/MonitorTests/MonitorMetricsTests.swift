import Foundation
import ISPChecker
import ISPCheckerMonitor
import Testing

/// The probe series of `/metrics` are those of each target's last run, nothing older.
struct MonitorMetricsTests {
    func run(_ target: String, _ probes: [ProbeReport]) -> RunReport {
        HealthAnalyzer().analyze(target: target, probes: probes, trace: nil)
    }

    func text(_ metrics: MonitorMetrics) -> String { String(decoding: metrics.render(), as: UTF8.self) }

    @Test func aDetailTheLastRunDidNotReportIsRemovedNotLeftAtAnOldValue() {
        let metrics = MonitorMetrics()
        metrics.record(run("10.99.5.2", [ProbeReport(name: "ping", status: .ok, details: ["latency_avg_ms": .double(12.5), "packet_loss": .int(0)])]))
        #expect(text(metrics).contains(#"isp_checker_probe_details{target="10.99.5.2",probe="ping",key="latency_avg_ms"} 12.5"#))

        // Every packet lost: there is no latency any more, and /metrics must not show the old one.
        metrics.record(run("10.99.5.2", [ProbeReport(name: "ping", status: .crit, details: ["packet_loss": .int(100)])]))
        let after = text(metrics)
        #expect(!after.contains(#"key="latency_avg_ms""#), "\(after)")
        #expect(after.contains(#"isp_checker_probe_details{target="10.99.5.2",probe="ping",key="packet_loss"} 100.0"#))
        #expect(after.contains(#"isp_checker_probe_status{target="10.99.5.2",probe="ping",status="crit"} 1.0"#))
    }

    @Test func aProbeTheLastRunDidNotRunLosesItsSeriesOtherTargetsKeepTheirs() {
        let metrics = MonitorMetrics()
        let http = ProbeReport(name: "http", status: .ok, details: ["status_code": .int(200)])
        let ping = ProbeReport(name: "ping", status: .ok, details: ["latency_avg_ms": .double(1), "packet_loss": .int(0)])
        metrics.record(run("10.99.5.2", [ping, http]))
        metrics.record(run("10.99.6.2", [http]))
        metrics.record(run("10.99.5.2", [ping]))
        let after = text(metrics)
        #expect(!after.contains(#"target="10.99.5.2",probe="http""#), "\(after)")
        #expect(after.contains(#"isp_checker_probe_status{target="10.99.5.2",probe="ping",status="ok"} 1.0"#))
        #expect(after.contains(#"isp_checker_probe_details{target="10.99.6.2",probe="http",key="status_code"} 200.0"#))
        #expect(after.contains(#"isp_checker_probe_status{target="10.99.6.2",probe="http",status="ok"} 1.0"#))
    }
}
