import FoundationEssentials
import ISPChecker

/// The readable summary of a run report: a probe table, the score, the diagnosis.
enum ReportText {
    static func render(_ report: RunReport) -> String {
        var lines: [String] = []
        let time = report.timestamp.formatted(.iso8601)
        lines.append("isp-checker run: \(report.target) (\(report.mode.rawValue), \(time))")
        if let source = report.source {
            lines.append("Source: \(source.summary)")
            for note in source.notes { lines.append("  note: \(note)") }
        }
        lines.append("")
        let rows = report.probes.map { probe in
            [probe.name, probe.status.rawValue.uppercased(), probe.error ?? summary(of: probe)]
        }
        lines += table(header: ["PROBE", "STATUS", "DETAILS"], rows: rows)
        if let trace = report.trace {
            // The hops the diagnosis read, as `trace` prints them (MPLS labels under their hop).
            lines.append("")
            lines.append("Trace to \(trace.address) (\(trace.method)):")
            lines.append(TraceText.report(trace))
        }
        lines.append("")
        lines.append("Score \(format(report.score)) / 100 (0 = healthy, 100 = complete outage), severity \(report.severity.rawValue)")
        if let families = report.families {
            // Checked over both families: the probes and trace above are the first's.
            lines.append("Families (the probes above: \(report.trace.map { "\($0.address.family)" } ?? "the first")):")
            for verdict in families { lines.append("  \(verdict.summary)") }
        }
        let faults = report.diagnosis.filter { !$0.informational }
        let notes = report.diagnosis.filter(\.informational)
        if faults.isEmpty {
            lines.append("Diagnosis: no fault found")
        } else {
            lines.append("Diagnosis:")
            for (index, diagnosis) in faults.enumerated() {
                lines += describe(diagnosis, bullet: "\(index + 1).")
            }
        }
        if !notes.isEmpty {
            lines.append("Notes:")
            for note in notes { lines += describe(note, bullet: "-") }
        }
        return lines.joined(separator: "\n")
    }

    private static func describe(_ diagnosis: Diagnosis, bullet: String) -> [String] {
        var lines = ["  \(bullet) \(diagnosis.component) (confidence \(format(diagnosis.confidence, digits: 2))): \(diagnosis.explanation)",
                     "     what to do: \(diagnosis.suggestedAction)"]
        for evidence in diagnosis.evidence {
            let hop = evidence.hop.map { " hop \($0)" } ?? ""
            lines.append("     evidence: \(evidence.probe)\(hop): \(evidence.detail)")
        }
        return lines
    }

    /// The few details worth a glance, per probe kind (from the entry's typed measurement).
    static func summary(of probe: ProbeReport) -> String {
        func ms(_ value: Double?) -> String? { value.map { format($0) + " ms" } }
        var parts: [String] = []
        switch probe.measurement {
        case .ping(let ping):
            if let avg = ms(ping.latencyAvgMilliseconds) { parts.append("avg \(avg)") }
            if let max = ms(ping.latencyMaxMilliseconds) { parts.append("max \(max)") }
            if let loss = ping.lossPercent { parts.append("loss \(format(loss, digits: 1)) %") }
            if let sent = ping.sent, let received = ping.received { parts.append("\(received)/\(sent) replies") }
        case .trace(let trace):
            if let hops = trace.hops { parts.append("\(hops) hops") }
            if let stop = trace.stop { parts.append(stop) }
        case .dns(let dns):
            if let query = dns.query { parts.append(query) }
            if let code = dns.responseCode { parts.append(code) }
            if let resolver = dns.resolver { parts.append("via \(resolver)") }
            if let latency = ms(dns.latencyMilliseconds) { parts.append(latency) }
            if !dns.failedResolvers.isEmpty { parts.append("failed: \(dns.failedResolvers.joined(separator: ","))") }
        case .http(let http):
            if let code = http.statusCode { parts.append("HTTP \(code)") }
            if let total = ms(http.totalMilliseconds) { parts.append("total \(total)") }
            if let days = http.certificateDaysLeft { parts.append("cert \(format(days, digits: 0)) days left") }
        case .pathMTU(let mtu):
            parts.append(mtu.pathMTU.map { "path MTU \($0) bytes" } ?? "path MTU unknown")
            if mtu.blackHole, let lost = mtu.smallestLostSize { parts.append("\(lost)-byte packets vanish") }
            if let hop = mtu.firstHopLost { parts.append("from hop \(hop)") }
        case .dnsInterception(let dns):
            parts.append(dns.intercepted ? "intercepted" + (dns.interceptingHop.map { " at hop \($0)" } ?? "") : "not intercepted")
            if let identity = dns.identity { parts.append("identity \(identity)") }
        case .captivePortal(let portal):
            if let code = portal.statusCode { parts.append("HTTP \(code)") }
            if portal.portal { parts.append("portal" + (portal.location.map { " -> \($0)" } ?? "")) }
        case .bufferbloat(let bloat):
            for direction in BufferbloatResult.Direction.allCases {
                if let rise = bloat.increaseMilliseconds(direction) { parts.append("+\(format(rise, digits: 0)) ms under \(direction.rawValue)") }
            }
            if let rpm = bloat.responsivenessRPM { parts.append("\(format(rpm, digits: 0)) RPM") }
            if let hop = bloat.queueHop, bloat.status != .ok { parts.append(hop == 0 ? "queue on this host's link" : "queue at hop \(hop)") }
        case .ecmp(let ecmp):
            if let paths = ecmp.paths { parts.append("\(paths) path\(paths == 1 ? "" : "s") (\(ecmp.flowsProbed ?? 0) flows\(ecmp.complete ? ", 95 %" : ""))") }
            switch ecmp.spread {
            case .partial?: parts.append("loss on \(ecmp.lossyPaths ?? 1) via hop \(ecmp.lossyHop ?? 0)" + (ecmp.lossyHopAddress.map { " (\($0))" } ?? ""))
            case .every?: parts.append("loss on every path")
            default: break
            }
        case .tcp, .other:
            break
        }
        if parts.isEmpty {
            // A probe without a typed summary: its first few details as they are.
            parts = probe.details.sorted { $0.key < $1.key }.prefix(4).map { "\($0.key)=\($0.value)" }
        }
        return parts.joined(separator: ", ")
    }

    static func table(header: [String], rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : padRight(cell, widths[index])
            }.joined(separator: "  ")
        }
        return [line(header)] + rows.map(line)
    }

    static func format(_ value: Double, digits: Int = 1) -> String {
        fixed(value, digits: digits)
    }
}
