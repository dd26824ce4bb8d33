import FoundationEssentials
import ISPCheckerResults

/// RIPE Atlas traceroute and ping results in their documented format
/// (https://atlas.ripe.net/docs/apis/result-format/): one result object, an array of them (an
/// API download), or one a line. Results of one probe toward one destination add up: several
/// traceroutes as rounds of one trace, several pings as one ping, and a ping and a traceroute
/// as both probes of one run. Other result types (dns, http, sslcert, ntp) are skipped.
enum AtlasImport {
    struct Record: Decodable {
        var type: String?
        var af: JSONNumber?
        var dstAddr: JSONText?
        var dstName: JSONText?
        var srcAddr: JSONText?
        var prbID: JSONText?
        var fw: JSONText?
        var proto: String?
        var parisID: JSONNumber?
        var timestamp: JSONNumber?
        var endtime: JSONNumber?
        var sent: JSONNumber?
        var ttl: JSONNumber?
        var hops: BoundedList<Hop, HopBound>?
        var replies: BoundedList<PingReply, EntryBound>?

        enum CodingKeys: String, CodingKey {
            case type, af, fw, proto, timestamp, endtime, sent, ttl, result
            case dstAddr = "dst_addr", dstName = "dst_name", srcAddr = "src_addr", prbID = "prb_id", parisID = "paris_id"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try? container.decodeIfPresent(String.self, forKey: .type)
            af = try container.decodeIfPresent(JSONNumber.self, forKey: .af)
            dstAddr = try container.decodeIfPresent(JSONText.self, forKey: .dstAddr)
            dstName = try container.decodeIfPresent(JSONText.self, forKey: .dstName)
            srcAddr = try container.decodeIfPresent(JSONText.self, forKey: .srcAddr)
            prbID = try container.decodeIfPresent(JSONText.self, forKey: .prbID)
            fw = try container.decodeIfPresent(JSONText.self, forKey: .fw)
            proto = try container.decodeIfPresent(String.self, forKey: .proto)
            parisID = try container.decodeIfPresent(JSONNumber.self, forKey: .parisID)
            timestamp = try container.decodeIfPresent(JSONNumber.self, forKey: .timestamp)
            endtime = try container.decodeIfPresent(JSONNumber.self, forKey: .endtime)
            sent = try container.decodeIfPresent(JSONNumber.self, forKey: .sent)
            ttl = try container.decodeIfPresent(JSONNumber.self, forKey: .ttl)
            // `result` is the hops of a traceroute and the replies of a ping.
            switch type {
            case "traceroute": hops = try container.decodeIfPresent(BoundedList<Hop, HopBound>.self, forKey: .result)
            case "ping": replies = try container.decodeIfPresent(BoundedList<PingReply, EntryBound>.self, forKey: .result)
            default: break
            }
        }
    }

    struct Hop: Decodable, Sendable {
        var hop: JSONNumber?
        var error: JSONText?
        var result: BoundedList<Reply, EntryBound>?
    }

    struct Reply: Decodable, Sendable {
        var from: JSONText?
        var rtt: JSONNumber?
        var x: JSONText?
        var err: JSONText?
        var isExtra = false
        var hasFlags = false
        var icmpext: ICMPExtension?

