import ISPChecker
import Prometheus

/// The Prometheus text of one `GET /probe`, rendered by swift-prometheus into a registry of its
/// own (nothing of it lingers in `/metrics`), as blackbox_exporter answers:
/// - `probe_success`: 1 when the probe finished in time and succeeded (`ProbeModule.succeeded`)
/// - `probe_duration_seconds`: how long the probe took
/// - `isp_checker_probe_status{target,probe,status}` and `isp_checker_probe_details{target,probe,key}`:
///   the same series, names and help as the scheduled checks' in `/metrics`
/// - `check` module only: `isp_checker_score{target}` and `isp_checker_diagnosis{target,component}`
///   (the diagnosis's confidence, 0 … 1; informational notes left out)
public enum ProbeSeries {
    public static func render(report: RunReport?, success: Bool, duration: Duration, scored: Bool) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "probe_success", unitName: "",
                                                            helpText: "Whether the probe succeeded"))
            .set(Double(success ? 1 : 0))
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: "probe_duration", unitName: "seconds",
                                                            helpText: "How long the probe took to complete in seconds"))
            .set(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        if let report {
            let target = report.target
            if scored {
                registry.makeGauge(descriptor: MonitorMetrics.scoreDescriptor, labels: [("target", target)]).set(report.score)
                var confidence: [String: Double] = [:]
                for diagnosis in report.diagnosis where !diagnosis.informational {
                    confidence[diagnosis.component] = max(confidence[diagnosis.component] ?? 0, diagnosis.confidence)
                }
                for (component, value) in confidence.sorted(by: { $0.key < $1.key }) {
                    registry.makeGauge(descriptor: diagnosisDescriptor, labels: [("target", target), ("component", component)]).set(value)
                }
            }
            for probe in report.probes {
                for status in ProbeStatus.allCases {
                    registry.makeGauge(descriptor: MonitorMetrics.probeStatusDescriptor,
                                       labels: [("target", target), ("probe", probe.name), ("status", status.rawValue)])
                        .set(Double(status == probe.status ? 1 : 0))
                }
                for (key, detail) in probe.details.sorted(by: { $0.key < $1.key }) {
                    guard let value = detail.number else { continue }
                    registry.makeGauge(descriptor: MonitorMetrics.probeDetailsDescriptor,
                                       labels: [("target", target), ("probe", probe.name), ("key", key)]).set(value)
                }
            }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }

    static var diagnosisDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "isp_checker", metricName: "diagnosis", unitName: "",
        helpText: "The check's diagnosis: confidence (0 ... 1) that this component is at fault") }
}

extension MonitorMetrics {
    // The names and help `record(_:)` gives these series, for `/probe`'s copy of them.
    static var scoreDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "isp_checker", metricName: "score", unitName: "",
        helpText: "Health score of the last run: 0 healthy ... 100 complete outage") }
    static var probeStatusDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "isp_checker", metricName: "probe_status", unitName: "",
        helpText: "1 for the probe's current status, 0 for the others") }
    static var probeDetailsDescriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "isp_checker", metricName: "probe_details", unitName: "",
        helpText: "Numeric details of the last run's probes") }
}
