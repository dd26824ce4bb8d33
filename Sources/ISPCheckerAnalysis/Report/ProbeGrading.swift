import ISPCheckerResults

/// The status rules: what a probe's numbers mean under a set of thresholds.
extension HealthThresholds {
    /// Ping: `crit` above `lossCritPercent` or `latencyCritMilliseconds`, `warn` from
    /// `lossWarnPercent` or above `latencyWarnMilliseconds`, else `ok`.
    public func pingStatus(lossPercent: Double, latencyAvgMilliseconds: Double?) -> ProbeStatus {
        if lossPercent > ping.lossCritPercent { return .crit }
        if let latency = latencyAvgMilliseconds, latency > ping.latencyCritMilliseconds { return .crit }
        if lossPercent >= ping.lossWarnPercent { return .warn }
        if let latency = latencyAvgMilliseconds, latency > ping.latencyWarnMilliseconds { return .warn }
        return .ok
    }

    /// A report's status under these thresholds, from its measurement. Ping, DNS, HTTP and TCP
    /// entries are graded from their numbers (see `ProbeMeasurement`); an entry that lacks them
    /// (or a probe these rules do not know, or the traceroute, graded when it was made) keeps the
    /// status it came with. Used when a run is analysed and when a saved run is re-scored.
    public func grade(_ report: ProbeReport) -> ProbeStatus {
        switch report.measurement {
        case .ping(let ping): return grade(ping) ?? report.status
        case .dns(let dns): return grade(dns) ?? report.status
        case .http(let http): return grade(http) ?? report.status
        case .tcp(let tcp): return grade(tcp) ?? report.status
        case .bufferbloat(let bloat): return bloat.status
        case .ecmp(let ecmp): return ecmp.status
        case .trace, .pathMTU, .dnsInterception, .captivePortal, .other: return report.status
        }
    }

    private func grade(_ measured: ProbeMeasurement.Ping) -> ProbeStatus? {
        guard let loss = measured.lossPercent else { return nil }
        return pingStatus(lossPercent: loss, latencyAvgMilliseconds: measured.latencyAvgMilliseconds)
    }

    private func grade(_ measured: ProbeMeasurement.DNS) -> ProbeStatus? {
        guard let outcome = measured.outcome else { return nil }
        if !outcome.isOK {
            if outcome == .known(.nxdomain) && !measured.mustResolve { return .ok }
            guard case .known(let known) = outcome else { return .warn }
            return dns.critOutcomes.contains(known) ? .crit : .warn
        }
        if let latency = measured.latencyMilliseconds, latency > dns.latencyWarnMilliseconds { return .warn }
        if dns.warnOnFailedResolvers, !measured.failedResolvers.isEmpty { return .warn }
        return .ok
    }

    private func grade(_ measured: ProbeMeasurement.HTTP) -> ProbeStatus? {
        let outcome = measured.outcome
        let code = measured.statusCode
        guard outcome != nil || code != nil else { return nil }
        if let outcome, !outcome.isOK, outcome != .known(.httpError) { return .crit }
        if let code, http.critStatusCodes.contains(code) { return .crit }
        if let total = measured.totalMilliseconds, total > http.totalCritMilliseconds { return .crit }
        if let days = measured.certificateDaysLeft, days <= 0 { return .crit }
        if outcome == .known(.httpError) && code == nil { return .crit }
        var status = ProbeStatus.ok
        if let code, http.warnStatusCodes.contains(code) { status = .warn }
        let phases: [(Double?, Double)] = [(measured.connectMilliseconds, http.connectWarnMilliseconds),
                                           (measured.tlsMilliseconds, http.tlsWarnMilliseconds),
                                           (measured.timeToFirstByteMilliseconds, http.ttfbWarnMilliseconds),
                                           (measured.totalMilliseconds, http.totalWarnMilliseconds)]
        for (value, limit) in phases where (value ?? 0) > limit { status = .warn }
        if let days = measured.certificateDaysLeft, days < http.certificateWarnDays { status = .warn }
        return status
    }

    private func grade(_ measured: ProbeMeasurement.TCP) -> ProbeStatus? {
        guard let outcome = measured.outcome else { return nil }
        if !outcome.isOK { return .crit }
        if let connect = measured.connectMilliseconds, connect > tcp.connectWarnMilliseconds { return .warn }
        return .ok
    }
}
