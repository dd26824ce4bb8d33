import FoundationEssentials
import ISPCheckerPrimitives
import ISPCheckerResults

/// mtr's report formats (mtr 0.9x `--json` and `--csv`; `--xml` is not read: it would need an
/// XML parser, and FoundationXML is not linked). Both carry one line a hop: its TTL, the first
/// address that answered, and mtr's own columns (Loss%, Snt, Last, Avg, Best, Wrst, StDev).
/// Neither carries the trace protocol, MPLS labels or per-probe times: the trace is taken as
/// ICMP (mtr's default), the RTT columns as mtr computed them.
enum MtrImport {
    struct Report: Decodable {
        var report: Body
        struct Body: Decodable {
            var mtr: Header
            var hubs: BoundedList<Hub, HopBound>
        }
        struct Header: Decodable {
            var src: JSONText?
            var dst: JSONText
            var tests: JSONNumber?
        }
    }

    struct Hub: Decodable, Sendable {
        var count: JSONNumber
        var host: JSONText
        var loss: JSONNumber?
        var sent: JSONNumber?
        var received: JSONNumber?
        var last: JSONNumber?
        var avg: JSONNumber?
        var best: JSONNumber?
        var worst: JSONNumber?
        var stdev: JSONNumber?

        enum CodingKeys: String, CodingKey {
            case count, host
            case loss = "Loss%", sent = "Snt", received = "Rcv", last = "Last", avg = "Avg", best = "Best", worst = "Wrst", stdev = "StDev"
        }
    }

    /// One hop line, whichever format it came from.
    struct Line {
        var ttl: Double
        var host: String
        var loss: Double?
        var sent: Double?
        var received: Double?
        var last: Double?, avg: Double?, best: Double?, worst: Double?, stdev: Double?
    }

    static func json(_ bytes: [UInt8], file: String?) throws(ImportError) -> ImportedRun {
        let report = try JSONPath.decode(Report.self, from: bytes, format: .mtrJSON)
        let lines = report.report.hubs.elements.map { hub in
            Line(ttl: hub.count.value, host: hub.host.value, loss: hub.loss?.value, sent: hub.sent?.value, received: hub.received?.value,
                 last: hub.last?.value, avg: hub.avg?.value, best: hub.best?.value, worst: hub.worst?.value, stdev: hub.stdev?.value)
        }
        return try run(format: .mtrJSON, destination: report.report.mtr.dst.value, source: report.report.mtr.src?.value,
                       tests: report.report.mtr.tests?.value, version: nil, started: nil, lines: lines, place: "report.hubs", file: file)
    }

