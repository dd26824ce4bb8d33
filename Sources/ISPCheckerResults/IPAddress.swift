import ISPCheckerPrimitives

#if canImport(Glibc)
import Glibc
#endif

/// Which address family a probe should use when a name resolves to both.
public enum FamilyPreference: String, Sendable, Codable {
    case any, ipv4, ipv6
}

/// IPv4 or IPv6.
public enum IPFamily: String, Sendable, Codable, CodingKeyRepresentable, CustomStringConvertible {
    case ipv4
    case ipv6

    public var description: String { rawValue == "ipv4" ? "IPv4" : "IPv6" }

    package var posixValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }

    package init?(posix: Int32) {
        switch posix {
        case AF_INET: self = .ipv4
        case AF_INET6: self = .ipv6
        default: return nil
        }
    }
}

/// An IPv4 or IPv6 address, a value type over the C core's `cp_addr`.
public struct IPAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public let family: IPFamily
    /// 4 bytes for IPv4, 16 for IPv6, network byte order.
    public let bytes: [UInt8]
    public let scopeID: UInt32

    /// Parses a numeric literal (`192.0.2.1`, `2001:db8::1`, `fe80::1%eth0` or `%2`); returns
    /// nil for anything else (no DNS).
    public init?(_ text: String) {
        // A NUL would end the C string early ("192.0.2.1\0junk" is not an address).
        guard !text.utf8.contains(0) else { return nil }
        // By bytes, not characters (no grapheme breaking), and the C string of a native string
        // without a copy: a sweep parses every one of up to 65,536 targets this way.
        guard text.utf8.contains(UInt8(ascii: ":")) else {
            var address = in_addr()
            guard text.withCString({ inet_pton(AF_INET, $0, &address) }) == 1 else { return nil }
            self.init(family: .ipv4, bytes: withUnsafeBytes(of: &address) { Array($0) })
            return
        }
        var storage = [UInt8](repeating: 0, count: 16)
        let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, parts[0].utf8.count < INET6_ADDRSTRLEN,
              inet_pton(AF_INET6, String(parts[0]), &storage) == 1 else { return nil }
        var scope: UInt32 = 0
        if parts.count == 2 {
            let zone = String(parts[1])
            guard !zone.isEmpty, zone.utf8.count < IF_NAMESIZE else { return nil }
            scope = zone.utf8.allSatisfy({ (0x30...0x39).contains($0) }) ? UInt32(zone) ?? 0 : if_nametoindex(zone)
            guard scope != 0 else { return nil }
        }
        self.init(family: .ipv6, bytes: storage, scopeID: scope)
    }

    /// An address from its bytes in network order (4 for IPv4, 16 for IPv6).
    package init(family: IPFamily, bytes: [UInt8], scopeID: UInt32 = 0) {
        self.family = family
        self.bytes = bytes
        self.scopeID = scopeID
    }

    /// The literal `init(_:)` parses: dotted quad, RFC 5952 IPv6, with `%zone` (the interface's
    /// name, else its index) when scoped.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard bytes.count == (family == .ipv4 ? 4 : 16),
              inet_ntop(family.posixValue, bytes, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        var text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if family == .ipv6, scopeID != 0 {
            var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE))
            text += "%" + (if_indextoname(scopeID, &name) != nil
                ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                : String(scopeID))
        }
        return text
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
