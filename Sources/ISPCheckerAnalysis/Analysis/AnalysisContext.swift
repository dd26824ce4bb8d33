import ISPCheckerResults

/// Everything the diagnosis rules look at for one run, with the probes already graded.
struct AnalysisContext: Sendable {
    var target: String
    var probes: [ProbeReport]
    var trace: TraceResult?
    var path: PathAnalysis?
    var thresholds: HealthThresholds
    /// The hop at which earlier traces of the target reached it, when the history says.
    var expectedDestinationTTL: Int?

    init(target: String, probes: [ProbeReport], trace: TraceResult?, thresholds: HealthThresholds, expectedDestinationTTL: Int? = nil) {
        self.expectedDestinationTTL = expectedDestinationTTL
        self.target = target
        self.probes = probes
        self.trace = trace
        self.thresholds = thresholds
        path = trace.map { PathAnalysis(trace: $0, thresholds: thresholds.path) }
    }

    var ping: ProbeReport? { probes.first { $0.name == ProbeName.ping } }
    var traceReport: ProbeReport? { probes.first { $0.name == ProbeName.traceroute } }
    func probes(named name: String) -> [ProbeReport] { probes.filter { $0.name == name } }

    /// End-to-end loss from ping, percent (100 when the ping failed without details).
    var pingLossPercent: Double? {
        guard let ping else { return nil }
        return ping.measurement.ping?.lossPercent ?? (ping.error != nil ? 100 : 0)
    }

    var pingLatencyMilliseconds: Double? { ping?.measurement.ping?.latencyAvgMilliseconds }

    /// The target answers ICMP end to end with at most crit-level loss.
    var pingReachesTarget: Bool {
        guard let loss = pingLossPercent else { return false }
        return loss < 100
    }

    /// End-to-end loss is real: ping says so, or (without a ping) the trace's destination hop.
    var endToEndLossConfirmed: Bool {
        if path?.persistentLoss?.byEcho == true { return true }
        if let loss = pingLossPercent { return loss >= thresholds.ping.lossWarnPercent }
        return path?.persistentLoss != nil
    }

    /// End-to-end latency is above the warn threshold (ping, or the trace's last hop without a ping).
    var endToEndLatencyHigh: Bool {
        let latency = pingLatencyMilliseconds ?? (ping == nil ? trace?.hops.last?.avgMilliseconds : nil)
        return (latency ?? 0) > thresholds.ping.latencyWarnMilliseconds
    }

    /// Some probe shows the network carries packets to the target (ping gets answers, the trace
    /// reached it, a TCP or HTTP exchange completed).
    var ipReachable: Bool {
        if pingReachesTarget { return true }
        if trace?.destinationReached == true { return true }
        return (probes(named: ProbeName.tcp) + probes(named: ProbeName.http)).contains { probe in
            guard case .known(let outcome) = probe.measurement.outcome else { return false }
            return outcome == .ok || outcome == .httpError || outcome == .refused
        }
    }

    /// The trace got no answer from past the ISP's access network.
    var nothingAnswersPastAccess: Bool {
        guard let path else { return true }
        return (path.farthestAnsweringTTL ?? 0) <= 1 + thresholds.path.accessHops
            && trace?.destinationReached != true
    }
}