    /// `Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt, ,Last,Avg,Best,Wrst,StDev,` then a line a
    /// hop. Columns are found by their header name (`--order` changes them); mtr's unnamed column
    /// (the probes lost) is not needed.
    static func csv(_ bytes: [UInt8], file: String?) throws(ImportError) -> ImportedRun {
        let format = ImportFormat.mtrCSV
        let text = String(decoding: bytes, as: UTF8.self)
        var rows = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
        }.filter { !($0.count == 1 && $0[0].isEmpty) }
        guard !rows.isEmpty else { throw .malformed(format: format, reason: "no header line") }
        let header = rows.removeFirst()
        func column(_ name: String) -> Int? { header.firstIndex(of: name) }
        guard let hopColumn = column("Hop"), let ipColumn = column("Ip"), let hostColumn = column("Host") else {
            throw .malformed(format: format, reason: "the header line has no Hop, Ip or Host column: \(header.prefix(16).joined(separator: ","))")
        }
        guard rows.count <= ImportLimits.maximumHops else {
            throw .valueOutOfRange(format: format, field: "lines", value: "\(rows.count) hop lines", allowed: "at most \(ImportLimits.maximumHops)")
        }
        var lines: [Line] = []
        var destination = ""
        var version: String?
        var started: Double?
        for (index, row) in rows.enumerated() {
            let place = "line \(index + 2)"
            func field(_ name: String) throws(ImportError) -> Double? {
                guard let at = column(name), at < row.count, !row[at].isEmpty else { return nil }
                guard let value = JSONNumber.parse(row[at]) else {
                    throw .malformed(format: format, reason: "\(place): \(name) is '\(row[at].prefix(40))', not a number")
                }
                return value
            }
            guard row.count > max(hopColumn, ipColumn, hostColumn) else {
                throw .malformed(format: format, reason: "\(place) has \(row.count) fields, fewer than the header's Hop, Ip and Host need")
            }
            guard let ttl = JSONNumber.parse(row[hopColumn]) else {
                throw .malformed(format: format, reason: "\(place): Hop is '\(row[hopColumn].prefix(40))', not a number")
            }
            if index == 0 {
                destination = row[hostColumn]
                if let at = column("Mtr_Version"), at < row.count { version = row[at].hasPrefix("MTR.") ? String(row[at].dropFirst(4)) : row[at] }
                started = try field("Start_Time")
            }
            lines.append(Line(ttl: ttl, host: row[ipColumn], loss: try field("Loss%"), sent: try field("Snt"), received: try field("Rcv"),
                              last: try field("Last"), avg: try field("Avg"), best: try field("Best"), worst: try field("Wrst"), stdev: try field("StDev")))
        }
        return try run(format: format, destination: destination, source: nil, tests: nil, version: version, started: started,
                       lines: lines, place: "line", file: file)
    }

    /// The trace of mtr's hop lines: a hop a line, loss and RTTs as mtr computed them.
    static func run(format: ImportFormat, destination: String, source: String?, tests: Double?, version: String?, started: Double?,
                    lines: [Line], place: String, file: String?) throws(ImportError) -> ImportedRun {
        let check = ImportCheck(format: format)
        guard !lines.isEmpty else { throw .noMeasurement(format: format, reason: "the report has no hop") }
        var notes = ["mtr's report names no trace protocol: taken as ICMP, mtr's default", "mtr's report carries no MPLS labels and no per-probe times"]
        let destinationAddress = IPAddress(destination) ?? Self.address(in: destination)
        var hops: [TraceHop] = []
        for (index, line) in lines.enumerated() {
            let field = format == .mtrCSV ? "line \(index + 2)" : "\(place)[\(index)]"
            let ttl = try check.integer(line.ttl, "\(field).\(format == .mtrCSV ? "Hop" : "count")", in: ImportLimits.ttl)
            if let previous = hops.last, ttl <= previous.ttl {
                throw .malformed(format: format, reason: "\(field): hop \(ttl) follows hop \(previous.ttl): hops must rise")
            }
            let sent = try check.integer(line.sent ?? 0, "\(field).Snt", in: ImportLimits.count)
            let received: Int
            if let count = line.received {
                received = min(try check.integer(count, "\(field).Rcv", in: ImportLimits.count), sent)
            } else {
                let loss = try check.number(line.loss ?? 100, "\(field).Loss%", in: ImportLimits.percent)
                received = sent - Int((Double(sent) * loss / 100).rounded())
            }
            let host = line.host
            var addresses: [HopAddress] = []
            if received > 0, host != "???", !host.isEmpty {
                if let address = IPAddress(host) {
                    addresses = [HopAddress(address: address, replies: received)]
                } else if let address = Self.address(in: host) {
                    addresses = [HopAddress(address: address, replies: received, name: String(host.prefix { $0 != " " && $0 != "(" }))]
                } else if !notes.contains(where: { $0.hasPrefix("mtr named hops") }) {
                    notes.append("mtr named hops by host name only (run it with -n or -b): such hops have no address")
                }
            }
            var hop = TraceHop(ttl: ttl, addresses: addresses, sent: sent, received: received,
                               lossPercent: sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent),
                               mplsStacks: [], unreachable: [], isDestination: false)
            if received > 0 {
                hop.lastMilliseconds = try line.last.map { v throws(ImportError) in try check.number(v, "\(field).Last", in: ImportLimits.milliseconds) }
                hop.avgMilliseconds = try line.avg.map { v throws(ImportError) in try check.number(v, "\(field).Avg", in: ImportLimits.milliseconds) }
                hop.bestMilliseconds = try line.best.map { v throws(ImportError) in try check.number(v, "\(field).Best", in: ImportLimits.milliseconds) }
                hop.worstMilliseconds = try line.worst.map { v throws(ImportError) in try check.number(v, "\(field).Wrst", in: ImportLimits.milliseconds) }
                hop.stdevMilliseconds = try line.stdev.map { v throws(ImportError) in try check.number(v, "\(field).StDev", in: ImportLimits.milliseconds) }
            }
            hops.append(hop)
        }
        // mtr lists hops up to the destination's when it answered: the last hop is the
        // destination when its address is the target's, or (a target given by name) when it answered.
        var address = destinationAddress
        if let last = hops.indices.last, hops[last].received > 0 {
            if let destinationAddress {
                hops[last].isDestination = hops[last].addresses.contains { $0.address == destinationAddress }
            } else if let answered = hops[last].addresses.first?.address {
                hops[last].isDestination = true
                address = answered
                notes.append("mtr named its target '\(destination)' by name: the last hop, which answered, is taken for it")
            }
        }
        guard let address else {
            throw .noMeasurement(format: format, reason: "the target '\(destination.prefix(80))' is a name and no hop answered with an address; run mtr with -n or -b")
        }
        let rounds = tests.flatMap { (try? check.integer($0, "tests", in: ImportLimits.rounds)) } ?? max(1, hops.map(\.sent).max() ?? 1)
        let trace = TraceResult(target: destination, address: address, method: .icmp, paris: false, rounds: min(rounds, Int(ImportLimits.rounds.upperBound)),
                                hops: hops, stop: hops.last?.isDestination == true ? .destinationReached : .maxHopsReached, durationMilliseconds: 0)
        let timestamp = started.flatMap { ImportLimits.unixSeconds.contains($0) ? Date(timeIntervalSince1970: $0) : nil }
        let origin = source.flatMap { $0.isEmpty ? nil : $0 }
        let dataSource = DataSource(tool: format.tool, format: format.rawValue, version: version, file: file, origin: origin,
                                    measuredProbes: ["traceroute"], notes: notes)
        return ImportedRun(target: destination, address: address, originKey: nil, timestamp: timestamp, trace: trace, ping: nil, source: dataSource)
    }

    /// The address in `name (192.0.2.1)`, mtr's form with -b.
    static func address(in host: String) -> IPAddress? {
        guard let open = host.lastIndex(of: "("), let close = host.lastIndex(of: ")"), open < close else { return nil }
        return IPAddress(String(host[host.index(after: open)..<close]))
    }
}
