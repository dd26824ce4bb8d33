import FoundationEssentials
import ISPChecker

/// The readable summary of a run report: a probe table, the score, the diagnosis.
enum ReportText {
    static func render(_ report: RunReport) -> String {
        var lines: [String] = []
        let time = report.timestamp.formatted(.iso8601)
        lines.append("isp-checker run: \(report.target) (\(report.mode.rawValue), \(time))")
        lines.append("")
        let rows = report.probes.map { probe in
            [probe.name, probe.status.rawValue.uppercased(), probe.error ?? summary(of: probe)]
        }
        lines += table(header: ["PROBE", "STATUS", "DETAILS"], rows: rows)
        lines.append("")
        lines.append("Score \(format(report.score)) / 100 (0 = healthy, 100 = complete outage), severity \(report.severity.rawValue)")
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

    /// The few details worth a glance, per probe kind.
    static func summary(of probe: ProbeReport) -> String {
        let d = probe.details
        func value(_ key: String) -> String? { d[key]?.description }
        func ms(_ key: String) -> String? { d[key]?.number.map { format($0) + " ms" } }
        var parts: [String] = []
        switch probe.name {
        case "ping":
            if let avg = ms("latency_avg_ms") { parts.append("avg \(avg)") }
            if let max = ms("latency_max_ms") { parts.append("max \(max)") }
            if let loss = d["packet_loss"]?.number { parts.append("loss \(format(loss, digits: 1)) %") }
            if let sent = value("packets_sent"), let received = value("packets_received") { parts.append("\(received)/\(sent) replies") }
        case "traceroute":
            if let hops = value("hops") { parts.append("\(hops) hops") }
            if let stop = value("stop") { parts.append(stop) }
        case "dns":
            if let query = value("query") { parts.append(query) }
            if let rcode = value("rcode") { parts.append(rcode) }
            if let resolver = value("resolver") { parts.append("via \(resolver)") }
            if let latency = ms("latency_ms") { parts.append(latency) }
            if let failed = value("failed_resolvers"), !failed.isEmpty { parts.append("failed: \(failed)") }
        case "http":
            if let code = value("status_code") { parts.append("HTTP \(code)") }
            if let total = ms("total_ms") { parts.append("total \(total)") }
            if let days = value("cert_days_left") { parts.append("cert \(days) days left") }
        default:
            break
        }
        if parts.isEmpty {
            parts = d.keys.sorted().prefix(4).map { "\($0)=\(d[$0]!.description)" }
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