        enum CodingKeys: String, CodingKey { case from, rtt, x, err, dup, late, flags, icmpext }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            from = try container.decodeIfPresent(JSONText.self, forKey: .from)
            rtt = try container.decodeIfPresent(JSONNumber.self, forKey: .rtt)
            x = try container.decodeIfPresent(JSONText.self, forKey: .x)
            err = try container.decodeIfPresent(JSONText.self, forKey: .err)
            icmpext = try container.decodeIfPresent(ICMPExtension.self, forKey: .icmpext)
            // A duplicate, or a reply to an earlier packet, is an extra entry, not a probe.
            isExtra = container.contains(.dup) || container.contains(.late)
            hasFlags = container.contains(.flags)
        }
    }

    /// RFC 4884 extension objects; class 1 type 1 is the MPLS label stack (RFC 4950).
    struct ICMPExtension: Decodable, Sendable {
        var obj: BoundedList<Object, EntryBound>?
        struct Object: Decodable, Sendable {
            var `class`: JSONNumber?
            var type: JSONNumber?
            var mpls: BoundedList<Label, EntryBound>?
        }
        struct Label: Decodable, Sendable {
            var exp: JSONNumber
            var label: JSONNumber
            var s: JSONNumber
            var ttl: JSONNumber
        }
    }

    struct PingReply: Decodable, Sendable {
        var rtt: JSONNumber?
        var ttl: JSONNumber?
        var error: JSONText?
        var isExtra = false

        enum CodingKeys: String, CodingKey { case rtt, ttl, error, dup, late }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rtt = try container.decodeIfPresent(JSONNumber.self, forKey: .rtt)
            ttl = try container.decodeIfPresent(JSONNumber.self, forKey: .ttl)
            error = try container.decodeIfPresent(JSONText.self, forKey: .error)
            isExtra = container.contains(.dup) || container.contains(.late)
        }
    }

    /// The file: one result, an array of them, or one a line.
    struct Records: Decodable {
        var records: [Record]
        init(from decoder: any Decoder) throws {
            if let list = try? decoder.unkeyedContainer(), list.count != nil {
                records = try BoundedList<Record, RecordBound>(from: decoder).elements
            } else {
                records = [try Record(from: decoder)]
            }
        }
    }

    enum RecordBound: ListBound {
        static var maximum: Int { ImportLimits.maximumRecords }
        static var what: String { "results" }
    }

    struct Group {
        var target: String
        var address: IPAddress
        var originKey: String?
        var origin: String?
        var started: Double?
        var firmware: [String] = []
        var trace = TraceAccumulator()
        var method: TraceMethod = .icmp
        var parisIDs: Set<Int> = []
        var pingProbes: [PingProbe] = []
        var hopErrors: [String] = []
    }

    static func runs(_ bytes: [UInt8], file: String?) throws(ImportError) -> [ImportedRun] {
        let format = ImportFormat.atlasJSON
        var records: [(Record, String)] = []
        if let whole = try? JSONDecoder().decode(Records.self, from: Data(bytes)) {
            records = whole.records.enumerated().map { ($0.element, whole.records.count > 1 ? "[\($0.offset)]." : "") }
        } else if let first = bytes.split(separator: 0x0a).first(where: { $0.contains { ![0x20, 0x09, 0x0d].contains($0) } }),
                  first.count < bytes.count, (try? JSONDecoder().decode(Record.self, from: Data(first))) != nil {
            // One result a line (the streaming API, `?format=txt`).
            var number = 0
            for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
                number += 1
                guard line.contains(where: { ![0x20, 0x09, 0x0d].contains($0) }) else { continue }
                guard records.count < ImportLimits.maximumRecords else {
                    throw .valueOutOfRange(format: format, field: "results", value: "more than \(ImportLimits.maximumRecords)", allowed: "at most \(ImportLimits.maximumRecords)")
                }
                records.append((try JSONPath.decode(Record.self, from: line, format: format, place: "line \(number): "), "line \(number): "))
            }
        } else {
            // Decoded again for the error, which names the place.
            records = try JSONPath.decode(Records.self, from: bytes, format: format).records.map { ($0, "") }
        }
        let check = ImportCheck(format: format)
        var groups: [Group] = []
        var skipped: Set<String> = []
        var pingBudget = ImportLimits.maximumListEntries
        for (record, place) in records {
            guard let type = record.type, type == "traceroute" || type == "ping" else {
                skipped.insert(String((record.type ?? "untyped").prefix(32)))
                continue
            }
            guard let text = record.dstAddr?.value, let address = IPAddress(text) else {
                throw .malformed(format: format, reason: "\(place)dst_addr is \(record.dstAddr.map { "'\($0.value.prefix(60))'" } ?? "missing"), not an IP address")
            }
            if let af = record.af {
                let family = try check.integer(af.value, "\(place)af", in: 4...6)
                guard (family == 4 && address.family == .ipv4) || (family == 6 && address.family == .ipv6) else {
                    throw .malformed(format: format, reason: "\(place)af is \(family) but dst_addr \(text) is \(address.family == .ipv4 ? "IPv4" : "IPv6")")
                }
            }
            let probe = record.prbID?.value
            let originKey = probe ?? record.srcAddr?.value
            let index: Int
            if let found = groups.firstIndex(where: { $0.address == address && $0.originKey == originKey }) {
                index = found
            } else {
                var origin = probe.map { "RIPE Atlas probe \($0)" }
                if let src = record.srcAddr?.value { origin = (origin.map { $0 + ", " } ?? "") + "source address \(src.prefix(64))" }
                groups.append(Group(target: record.dstName?.value ?? text, address: address, originKey: originKey, origin: origin))
                index = groups.count - 1
            }
            if let seconds = record.timestamp?.value, ImportLimits.unixSeconds.contains(seconds) {
                groups[index].started = min(groups[index].started ?? seconds, seconds)
            }
            if let fw = record.fw?.value, !groups[index].firmware.contains(fw) { groups[index].firmware.append(String(fw.prefix(16))) }
            if type == "traceroute" {
                try addTrace(record, to: &groups[index], place: place, check: check)
            } else {
                try addPing(record, to: &groups[index], place: place, check: check, budget: &pingBudget)
            }
        }
        return groups.compactMap { group in
            let trace = group.trace.result(target: group.target, address: group.address, method: group.method,
                                           paris: group.parisIDs.count == 1 && group.parisIDs.first != 0)
            let ping = group.pingProbes.isEmpty ? nil : PingResult(target: group.target, address: group.address, socketKind: .imported, probes: group.pingProbes)
            guard trace != nil || ping != nil else { return nil }
            var notes: [String] = []
            if group.parisIDs.count > 1 { notes.append("traceroutes of \(group.parisIDs.count) Paris ids were added up: their paths may differ (ECMP)") }
            if case .tcp = group.method { notes.append("RIPE Atlas results name no TCP port: taken as 80, Atlas's default") }
            if !group.hopErrors.isEmpty { notes.append("hops the probe could not send to: \(group.hopErrors.prefix(4).joined(separator: "; "))") }
            if !skipped.isEmpty { notes.append("skipped RIPE Atlas results of type \(skipped.sorted().joined(separator: ", "))") }
            let measured = (trace != nil ? ["traceroute"] : []) + (ping != nil ? ["ping"] : [])
            let source = DataSource(tool: "ripe_atlas", format: ImportFormat.atlasJSON.rawValue,
                                    version: group.firmware.isEmpty ? nil : "firmware " + group.firmware.joined(separator: ", "),
                                    file: file, origin: group.origin, measuredProbes: measured, notes: notes)
            return ImportedRun(target: group.target, address: group.address, originKey: group.originKey,
                               timestamp: group.started.map { Date(timeIntervalSince1970: $0) }, trace: trace, ping: ping, source: source)
        }
    }

    static func addTrace(_ record: Record, to group: inout Group, place: String, check: ImportCheck) throws(ImportError) {
        switch record.proto?.uppercased() {
        case "UDP": group.method = .udp
        case "TCP": group.method = .tcp(port: 80)
        default: group.method = .icmp
        }
        if let paris = record.parisID { group.parisIDs.insert(try check.integer(paris.value, "\(place)paris_id", in: 0...65_535)) }
        if let start = record.timestamp?.value, let end = record.endtime?.value, start.isFinite, end.isFinite, end >= start {
            group.trace.durationMilliseconds += min((end - start) * 1000, ImportLimits.milliseconds.upperBound)
        }
        var packets = 0
        for (hopIndex, hop) in (record.hops?.elements ?? []).enumerated() {
            let field = "\(place)result[\(hopIndex)]"
            guard let number = hop.hop else { throw .malformed(format: .atlasJSON, reason: "\(field).hop is missing") }
            let ttl = try check.integer(number.value, "\(field).hop", in: ImportLimits.ttl)
            if let error = hop.error {
                group.hopErrors.append("hop \(ttl): \(error.value.prefix(80))")
                continue
            }
            var sentHere = 0
            for (replyIndex, reply) in (hop.result?.elements ?? []).enumerated() where !reply.isExtra {
                let replyField = "\(field).result[\(replyIndex)]"
                sentHere += 1
                group.trace.sent(ttl: ttl)
                guard reply.x == nil, let rttValue = reply.rtt else { continue }   // "x": "*": no answer
                let rtt = try check.number(rttValue.value, "\(replyField).rtt", in: ImportLimits.milliseconds)
                guard let text = reply.from?.value, let from = IPAddress(text) else {
                    throw .malformed(format: .atlasJSON, reason: "\(replyField).from is \(reply.from.map { "'\($0.value.prefix(60))'" } ?? "missing"), not an IP address")
                }
                var stack: [MPLSLabel] = []
                for (objectIndex, object) in (reply.icmpext?.obj?.elements ?? []).enumerated() {
                    for (labelIndex, label) in (object.mpls?.elements ?? []).enumerated() {
                        stack.append(try check.mpls(label: label.label.value, trafficClass: label.exp.value, bottom: label.s.value, ttl: label.ttl.value,
                                                    "\(replyField).icmpext.obj[\(objectIndex)].mpls[\(labelIndex)]"))
                    }
                }
                var unreachable = try reply.err.map { err throws(ImportError) in try Self.unreachable(err.value, family: from.family, field: "\(replyField).err", check: check) }
                let isDestination = from == group.address || reply.hasFlags
                if isDestination, unreachable?.isPortUnreachable == true { unreachable = nil }
                group.trace.reply(ttl: ttl, from: from, rttMilliseconds: rtt, mpls: stack, unreachable: unreachable, isDestination: isDestination)
            }
            packets = max(packets, sentHere)
        }
        group.trace.rounds += max(packets, 1)
    }

    /// Atlas's `err`: a letter as traceroute prints it (N network, H host, A administratively
    /// prohibited, P protocol, p port, h beyond scope) or the ICMP code itself (RFC 792, RFC 4443).
    static func unreachable(_ err: String, family: IPFamily, field: String, check: ImportCheck) throws(ImportError) -> UnreachableCode {
        let letters: [String: Int] = family == .ipv4 ? ["N": 0, "H": 1, "P": 2, "p": 3, "A": 13] : ["N": 0, "A": 1, "h": 2, "H": 3, "p": 4]
        if let code = letters[err] { return UnreachableCode(family: family, code: code) }
        guard let number = JSONNumber.parse(err) else {
            throw .malformed(format: .atlasJSON, reason: "\(field) is '\(err.prefix(20))': none of N, H, A, P, p, h or an ICMP code")
        }
        return UnreachableCode(family: family, code: try check.integer(number, field, in: 0...255))
    }

    static func addPing(_ record: Record, to group: inout Group, place: String, check: ImportCheck, budget: inout Int) throws(ImportError) {
        guard let replies = record.replies?.elements else {
            throw .malformed(format: .atlasJSON, reason: "\(place)result is missing: a ping result lists its packets")
        }
        let defaultTTL = try record.ttl.map { v throws(ImportError) in try check.integer(v.value, "\(place)ttl", in: 0...255) }
        let counted = replies.filter { !$0.isExtra }
        guard counted.count <= budget else {
            throw .valueOutOfRange(format: .atlasJSON, field: "\(place)result", value: "more than \(ImportLimits.maximumListEntries) packets in all", allowed: "at most \(ImportLimits.maximumListEntries)")
        }
        budget -= counted.count
        for (index, reply) in replies.enumerated() where !reply.isExtra {
            let field = "\(place)result[\(index)]"
            let probeIndex = group.pingProbes.count
            if let error = reply.error {
                group.pingProbes.append(PingProbe(index: probeIndex, sequence: UInt16(truncatingIfNeeded: probeIndex), status: .sendFailed, error: String(error.value.prefix(200))))
                continue
            }
            guard let rttValue = reply.rtt else {
                group.pingProbes.append(PingProbe(index: probeIndex, sequence: UInt16(truncatingIfNeeded: probeIndex), status: .timedOut))
                continue
            }
            let rtt = try check.number(rttValue.value, "\(field).rtt", in: ImportLimits.milliseconds)
            let ttl = try reply.ttl.map { v throws(ImportError) in try check.integer(v.value, "\(field).ttl", in: 0...255) } ?? defaultTTL
            group.pingProbes.append(PingProbe(index: probeIndex, sequence: UInt16(truncatingIfNeeded: probeIndex), status: .received,
                                              rttNanoseconds: Int64((rtt * 1_000_000).rounded()), replyTTL: ttl))
        }
    }
}
