import ISPChecker
import Prometheus

/// The latencies of one run that the monitor's percentiles and histogram are made of, one
/// sample per run and kind: the ping's average round-trip time (`rtt`) and the HTTP fetch's
/// total time (`http_total`). A ping that lost every echo has no RTT; an HTTP fetch that failed
/// has the time it took to fail (a timeout is a slow fetch for the SLO, not a missing one).
public struct LatencySamples: Sendable, Equatable {
    /// The ping's average RTT, in milliseconds.
    public var rttMilliseconds: Double?
    /// The HTTP fetch's total time (DNS, connect, TLS, every redirect and the body), in milliseconds.
    public var httpTotalMilliseconds: Double?

    public init(rttMilliseconds: Double? = nil, httpTotalMilliseconds: Double? = nil) {
        self.rttMilliseconds = rttMilliseconds
        self.httpTotalMilliseconds = httpTotalMilliseconds
    }

    /// The samples of `report`, read from its probes' typed measurements.
    public init(_ report: RunReport) {
        for probe in report.probes {
            if let ping = probe.measurement.ping, let rtt = ping.latencyAvgMilliseconds, rtt.isFinite, rtt >= 0 {
                rttMilliseconds = rtt
            }
            if let http = probe.measurement.http, let total = http.totalMilliseconds, total.isFinite, total >= 0 {
                httpTotalMilliseconds = total
            }
        }
    }
}

/// `isp_checker_probe_duration_seconds{target,probe}`: a histogram of the latencies of every
/// run, `probe="ping"` the average RTT and `probe="http"` the total time of the fetch, for
/// `histogram_quantile()` and the latency SLOs of docs/alerts.yml.
public enum LatencyHistogram {
    public static let name = "isp_checker_probe_duration_seconds"

    /// Bucket bounds in seconds: 1 ms to 10 s, with the runbook's thresholds among them (ping
    /// warn 150 ms, crit 500 ms; HTTP total warn 2 s, crit 10 s), so that an SLO on them reads
    /// one bucket exactly.
    public static let buckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(150), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
        .seconds(5), .seconds(10),
    ]

    static var descriptor: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "isp_checker", metricName: "probe_duration", unitName: "seconds",
        helpText: "Per run: the ping's average RTT (probe=ping) and the HTTP fetch's total time (probe=http)") }

    /// Adds `report`'s samples to `registry`'s histograms.
    /// `labels` are the target's (`target`, and `vantage` when the monitor names one).
    public static func observe(_ report: RunReport, in registry: PrometheusCollectorRegistry,
                               labels: [(String, String)]? = nil) {
        let targetLabels = labels ?? [("target", report.target)]
        let samples = LatencySamples(report)
        let observed: [(String, Double?)] = [(ProbeName.ping, samples.rttMilliseconds), (ProbeName.http, samples.httpTotalMilliseconds)]
        for case let (probe, milliseconds?) in observed {
            registry.makeDurationHistogram(descriptor: descriptor, labels: targetLabels + [("probe", probe)], buckets: buckets)
                .record(.nanoseconds(Int64((min(milliseconds, 86_400_000) * 1_000_000).rounded())))  // at most a day: no overflow
        }
    }
}
