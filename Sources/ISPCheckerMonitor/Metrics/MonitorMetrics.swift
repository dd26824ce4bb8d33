import ISPChecker
import Prometheus
import Synchronization

/// The monitor's Prometheus series, with the runbook's names, rendered in the text
/// exposition format by swift-prometheus's registry:
/// - `isp_checker_score{target}`: the last run's score (0 healthy … 100 outage)
/// - `isp_checker_probe_status{target,probe,status}`: 1 for the probe's current status, 0 for the others
/// - `isp_checker_probe_details{target,probe,key}`: every numeric detail of the last run
/// - `isp_checker_api_requests_total{status}`: API responses by class (2xx, 4xx, 5xx)
/// - `isp_checker_circuit_breaker_state{target}`: 0 closed, 1 half-open, 2 open
/// - `isp_checker_runs_total{target}`: runs recorded
/// - `isp_checker_probe_duration_seconds{target,probe}`: histogram of each run's ping RTT and HTTP total time (LatencySamples.swift)
/// - `isp_checker_store_pending_runs`: runs waiting for the store (queued in memory, and in the spool file if any)
/// - `isp_checker_store_rejected_runs_total`: runs the store refused for good, set aside
/// - `isp_checker_store_dropped_runs_total`: runs dropped because the queue was full
/// - `isp_checker_path_changes_total{target}`: runs whose path left the target's previous run's
///   (`PathFingerprint.change(to:)`; the first run of a target after a start only sets the path)
/// - `isp_checker_history_rows_skipped_total`: stored runs the baseline could not use (not a
///   run report this version reads, or a number out of range: a damaged or crafted row)
///
/// With a vantage (`init(vantage:)`, the monitor's `vantage:`), every series labelled `target`
/// above also carries `vantage`, so that several monitors' series of one target stay apart in
/// Prometheus; without one (tests, embedding) the labels are as listed.
///
/// A target's probe series are those of its last run only: a detail the last run did not report
/// (a ping that lost every packet has no `latency_avg_ms`) or a probe it did not run is removed,
/// not left at the value of an older run.
public final class MonitorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The `vantage` label of the per-target series; nil: no such label.
    public let vantage: String?
    private let apiResponses: [String: Counter]
    private let pendingRuns: Gauge
    private let historyRowsSkipped: Counter
    private let rejectedRuns: Counter
    private let droppedRuns: Counter
    /// Per target, the probe gauges its last run set, so the next run can remove the ones it does not set.
    private let probeGauges = Mutex<[String: [ObjectIdentifier: Gauge]]>([:])
    /// Per target, the path of its last run with one, for `isp_checker_path_changes_total`.
    private let lastPaths = Mutex<[String: PathFingerprint]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), vantage: String? = nil) {
        self.registry = registry
        self.vantage = vantage
        var apiResponses: [String: Counter] = [:]
        // Created up front so that rate() sees a zero before the first error.
        for statusClass in ["2xx", "4xx", "5xx"] {
            apiResponses[statusClass] = registry.makeCounter(
                name: "isp_checker_api_requests_total", labels: [("status", statusClass)],
                help: "API responses by status class")
        }
        self.apiResponses = apiResponses
        self.pendingRuns = registry.makeGauge(name: "isp_checker_store_pending_runs", help: "Runs waiting for the run store")
        self.rejectedRuns = registry.makeCounter(name: "isp_checker_store_rejected_runs_total",
                                                 help: "Runs the run store refused for good (set aside, logged)")
        self.droppedRuns = registry.makeCounter(name: "isp_checker_store_dropped_runs_total",
                                                help: "Runs dropped because the queue for the run store was full")
        self.historyRowsSkipped = registry.makeCounter(
            name: "isp_checker_history_rows_skipped_total",
            help: "Stored runs the baseline skipped: unreadable, or a number out of range (damaged or crafted)")
    }

    /// Sets the series for one run: score, every probe's status and numeric details.
    /// Returns the change of the target's path this run made, if any (counted in
    /// `isp_checker_path_changes_total`; the service tells the target's open incident).
    @discardableResult
    public func record(_ report: RunReport) -> PathChange? {
        let target = report.target
        let targetLabels = labels(target: target)
        registry.makeGauge(name: "isp_checker_score", labels: targetLabels,
                           help: "Health score of the last run: 0 healthy ... 100 complete outage").set(report.score)
        registry.makeCounter(name: "isp_checker_runs_total", labels: targetLabels, help: "Runs recorded").increment()
        LatencyHistogram.observe(report, in: registry, labels: targetLabels)
        let pathChange = countPathChange(report)
        // Under the lock from first set to last removal, so two runs of one target cannot interleave.
        probeGauges.withLock { lastSet in
            var set: [ObjectIdentifier: Gauge] = [:]
            func update(_ gauge: Gauge, to value: Double) {
                gauge.set(value)
                set[ObjectIdentifier(gauge)] = gauge
            }
            for probe in report.probes {
                for status in ProbeStatus.allCases {
                    update(registry.makeGauge(
                        name: "isp_checker_probe_status",
                        labels: targetLabels + [("probe", probe.name), ("status", status.rawValue)],
                        help: "1 for the probe's current status, 0 for the others"
                    ), to: Double(status == probe.status ? 1 : 0))
                }
                // Every numeric detail, as the report carries it (an export, not a reading).
                for (key, detail) in probe.details.sorted(by: { $0.key < $1.key }) {
                    guard let value = detail.number else { continue }
                    update(registry.makeGauge(
                        name: "isp_checker_probe_details",
                        labels: targetLabels + [("probe", probe.name), ("key", key)],
                        help: "Numeric details of the last run's probes"
                    ), to: value)
                }
            }
            for (id, gauge) in lastSet[target] ?? [:] where set[id] == nil {
                registry.unregisterGauge(gauge)
            }
            lastSet[target] = set
        }
        return pathChange
    }

    /// Counts a run whose path left the target's previous one (the counter exists, at 0, from
    /// the target's first run with a path, so `increase()` sees the first change).
    private func countPathChange(_ report: RunReport) -> PathChange? {
        guard let path = report.pathFingerprint else { return nil }
        let counter = registry.makeCounter(name: "isp_checker_path_changes_total", labels: labels(target: report.target),
                                           help: "Runs whose traced path differs from the previous run's (first differing hop)")
        let change = lastPaths.withLock { paths in
            let (change, reference) = PathFingerprint.next(previous: paths[report.target], current: path)
            paths[report.target] = reference
            return change
        }
        if change != nil { counter.increment() }
        return change
    }

    /// The labels of a target's series: `target`, then `vantage` when there is one.
    func labels(target: String) -> [(String, String)] {
        if let vantage { return [("target", target), ("vantage", vantage)] }
        return [("target", target)]
    }

    /// Counts a stored run the history could not use.
    public func historyRowSkipped() { historyRowsSkipped.increment() }

    /// Sets a target's breaker state.
    public func setCircuitBreakerState(_ state: CircuitState, target: String) {
        registry.makeGauge(name: "isp_checker_circuit_breaker_state", labels: labels(target: target),
                           help: "Circuit breaker state: 0 closed, 1 half-open, 2 open").set(state.metricValue)
    }

    /// Counts one API response by its class. Codes outside 2xx/4xx/5xx count under their own class.
    public func countAPIResponse(statusCode: Int) {
        let statusClass = "\(statusCode / 100)xx"
        if let counter = apiResponses[statusClass] {
            counter.increment()
        } else {
            registry.makeCounter(name: "isp_checker_api_requests_total", labels: [("status", statusClass)],
                                 help: "API responses by status class").increment()
        }
    }

    /// Sets the number of runs waiting in memory for the store.
    public func setPendingRuns(_ count: Int) {
        pendingRuns.set(Double(count))
    }

    /// Counts runs the store refused for good.
    public func countRejectedRuns(_ count: Int) {
        rejectedRuns.increment(by: Int64(count))
    }

    /// Counts runs dropped from a full queue.
    public func countDroppedRuns(_ count: Int) {
        droppedRuns.increment(by: Int64(count))
    }

    /// The Prometheus text exposition (format 0.0.4).
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
