import ISPCheckerPrimitives

/// What an ICMP error quoted differently from the probe we sent: Dublin traceroute's way of
/// finding a NAT. A NAT that follows RFC 5508 §4.1 (Linux conntrack, most home routers)
/// translates the quoted packet back, so nothing differs; a stateless NAT44 or a carrier NAT that
/// does not leaves the translated source address and port in the quote, and the UDP / TCP
/// checksum that the pseudo-header change moved (RFC 1624), while the error itself comes back to
/// us. Each field is a separate fact.
public struct QuoteRewrite: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The quoted source address is not the one the probe left with.
    public static let sourceAddress = QuoteRewrite(rawValue: 1 << 0)
    /// The quoted UDP / TCP source port is not ours.
    public static let sourcePort = QuoteRewrite(rawValue: 1 << 1)
    /// The quoted UDP / TCP / ICMP checksum is not the one we sent (a translation of the
    /// address or port moves it; the quote stays self-consistent).
    public static let transportChecksum = QuoteRewrite(rawValue: 1 << 2)
    /// A time-exceeded quotes a TTL above 1: a middlebox rewrote the TTL on the way (the
    /// router that drops the probe quotes it as it arrived, TTL 1 or 0).
    public static let quotedTTL = QuoteRewrite(rawValue: 1 << 3)

    /// The facts that only an address or port translation explains.
    public static let translation: QuoteRewrite = [.sourceAddress, .sourcePort]

    /// The report's names, in this order (the JSON array and the evidence text).
    public static let names: [(QuoteRewrite, String)] = [
        (.sourceAddress, "source_address"), (.sourcePort, "source_port"),
        (.transportChecksum, "transport_checksum"), (.quotedTTL, "quoted_ttl"),
    ]

    /// What differs between the probe as sent and as quoted. `timeExceeded`: the quote comes
    /// from a time-exceeded (a destination's unreachable quotes the TTL left, not 1).
    public static func comparing(sent: SentProbeHeader, quoted: QuotedProbeHeader, timeExceeded: Bool) -> QuoteRewrite {
        var rewrite: QuoteRewrite = []
        if quoted.source != sent.source { rewrite.insert(.sourceAddress) }
        if let ours = sent.sourcePort, let theirs = quoted.sourcePort, ours != theirs { rewrite.insert(.sourcePort) }
        if let ours = sent.transportChecksum, let theirs = quoted.transportChecksum, ours != theirs { rewrite.insert(.transportChecksum) }
        if timeExceeded && quoted.ttl > 1 { rewrite.insert(.quotedTTL) }
        return rewrite
    }
}

extension QuoteRewrite: Codable {
    /// An array of names (`source_address`, `source_port`, `transport_checksum`, `quoted_ttl`);
    /// unknown names from a newer writer are ignored.
    public init(from decoder: any Decoder) throws {
        let names = try decoder.singleValueContainer().decode([String].self)
        self = []
        for (flag, name) in Self.names where names.contains(name) { insert(flag) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.names.filter { contains($0.0) }.map(\.1))
    }
}

/// The fields of a trace probe that a NAT may rewrite, as we sent it.
public struct SentProbeHeader: Sendable, Equatable {
    public var source: IPAddress
    /// UDP / TCP source port; nil for ICMP.
    public var sourcePort: UInt16?
    /// The UDP / TCP / ICMP checksum the probe carried.
    public var transportChecksum: UInt16?

    public init(source: IPAddress, sourcePort: UInt16?, transportChecksum: UInt16?) {
        self.source = source
        self.sourcePort = sourcePort
        self.transportChecksum = transportChecksum
    }
}

/// The same fields as an ICMP error quoted them, and the quoted TTL.
public struct QuotedProbeHeader: Sendable, Equatable {
    public var source: IPAddress
    public var sourcePort: UInt16?
    public var transportChecksum: UInt16?
    public var ttl: Int

    public init(source: IPAddress, sourcePort: UInt16?, transportChecksum: UInt16?, ttl: Int) {
        self.source = source
        self.sourcePort = sourcePort
        self.transportChecksum = transportChecksum
        self.ttl = ttl
    }
}

/// A hop whose ICMP errors quoted our probe rewritten: which fields, how many answers, and the
/// source as sent and as quoted (the latest answer's).
public struct HopQuoteRewrite: Sendable, Codable, Equatable {
    /// Every field any answer of the hop quoted differently.
    public var fields: QuoteRewrite
    /// Answers whose quote differed (of the hop's `received`).
    public var answers: Int
    public var sentSource: IPAddress
    public var sentSourcePort: UInt16?
    public var quotedSource: IPAddress
    public var quotedSourcePort: UInt16?

    enum CodingKeys: String, CodingKey {
        case fields, answers
        case sentSource = "sent_source"
        case sentSourcePort = "sent_source_port"
        case quotedSource = "quoted_source"
        case quotedSourcePort = "quoted_source_port"
    }

    public init(fields: QuoteRewrite, answers: Int, sentSource: IPAddress, sentSourcePort: UInt16?, quotedSource: IPAddress, quotedSourcePort: UInt16?) {
        self.fields = fields
        self.answers = answers
        self.sentSource = sentSource
        self.sentSourcePort = sentSourcePort
        self.quotedSource = quotedSource
        self.quotedSourcePort = quotedSourcePort
    }

    /// The address (and port, when rewritten) a translation gave our probe, e.g. "198.51.100.7:41008".
    public var quotedEndpoint: String { Self.endpoint(quotedSource, fields.contains(.sourcePort) ? quotedSourcePort : nil) }
    /// Our own, as sent, e.g. "10.99.1.1:33000".
    public var sentEndpoint: String { Self.endpoint(sentSource, fields.contains(.sourcePort) ? sentSourcePort : nil) }

    static func endpoint(_ address: IPAddress, _ port: UInt16?) -> String {
        guard let port else { return "\(address)" }
        return address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
