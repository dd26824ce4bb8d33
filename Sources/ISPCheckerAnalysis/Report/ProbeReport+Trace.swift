import ISPCheckerResults

extension ProbeReport {
    /// The `traceroute` entry of a run report. `ok` when the destination answered with less loss
    /// than `thresholds.ping.lossWarnPercent`; `warn`/`crit` by the destination hop's loss as for
    /// ping; `crit` when the destination was not reached. The hops themselves travel in
    /// `RunReport.trace`, where the diagnosis reads them.
    public init(trace: TraceResult, thresholds: HealthThresholds = .default) {
        var details: [String: DetailValue] = [
            "target_ip": .string(trace.address.description),
            "hops": .int(trace.hops.count),
            "destination_reached": .bool(trace.destinationReached),
            "stop": .string(trace.stop.reportName),
            "method": .string(trace.method.description),
            "rounds": .int(trace.rounds),
        ]
        let last = trace.hops.last
        if let last { details["packet_loss"] = .double(last.lossPercent.roundedToMicro) }
        if let avg = last?.avgMilliseconds { details["latency_avg_ms"] = .double(avg.roundedToMicro) }
        if let lastAnswering = trace.hops.last(where: { $0.received > 0 }) { details["last_responding_hop"] = .int(lastAnswering.ttl) }
        // The weakest clock that timed an answer (`pcap` for a trace replayed from a capture).
        if let clock = trace.hops.compactMap(\.clock).max() { details["clock"] = .string(clock.rawValue) }
        var status = ProbeStatus.crit
        var error: String?
        if trace.destinationReached {
            status = thresholds.pingStatus(lossPercent: last?.lossPercent ?? 0, latencyAvgMilliseconds: last?.avgMilliseconds)
        } else {
            switch trace.stop {
            case .unreachable(let code): error = "destination unreachable \(code) from hop \(last?.ttl ?? 0)"
            default: error = "destination not reached within \(trace.hops.last?.ttl ?? 0) hops"
            }
        }
        self.init(name: ProbeName.traceroute, status: status, measurement: .trace(.init(hops: trace.hops.count, stop: trace.stop.reportName)),
                  details: details, error: error)
    }
}

extension TraceStop {
    /// `destination_reached`, `unreachable !N` (traceroute's mark), `max_hops_reached`.
    var reportName: String {
        switch self {
        case .destinationReached: return "destination_reached"
        case .unreachable(let code): return "unreachable \(code)"
        case .maxHopsReached: return "max_hops_reached"
        }
    }
}
