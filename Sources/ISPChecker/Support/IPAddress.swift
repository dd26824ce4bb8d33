import CProbe

#if canImport(Glibc)
import Glibc
#endif

/// IPv4 or IPv6.
public enum IPFamily: String, Sendable, Codable, CodingKeyRepresentable, CustomStringConvertible {
    case ipv4
    case ipv6

    public var description: String { rawValue == "ipv4" ? "IPv4" : "IPv6" }

    var posixValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }

    init?(posix: Int32) {
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

    /// Parses a numeric literal; returns nil for anything else (no DNS).
    public init?(_ text: String) {
        var raw = cp_addr()
        guard cp_addr_parse(text, &raw) == 0, let parsed = IPAddress(raw) else { return nil }
        self = parsed
    }

    init?(_ raw: cp_addr) {
        guard let family = IPFamily(posix: raw.family) else { return nil }
        self.family = family
        let all = withUnsafeBytes(of: raw.bytes) { Array($0) }
        self.bytes = Array(all.prefix(family == .ipv4 ? 4 : 16))
        self.scopeID = raw.scope_id
    }

    var raw: cp_addr {
        var value = cp_addr()
        value.family = family.posixValue
        value.scope_id = scopeID
        withUnsafeMutableBytes(of: &value.bytes) { dest in
            for (index, byte) in bytes.enumerated() { dest[index] = byte }
        }
        return value
    }

    public var description: String {
        var value = raw
        var buffer = [CChar](repeating: 0, count: 80)
        guard cp_addr_format(&value, &buffer, buffer.count) == 0 else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
