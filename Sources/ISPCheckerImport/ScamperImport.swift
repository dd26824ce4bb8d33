import FoundationEssentials
import ISPCheckerResults

/// scamper's JSON (`sc_warts2json` of a warts file, or `scamper -O json`): one record a line.
/// `trace` and `ping` records are read; `cycle-start`/`cycle-stop` and the other measurement
/// types are skipped. Records toward one destination from one source add up: traces as rounds
/// of one trace, pings as one ping.
///
/// A trace record lists the replies only (`hops`, one entry a reply, with the TTL and attempt
/// it answered). scamper stops probing a TTL at its first reply unless told to send every
/// attempt (`-Q`), so the probes sent at a TTL are the attempt of its last reply (`probe_id`), or
/// every attempt when it has none, or when the record's `probe_count` says all were sent.
enum ScamperImport {
    struct Record: Decodable {
        var type: String?
        var version: JSONText?
        var method: String?
        var src: JSONText?
        var dst: JSONText?
        var dport: JSONNumber?
        var start: Time?
        var hopCount: JSONNumber?
        var attempts: JSONNumber?
        var firsthop: JSONNumber?
        var probeCount: JSONNumber?
        var hops: BoundedList<Reply, EntryBound>?
        // ping
        var pingSent: JSONNumber?
        var responses: BoundedList<PingReply, EntryBound>?

        enum CodingKeys: String, CodingKey {
            case type, version, method, src, dst, dport, start, attempts, firsthop, hops, responses
            case hopCount = "hop_count", probeCount = "probe_count", pingSent = "ping_sent"
        }
    }

    struct Time: Decodable, Sendable {
        var sec: JSONNumber?
    }

    struct Reply: Decodable, Sendable {
        var addr: JSONText?
        var probeTTL: JSONNumber
        var probeID: JSONNumber?
        var rtt: JSONNumber?
        var icmpType: JSONNumber?
        var icmpCode: JSONNumber?
        var tcpFlags: JSONNumber?
        var icmpext: BoundedList<Extension, EntryBound>?

        enum CodingKeys: String, CodingKey {
            case addr, rtt, icmpext
            case probeTTL = "probe_ttl", probeID = "probe_id", icmpType = "icmp_type", icmpCode = "icmp_code", tcpFlags = "tcp_flags"
        }
    }

    struct Extension: Decodable, Sendable {
        var mplsLabels: BoundedList<Label, EntryBound>?
        enum CodingKeys: String, CodingKey { case mplsLabels = "mpls_labels" }
    }

    struct Label: Decodable, Sendable {
        var mplsTTL: JSONNumber
        var mplsS: JSONNumber
        var mplsExp: JSONNumber
        var mplsLabel: JSONNumber
        enum CodingKeys: String, CodingKey { case mplsTTL = "mpls_ttl", mplsS = "mpls_s", mplsExp = "mpls_exp", mplsLabel = "mpls_label" }
    }

    struct PingReply: Decodable, Sendable {
        var from: JSONText?
        var seq: JSONNumber?
        var replyTTL: JSONNumber?
        var rtt: JSONNumber?
        var icmpType: JSONNumber?
        var tcpFlags: JSONNumber?
        enum CodingKeys: String, CodingKey {
            case from, seq, rtt
            case replyTTL = "reply_ttl", icmpType = "icmp_type", tcpFlags = "tcp_flags"
        }
    }

    /// One destination from one source, as the records add up.
    struct Group {
        var target: String
        var address: IPAddress
        var origin: String?
        var started: Double?
        var trace = TraceAccumulator()
        var method: TraceMethod = .icmp
        var paris = false
        var methods: [String] = []
        var versions: [String] = []
        var pingProbes: [PingProbe] = []
    }

