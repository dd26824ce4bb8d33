import ISPCheckerPrimitives

/// A DNS record type by number (RFC 1035 §3.2.2 and later registries): `.a`, `.aaaa`, or any
/// other as `DNSRecordType(rawValue: 65)`. Encodes as its mnemonic ("A", "TYPE65280").
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    public static let https = DNSRecordType(rawValue: 65)

    public static let ptr = DNSRecordType(rawValue: 12)

    /// The mnemonics of the IANA registry, as ldns names them (so a name parses without loading
    /// ldns); any other type is written `TYPEn` (RFC 3597 §5).
    private static let mnemonics: [(String, UInt16)] = [
        ("A", 1), ("NS", 2), ("MD", 3), ("MF", 4), ("CNAME", 5), ("SOA", 6), ("MB", 7), ("MG", 8), ("MR", 9),
        ("NULL", 10), ("WKS", 11), ("PTR", 12), ("HINFO", 13), ("MINFO", 14), ("MX", 15), ("TXT", 16), ("RP", 17),
        ("AFSDB", 18), ("X25", 19), ("ISDN", 20), ("RT", 21), ("NSAP", 22), ("NSAP-PTR", 23), ("SIG", 24),
        ("KEY", 25), ("PX", 26), ("GPOS", 27), ("AAAA", 28), ("LOC", 29), ("NXT", 30), ("EID", 31), ("NIMLOC", 32),
        ("SRV", 33), ("ATMA", 34), ("NAPTR", 35), ("KX", 36), ("CERT", 37), ("A6", 38), ("DNAME", 39), ("SINK", 40),
        ("OPT", 41), ("APL", 42), ("DS", 43), ("SSHFP", 44), ("IPSECKEY", 45), ("RRSIG", 46), ("NSEC", 47),
        ("DNSKEY", 48), ("DHCID", 49), ("NSEC3", 50), ("NSEC3PARAM", 51), ("TLSA", 52), ("SMIMEA", 53), ("HIP", 55),
        ("NINFO", 56), ("RKEY", 57), ("TALINK", 58), ("CDS", 59), ("CDNSKEY", 60), ("OPENPGPKEY", 61),
        ("CSYNC", 62), ("ZONEMD", 63), ("SVCB", 64), ("HTTPS", 65), ("SPF", 99), ("UINFO", 100), ("UID", 101),
        ("GID", 102), ("UNSPEC", 103), ("NID", 104), ("L32", 105), ("L64", 106), ("LP", 107), ("EUI48", 108),
        ("EUI64", 109), ("TKEY", 249), ("TSIG", 250), ("IXFR", 251), ("AXFR", 252), ("MAILB", 253), ("MAILA", 254),
        ("ANY", 255), ("URI", 256), ("CAA", 257), ("AVC", 258), ("DOA", 259), ("AMTRELAY", 260), ("TA", 32768),
        ("DLV", 32769),
    ]

    /// Parses a mnemonic ("AAAA", "txt"), the generic `TYPEn` (RFC 3597) or a number ("28").
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace()
        if let number = UInt16(trimmed) { self.init(rawValue: number); return }
        let upper = trimmed.uppercased()
        if let known = Self.mnemonics.first(where: { $0.0 == upper }) { self.init(rawValue: known.1); return }
        guard upper.hasPrefix("TYPE"), let number = UInt16(upper.dropFirst(4)) else { return nil }
        self.init(rawValue: number)
    }

    public var description: String {
        Self.mnemonics.first(where: { $0.1 == rawValue })?.0 ?? "TYPE\(rawValue)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = DNSRecordType(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a DNS type: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A DNS response code (RFC 1035 §4.1.1, RFC 6895). Encodes as its name ("NXDOMAIN").
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    private static let names = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]

    public var description: String {
        Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "RCODE\(rawValue)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if let index = Self.names.firstIndex(of: text) {
            self.init(rawValue: UInt16(index))
        } else if text.hasPrefix("RCODE"), let number = UInt16(text.dropFirst(5)) {
            self.init(rawValue: number)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RCODE: \(text)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The probe outcome this code stands for.
    package var outcome: ServiceOutcome {
        switch self {
        case .noError: return .ok
        case .nameError: return .nxdomain
        case .serverFailure: return .servfail
        case .refused: return .refusedQuery
        default: return .error
        }
    }
}

