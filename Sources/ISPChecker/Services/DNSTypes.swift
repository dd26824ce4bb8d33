import CServiceProbe

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

    /// The types probes ask for most, named without ldns (which is loaded at the first query).
    private static let common: [(String, DNSRecordType)] = [
        ("A", .a), ("NS", .ns), ("CNAME", .cname), ("SOA", .soa), ("PTR", .ptr), ("MX", .mx), ("TXT", .txt),
        ("AAAA", .aaaa), ("SRV", .srv), ("HTTPS", .https),
    ]

    /// Parses a mnemonic ("AAAA", "txt", "TYPE99") or a number ("28").
    public init?(_ text: String) {
        let trimmed = text.trimmingWhitespace()
        if let number = UInt16(trimmed) { self.init(rawValue: number); return }
        let upper = trimmed.uppercased()
        if let known = Self.common.first(where: { $0.0 == upper }) { self = known.1; return }
        var value: UInt16 = 0
        guard !trimmed.isEmpty, cs_dns_type_number(upper, &value) == 0 else { return nil }
        self.init(rawValue: value)
    }

    public var description: String {
        if let known = Self.common.first(where: { $0.1 == self }) { return known.0 }
        var buffer = [CChar](repeating: 0, count: 32)
        guard cs_dns_type_name(rawValue, &buffer, buffer.count) == 0 else { return "TYPE\(rawValue)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
    var outcome: ServiceOutcome {
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
    public init(parsing text: String) throws(ServiceProbeError) {
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
        guard let address = IPAddress(host), cs_address_family(host) > 0 else {
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
}

/// RFC 1035 §2.3.4 name syntax: labels of 1-63 bytes, 253 bytes in all, printable ASCII
/// without spaces. Underscores and other printable characters are allowed (SRV, TXT owners);
/// "." alone is the root.
enum DNSNameSyntax {
    static func validate(_ name: String) throws(ServiceProbeError) -> String {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .emptyName }
        if trimmed == "." { return trimmed }
        let body = trimmed.hasSuffix(".") ? String(trimmed.dropLast()) : trimmed
        guard body.utf8.count <= 253 else { throw .malformedName(name, reason: "longer than 253 bytes") }
        for label in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .malformedName(name, reason: "empty label (two dots in a row?)") }
            guard label.utf8.count <= 63 else { throw .malformedName(name, reason: "label '\(label)' is longer than 63 bytes") }
            guard label.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x5c && $0 != 0x22 }) else {
                throw .malformedName(name, reason: "'\(label)' holds a space, a control character, a quote, a backslash or non-ASCII")
            }
        }
        return trimmed
    }
}
