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

    /// A report's status under these thresholds, from its details. Ping, DNS, HTTP and TCP reports
    /// are graded from their detail keys (see `ProbeReport`); a report whose details lack the keys
    /// (or a probe these rules do not know, or the traceroute, graded when it was made) keeps the
    /// status it came with. Used when a run is analysed and when a saved run is re-scored.
    public func grade(_ report: ProbeReport) -> ProbeStatus {
        switch report.name {
        case ProbeName.ping: return gradePing(report) ?? report.status
        case ProbeName.dns: return gradeDNS(report) ?? report.status
        case ProbeName.http: return gradeHTTP(report) ?? report.status
        case ProbeName.tcp: return gradeTCP(report) ?? report.status
        default: return report.status
        }
    }

    private func gradePing(_ report: ProbeReport) -> ProbeStatus? {
        guard let loss = report.details["packet_loss"]?.number else { return nil }
        return pingStatus(lossPercent: loss, latencyAvgMilliseconds: report.details["latency_avg_ms"]?.number)
    }

    private func gradeDNS(_ report: ProbeReport) -> ProbeStatus? {
        guard case .string(let outcome) = report.details["outcome"] else { return nil }
        let mustResolve: Bool
        if case .bool(let value) = report.details["must_resolve"] { mustResolve = value } else { mustResolve = true }
        if outcome != "ok" {
            if outcome == "nxdomain" && !mustResolve { return .ok }
            return dns.critOutcomes.contains(outcome) ? .crit : .warn
        }
        if let latency = report.details["latency_ms"]?.number, latency > dns.latencyWarnMilliseconds { return .warn }
        if dns.warnOnFailedResolvers, case .strings(let failed) = report.details["failed_resolvers"], !failed.isEmpty { return .warn }
        return .ok
    }

    private func gradeHTTP(_ report: ProbeReport) -> ProbeStatus? {
        let outcome: String? = if case .string(let value) = report.details["outcome"] { value } else { nil }
        // Int(exactly:): a report built in code is not range-checked like a decoded one, and
        // Int(_:) traps on a number no Int holds (1e300, NaN).
        let code = report.details["status_code"]?.number.flatMap { Int(exactly: $0.rounded(.towardZero)) }
        guard outcome != nil || code != nil else { return nil }
        if let outcome, outcome != "ok", outcome != "http_error" { return .crit }
        if let code, http.critStatusCodes.contains(code) { return .crit }
        if let total = report.details["total_ms"]?.number, total > http.totalCritMilliseconds { return .crit }
        if let days = report.details["cert_days_left"]?.number, days <= 0 { return .crit }
        if outcome == "http_error" && code == nil { return .crit }
        var status = ProbeStatus.ok
        if let code, http.warnStatusCodes.contains(code) { status = .warn }
        let phases: [(String, Double)] = [("connect_ms", http.connectWarnMilliseconds), ("tls_ms", http.tlsWarnMilliseconds),
                                          ("ttfb_ms", http.ttfbWarnMilliseconds), ("total_ms", http.totalWarnMilliseconds)]
        for (key, limit) in phases where (report.details[key]?.number ?? 0) > limit { status = .warn }
        if let days = report.details["cert_days_left"]?.number, days < http.certificateWarnDays { status = .warn }
        return status
    }

    private func gradeTCP(_ report: ProbeReport) -> ProbeStatus? {
        guard case .string(let outcome) = report.details["outcome"] else { return nil }
        if outcome != "ok" { return .crit }
        if let connect = report.details["connect_ms"]?.number, connect > tcp.connectWarnMilliseconds { return .warn }
        return .ok
    }
}