/// A resolver to ask: an IP address (never a name, so that asking it needs no other resolver)
/// and a port. Encodes as `10.0.0.53`, `10.0.0.53:5353` or `[fd00::53]:5353`.
public struct DNSResolverAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// Parses `IP`, `IP:port`, `[IPv6]` or `[IPv6]:port`.
    public init(parsing text: String) throws(ProbeError) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .invalidResolver(text, reason: "empty") }
        var host = trimmed
        var portText: Substring?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw .invalidResolver(text, reason: "missing ']'") }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .invalidResolver(text, reason: "expected ':port' after ']'") }
                portText = rest.dropFirst()
            }
        } else if trimmed.filter({ $0 == ":" }).count == 1, let colon = trimmed.firstIndex(of: ":") {
            host = String(trimmed[..<colon])
            portText = trimmed[trimmed.index(after: colon)...]
        }
        guard let address = IPAddress(host), address.scopeID == 0, !host.contains("%") else {
            throw .invalidResolver(text, reason: "'\(host)' is not an IP address (a resolver is given by address, not by name)")
        }
        var port: UInt16 = 53
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else { throw .invalidResolver(text, reason: "port must be 1-65535") }
            port = parsed
        }
        self.init(address: address, port: port)
    }

    public var description: String {
        if port == 53 { return address.description }
        return address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The runbook's failover order (§2.3): primary 8.8.8.8, 1.1.1.1; fallback 9.9.9.9,
    /// 208.67.222.222. Only a default for users: tests never send to these.
    public static let runbookDefault: [DNSResolverAddress] = ["8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222"].map {
        DNSResolverAddress(address: IPAddress($0)!)
    }
}

/// One record of an answer section, in presentation format.
public struct DNSRecord: Sendable, Codable, Equatable {
    public var name: String
    public var type: DNSRecordType
    public var ttlSeconds: UInt32
    /// The RDATA as a zone file writes it: `10.0.0.1`, `"text"`, `10 mail.example.net.`.
    public var data: String

    enum CodingKeys: String, CodingKey {
        case name, type, data
        case ttlSeconds = "ttl_seconds"
    }

    /// Every stored property, for the probes that build one.
    package init(name: String, type: DNSRecordType, ttlSeconds: UInt32, data: String) {
        self.name = name
        self.type = type
        self.ttlSeconds = ttlSeconds
        self.data = data
    }
}

/// RFC 1035 §2.3.4 name syntax: labels of 1-63 bytes, 253 bytes in all, printable ASCII
/// without spaces. Underscores and other printable characters are allowed (SRV, TXT owners);
/// "." alone is the root.
package enum DNSNameSyntax {
    package static func validate(_ name: String) throws(ProbeError) -> String {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .emptyName }
        if trimmed == "." { return trimmed }
        let body = trimmed.hasSuffix(".") ? String(trimmed.dropLast()) : trimmed
        guard body.utf8.count <= 253 else { throw .malformedName(name, reason: "longer than 253 bytes") }
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .malformedName(name, reason: "empty label (two dots in a row?)") }
            guard label.utf8.count <= 63 else { throw .malformedName(name, reason: "label '\(label)' is longer than 63 bytes") }
            guard label.utf8.allSatisfy({ (byte: UInt8) -> Bool in byte > 0x20 && byte < 0x7f && byte != 0x5c && byte != 0x22 }) else {
                throw .malformedName(name, reason: "'\(label)' holds a space, a control character, a quote, a backslash or non-ASCII")
            }
        }
        return trimmed
    }
}