    static func runs(_ bytes: [UInt8], file: String?) throws(ImportError) -> [ImportedRun] {
        let format = ImportFormat.scamperJSON
        let check = ImportCheck(format: format)
        var groups: [Group] = []
        var skipped: Set<String> = []
        var lineNumber = 0
        var recordCount = 0
        // Probes of all pings together: a few bytes of `"ping_sent": 1000000` must not become millions of values.
        var pingBudget = ImportLimits.maximumListEntries
        for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard line.contains(where: { ![0x20, 0x09, 0x0d].contains($0) }) else { continue }
            recordCount += 1
            guard recordCount <= ImportLimits.maximumRecords else {
                throw .valueOutOfRange(format: format, field: "records", value: "more than \(ImportLimits.maximumRecords)", allowed: "at most \(ImportLimits.maximumRecords)")
            }
            let place = "line \(lineNumber): "
            let record = try JSONPath.decode(Record.self, from: line, format: format, place: place)
            guard let type = record.type, type == "trace" || type == "ping" else {
                if let type = record.type, !type.hasPrefix("cycle") { skipped.insert(String(type.prefix(32))) }
                continue
            }
            guard let destination = record.dst?.value, let address = IPAddress(destination) else {
                throw .malformed(format: format, reason: "\(place)dst is \(record.dst.map { "'\($0.value.prefix(60))'" } ?? "missing"), not an IP address")
            }
            let origin = record.src?.value
            let index: Int
            if let found = groups.firstIndex(where: { $0.address == address && $0.origin == origin }) {
                index = found
            } else {
                groups.append(Group(target: destination, address: address, origin: origin))
                index = groups.count - 1
            }
            if groups[index].started == nil, let seconds = record.start?.sec?.value, ImportLimits.unixSeconds.contains(seconds) {
                groups[index].started = seconds
            }
            if let version = record.version?.value, !groups[index].versions.contains(version) { groups[index].versions.append(String(version.prefix(32))) }
            if type == "trace" {
                try addTrace(record, to: &groups[index], place: place, check: check)
            } else {
                try addPing(record, to: &groups[index], place: place, check: check, budget: &pingBudget)
            }
        }
        return groups.compactMap { group in
            let trace = group.trace.result(target: group.target, address: group.address, method: group.method, paris: group.paris)
            let ping = group.pingProbes.isEmpty ? nil : PingResult(target: group.target, address: group.address, socketKind: .imported, probes: group.pingProbes)
            guard trace != nil || ping != nil else { return nil }
            var notes: [String] = []
            if trace != nil {
                notes.append("scamper stops probing a TTL at its first reply unless run with -Q: a hop's loss counts the attempts before it")
            }
            if !skipped.isEmpty { notes.append("skipped scamper records of type \(skipped.sorted().joined(separator: ", "))") }
            if group.methods.count > 1 { notes.append("traces of several methods were added up: \(group.methods.joined(separator: ", "))") }
            let measured = (trace != nil ? ["traceroute"] : []) + (ping != nil ? ["ping"] : [])
            let source = DataSource(tool: "scamper", format: ImportFormat.scamperJSON.rawValue,
                                    version: group.versions.isEmpty ? nil : "record " + group.versions.joined(separator: ", "),
                                    file: file, origin: group.origin, measuredProbes: measured, notes: notes)
            return ImportedRun(target: group.target, address: group.address, originKey: group.origin,
                               timestamp: group.started.map { Date(timeIntervalSince1970: $0) }, trace: trace, ping: ping, source: source)
        }
    }

    static func addTrace(_ record: Record, to group: inout Group, place: String, check: ImportCheck) throws(ImportError) {
        let method = record.method ?? "icmp-echo"
        if method.hasPrefix("udp") {
            group.method = .udp
        } else if method.hasPrefix("tcp") {
            let port = try record.dport.map { v throws(ImportError) in try check.integer(v.value, "\(place)dport", in: 1...65_535) } ?? 80
            group.method = .tcp(port: UInt16(port))
        } else {
            group.method = .icmp
        }
        group.paris = method.contains("paris")
        if !group.methods.contains(method) { group.methods.append(String(method.prefix(32))) }
        let attempts = try record.attempts.map { v throws(ImportError) in try check.integer(v.value, "\(place)attempts", in: 1...1000) } ?? 1
        let firstTTL = try record.firsthop.map { v throws(ImportError) in try check.integer(v.value, "\(place)firsthop", in: ImportLimits.ttl) } ?? 1
        // hop_count: the TTLs probed, counted from TTL 1 (scamper's hops[] index is TTL - 1).
        let hopCount = try record.hopCount.map { v throws(ImportError) in try check.integer(v.value, "\(place)hop_count", in: 0...255) } ?? 0
        var lastAttempt: [Int: Int] = [:]
        for (index, reply) in (record.hops?.elements ?? []).enumerated() {
            let field = "\(place)hops[\(index)]"
            let ttl = try check.integer(reply.probeTTL.value, "\(field).probe_ttl", in: ImportLimits.ttl)
            let attempt = try reply.probeID.map { v throws(ImportError) in try check.integer(v.value, "\(field).probe_id", in: 0...1000) } ?? 1
            lastAttempt[ttl] = max(lastAttempt[ttl] ?? 0, max(attempt, 1))
            guard let text = reply.addr?.value, let from = IPAddress(text) else {
                throw .malformed(format: .scamperJSON, reason: "\(field).addr is \(reply.addr.map { "'\($0.value.prefix(60))'" } ?? "missing"), not an IP address")
            }
            let rtt = try check.number(reply.rtt?.value ?? 0, "\(field).rtt", in: ImportLimits.milliseconds)
            let type = try reply.icmpType.map { v throws(ImportError) in try check.integer(v.value, "\(field).icmp_type", in: 0...255) }
            let code = try reply.icmpCode.map { v throws(ImportError) in try check.integer(v.value, "\(field).icmp_code", in: 0...255) } ?? 0
            var stack: [MPLSLabel] = []
            for (extIndex, ext) in (reply.icmpext?.elements ?? []).enumerated() {
                for (labelIndex, label) in (ext.mplsLabels?.elements ?? []).enumerated() {
                    stack.append(try check.mpls(label: label.mplsLabel.value, trafficClass: label.mplsExp.value, bottom: label.mplsS.value,
                                                ttl: label.mplsTTL.value, "\(field).icmpext[\(extIndex)].mpls_labels[\(labelIndex)]"))
                }
            }
            // RFC 792 / RFC 4443: destination unreachable is type 3 (IPv4) or 1 (IPv6); echo reply 0 or 129.
            let family = from.family
            let unreachableType = family == .ipv4 ? 3 : 1
            let echoReply = family == .ipv4 ? 0 : 129
            var unreachable: UnreachableCode?
            if type == unreachableType { unreachable = UnreachableCode(family: family, code: code) }
            let isDestination = from == group.address || type == echoReply || reply.tcpFlags != nil
            if isDestination, unreachable?.isPortUnreachable == true { unreachable = nil }
            group.trace.reply(ttl: ttl, from: from, rttMilliseconds: rtt, mpls: stack, unreachable: unreachable, isDestination: isDestination)
        }
        let lastTTL = max(hopCount, lastAttempt.keys.max() ?? 0)
        guard lastTTL >= firstTTL else { return }
        let ttls = firstTTL...lastTTL
        // Every attempt at every TTL was sent (-Q) when the record's probe count says so.
        let everyAttempt = record.probeCount.map { $0.value == Double(ttls.count * attempts) } ?? false
        for ttl in ttls {
            group.trace.sent(ttl: ttl, count: everyAttempt ? attempts : min(lastAttempt[ttl] ?? attempts, attempts))
        }
        group.trace.rounds += 1
    }

    static func addPing(_ record: Record, to group: inout Group, place: String, check: ImportCheck, budget: inout Int) throws(ImportError) {
        let sent = try check.integer(record.pingSent?.value ?? 0, "\(place)ping_sent", in: 0...Double(budget))
        budget -= sent
        var replies: [Int: (rtt: Double, ttl: Int?)] = [:]
        for (index, reply) in (record.responses?.elements ?? []).enumerated() {
            let field = "\(place)responses[\(index)]"
            let sequence = try check.integer(reply.seq?.value ?? Double(index), "\(field).seq", in: 0...Double(max(sent - 1, 0)))
            let rtt = try check.number(reply.rtt?.value ?? 0, "\(field).rtt", in: ImportLimits.milliseconds)
            let ttl = try reply.replyTTL.map { v throws(ImportError) in try check.integer(v.value, "\(field).reply_ttl", in: 0...255) }
            // Only the target's echo reply (or TCP answer) counts; an ICMP error from a router does not.
            let type = reply.icmpType?.value
            let isAnswer = reply.tcpFlags != nil || type == nil || type == 0 || type == 129
            guard isAnswer, replies[sequence] == nil else { continue }   // a duplicate counts once
            replies[sequence] = (rtt, ttl)
        }
        let base = group.pingProbes.count
        for sequence in 0..<sent {
            let reply = replies[sequence]
            group.pingProbes.append(PingProbe(index: base + sequence, sequence: UInt16(truncatingIfNeeded: sequence),
                                              status: reply == nil ? .timedOut : .received,
                                              rttNanoseconds: reply.map { Int64(($0.rtt * 1_000_000).rounded()) }, replyTTL: reply?.ttl))
        }
    }
}
