import FoundationEssentials
import ISPCheckerResults

/// Turns probe results into a run report: grades every probe, scores the run (0 healthy … 100
/// complete outage), diagnoses what is broken and where, and compares the run with the target's
/// history. Pure and synchronous: no I/O, safe to call from anywhere.
///
/// ```swift
/// let analyzer = HealthAnalyzer()
/// let report = analyzer.analyze(target: "192.0.2.1", ping: ping, trace: trace, otherProbes: [dnsReport])
/// print(report.score, report.severity, report.diagnosis.first?.component ?? "healthy")
/// ```
public struct HealthAnalyzer: Sendable {
    public var thresholds: HealthThresholds

    public init(thresholds: HealthThresholds = .default) {
        self.thresholds = thresholds
    }

    /// Analyses one live run. `ping` and `trace` become the `ping` and `traceroute` probes;
    /// `otherProbes` (dns, http, tcp … as `ProbeReport`s) follow them. `history` is the target's
    /// earlier runs, for the baseline (any order; other targets' runs are ignored).
    public func analyze(target: String, ping: PingResult?, trace: TraceResult?, otherProbes: [ProbeReport] = [],
                        history: [RunReport] = [], timestamp: Date = Date(), id: String = UUID().uuidString) -> RunReport {
        var probes: [ProbeReport] = []
        probes.reserveCapacity(otherProbes.count + 2)
        if let ping { probes.append(ProbeReport(ping: ping, thresholds: thresholds)) }
        if let trace { probes.append(ProbeReport(trace: trace, thresholds: thresholds)) }
        probes += otherProbes
        return analyze(target: target, probes: probes, trace: trace, history: history, timestamp: timestamp, mode: .live, id: id)
    }

    /// Re-scores a saved run under these thresholds (replay): the same probes and trace, graded,
    /// scored and diagnosed again. Keeps the run's id, target and timestamp; the mode becomes `replay`.
    public func reanalyze(_ report: RunReport, history: [RunReport] = []) -> RunReport {
        var replayed = analyze(target: report.target, probes: report.probes, trace: report.trace, history: history.filter { $0.id != report.id },
                               timestamp: report.timestamp, mode: .replay, id: report.id)
        replayed.source = report.source
        return replayed
    }

    /// Analyses probe reports that are already made (the traceroute's hops in `trace`).
    public func analyze(target: String, probes: [ProbeReport], trace: TraceResult?, history: [RunReport] = [],
                        timestamp: Date = Date(), mode: RunMode = .live, id: String = UUID().uuidString) -> RunReport {
        let graded = probes.map { probe in
            var probe = probe
            probe.status = thresholds.grade(probe)
            return probe
        }
        let context = AnalysisContext(target: target, probes: graded, trace: trace, thresholds: thresholds,
                                      expectedDestinationTTL: history.isEmpty ? nil : BaselineComparison.destinationTTL(target: target, timestamp: timestamp, history: history))
        var (diagnosis, completeOutage) = DiagnosisEngine.diagnose(context)
        if !history.isEmpty, let evidence = PathChangeEvidence.lossBeganWithPathChange(context, timestamp: timestamp, history: history) {
            for index in diagnosis.indices where !diagnosis[index].informational { diagnosis[index].evidence.append(evidence) }
        }
        if !history.isEmpty {
            diagnosis += BaselineComparison.notes(target: target, timestamp: timestamp, ping: context.ping, history: history, thresholds: thresholds.baseline)
        }
        let score = HealthScore.score(probes: graded, thresholds: thresholds, completeOutage: completeOutage)
        return RunReport(id: id, target: target, timestamp: timestamp, mode: mode, probes: graded, score: score,
                         diagnosis: diagnosis, trace: trace)
    }
}
