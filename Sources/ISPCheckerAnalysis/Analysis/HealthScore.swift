import ISPCheckerResults

/// The health score: 0 = healthy … 100 = complete outage (the runbook's direction). The formula
/// is written down in docs/scoring.md; keep the two in step.
///
/// Each probe gives a penalty inside the runbook's band for its kind of trouble; the score is the
/// worst penalty plus a tenth of the others, capped at 100, and exactly 100 for a complete outage.
public enum HealthScore {
    /// Milliseconds of average latency at which the latency penalty reaches its top (70).
    public static let latencyCeilingMilliseconds = 450.0

    /// High latency: 0 up to the warn threshold, then 40 rising linearly to 70 at
    /// `latencyCeilingMilliseconds` (the runbook's 40–70 band).
    public static func latencyPenalty(averageMilliseconds: Double, thresholds: HealthThresholds.Ping) -> Double {
        guard averageMilliseconds > thresholds.latencyWarnMilliseconds else { return 0 }
        let ceiling = max(latencyCeilingMilliseconds, thresholds.latencyWarnMilliseconds + 1)
        let fraction = min(1, (averageMilliseconds - thresholds.latencyWarnMilliseconds) / (ceiling - thresholds.latencyWarnMilliseconds))
        return 40 + 30 * fraction
    }

    /// Packet loss: 0 below the warn threshold (2 %); 30 → 40 across the warn range (2–10 %);
    /// 40 → 80 from the crit threshold to 100 % (the runbook's 30–80 band).
    public static func lossPenalty(percent: Double, thresholds: HealthThresholds.Ping) -> Double {
        let warn = thresholds.lossWarnPercent, crit = max(thresholds.lossCritPercent, warn)
        guard percent >= warn else { return 0 }
        if percent <= crit { return crit == warn ? 40 : 30 + 10 * (percent - warn) / (crit - warn) }
        return 40 + 40 * min(1, (percent - crit) / (100 - crit))
    }

    /// Penalties of the probes graded by status only.
    public static func statusPenalty(probe name: String, status: ProbeStatus) -> Double {
        switch (name, status) {
        case (_, .ok): return 0
        case (ProbeName.dns, .crit): return 65        // runbook: DNS critical → score > 60
        case (ProbeName.dns, .warn): return 20
        case (ProbeName.http, .crit): return 55
        case (ProbeName.tcp, .crit): return 50
        case (ProbeName.traceroute, .crit): return 40
        case (_, .crit): return 50
        case (_, .warn): return 25
        }
    }

    /// The score of a set of graded probes. The traceroute counts only when there is no ping:
    /// otherwise its trouble is the ping's, seen again.
    public static func score(probes: [ProbeReport], thresholds: HealthThresholds, completeOutage: Bool) -> Double {
        if completeOutage { return 100 }
        let hasPing = probes.contains { $0.name == ProbeName.ping }
        var penalties: [Double] = []
        penalties.reserveCapacity(probes.count + 1)
        for probe in probes {
            switch probe.name {
            case ProbeName.ping:
                let measured = probe.measurement.ping
                let loss = measured?.lossPercent ?? (probe.status == .crit && probe.error != nil ? 100 : 0)
                penalties.append(lossPenalty(percent: loss, thresholds: thresholds.ping))
                if let latency = measured?.latencyAvgMilliseconds {
                    penalties.append(latencyPenalty(averageMilliseconds: latency, thresholds: thresholds.ping))
                }
            case ProbeName.traceroute where hasPing:
                continue
            default:
                penalties.append(statusPenalty(probe: probe.name, status: probe.status))
            }
        }
        guard let worst = penalties.max() else { return 0 }
        let rest = penalties.reduce(0, +) - worst
        return min(100, ((worst + rest / 10) * 10).rounded() / 10)
    }
}
