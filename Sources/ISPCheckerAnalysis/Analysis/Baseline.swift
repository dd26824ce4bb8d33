import FoundationEssentials
import ISPCheckerResults

/// A run compared with the target's recent history: the median latency and loss of earlier
/// runs, from the same time of day when there are enough of them.
enum BaselineComparison {
    struct Baseline: Equatable {
        var runs: Int
        var sameTimeOfDay: Bool
        var medianLatencyMilliseconds: Double?
        var medianLossPercent: Double?
    }

    /// The baseline for a run at `timestamp` from `history` (other targets' runs and later runs
    /// are ignored), or nil when fewer than `minimumRuns` earlier runs have a ping.
    static func baseline(target: String, timestamp: Date, history: [RunReport], thresholds: HealthThresholds.Baseline) -> Baseline? {
        let earlier = history.filter { $0.target == target && $0.timestamp < timestamp && $0.probes.contains { $0.name == ProbeName.ping } }
        guard earlier.count >= thresholds.minimumRuns else { return nil }
        let window = earlier.filter { secondsApartInDay($0.timestamp, timestamp) <= thresholds.timeOfDayWindowSeconds }
        let sameTime = window.count >= thresholds.minimumRuns
        let runs = sameTime ? window : earlier
        let pings = runs.compactMap { run in run.probes.first { $0.name == ProbeName.ping } }
        return Baseline(runs: runs.count, sameTimeOfDay: sameTime,
                        medianLatencyMilliseconds: median(pings.compactMap { $0.measurement.ping?.latencyAvgMilliseconds }),
                        medianLossPercent: median(pings.compactMap { $0.measurement.ping?.lossPercent }))
    }

    /// Informational notes when the run's ping latency or loss deviates from the baseline.
    static func notes(target: String, timestamp: Date, ping: ProbeReport?, history: [RunReport], thresholds: HealthThresholds.Baseline) -> [Diagnosis] {
        guard let ping, let baseline = baseline(target: target, timestamp: timestamp, history: history, thresholds: thresholds) else { return [] }
        let window = baseline.sameTimeOfDay ? "\(baseline.runs) earlier runs at this time of day" : "\(baseline.runs) earlier runs"
        let confidence = min(0.9, 0.5 + 0.05 * Double(baseline.runs))
        var notes: [Diagnosis] = []
        if let latency = ping.measurement.ping?.latencyAvgMilliseconds, let usual = baseline.medianLatencyMilliseconds,
           latency > usual * thresholds.latencyFactor, latency - usual >= thresholds.latencyMarginMilliseconds {
            notes.append(Diagnosis(component: DiagnosisComponent.baseline, confidence: confidence,
                                   explanation: "Latency \(DiagnosisEngine.format(latency)) ms is above the usual \(DiagnosisEngine.format(usual)) ms (median of \(window))",
                                   suggestedAction: "Compare with the traceroute of a normal run to see which hop got slower",
                                   evidence: [Evidence(probe: ProbeName.ping, detail: "latency_avg_ms \(DiagnosisEngine.format(latency)) against a median of \(DiagnosisEngine.format(usual))")],
                                   informational: true))
        }
        if let loss = ping.measurement.ping?.lossPercent, let usual = baseline.medianLossPercent, loss - usual >= thresholds.lossMarginPercent {
            notes.append(Diagnosis(component: DiagnosisComponent.baseline, confidence: confidence,
                                   explanation: "Packet loss \(DiagnosisEngine.format(loss)) % is above the usual \(DiagnosisEngine.format(usual)) % (median of \(window))",
                                   suggestedAction: "Check whether the loss recurs at this time of day (congestion) or started with a change",
                                   evidence: [Evidence(probe: ProbeName.ping, detail: "packet_loss \(DiagnosisEngine.format(loss)) against a median of \(DiagnosisEngine.format(usual))")],
                                   informational: true))
        }
        return notes
    }

    /// The hop at which the latest earlier trace of the target reached it.
    static func destinationTTL(target: String, timestamp: Date, history: [RunReport]) -> Int? {
        history.filter { $0.target == target && $0.timestamp < timestamp && $0.trace?.destinationReached == true }
            .max { $0.timestamp < $1.timestamp }?.trace?.hops.last?.ttl
    }

    /// Distance between two times of day in seconds (UTC), across midnight: 23:50 and 00:10 are 1200 s apart.
    static func secondsApartInDay(_ a: Date, _ b: Date) -> Double {
        let day = 86_400.0
        let difference = abs(a.timeIntervalSince1970.truncatingRemainder(dividingBy: day) - b.timeIntervalSince1970.truncatingRemainder(dividingBy: day))
        return min(difference, day - difference)
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
