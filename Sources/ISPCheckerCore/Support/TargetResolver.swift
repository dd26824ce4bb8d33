import CProbe
import Dispatch
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Turns a user-supplied target into an address, with errors that say what was wrong.
///
/// Syntax is checked before any resolver is asked, so that malformed input such as
/// `999.1.1.1` or `host name` never produces a DNS query.
package enum TargetResolver {
    package static func resolve(_ target: String, preference: FamilyPreference) async throws(ProbeError) -> IPAddress {
        let trimmed = target.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .emptyTarget }
        if let literal = IPAddress(stripBrackets(trimmed)) {
            if preference == .ipv4 && literal.family != .ipv4 || preference == .ipv6 && literal.family != .ipv6 {
                throw .invalidArgument(name: "family", reason: "\(trimmed) is \(literal.family) but \(preference.rawValue) was asked for")
            }
            return literal
        }
        try validateHostName(trimmed)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<IPAddress, ProbeError>, Never>) in
            // getaddrinfo blocks: keep it off the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(returning: lookUp(trimmed, preference: preference))
            }
        }
        return try result.get()
    }

    static func stripBrackets(_ text: String) -> String {
        if text.hasPrefix("["), text.hasSuffix("]") { return String(text.dropFirst().dropLast()) }
        return text
    }

    /// RFC 1123 host name syntax: labels of letters, digits and hyphens, 1-63 characters,
    /// not starting or ending with a hyphen, 253 characters in all; an all-numeric name
    /// is a malformed address, not a name.
    static func validateHostName(_ name: String) throws(ProbeError) {
        if name.contains(":") { throw .malformedTarget(name, reason: "not a valid IPv6 address") }
        let host = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard host.utf8.count <= 253 else { throw .malformedTarget(name, reason: "longer than 253 characters") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty else { throw .malformedTarget(name, reason: "empty label (two dots in a row?)") }
            guard label.utf8.count <= 63 else { throw .malformedTarget(name, reason: "label '\(label)' is longer than 63 characters") }
            guard label.utf8.allSatisfy({ isHostCharacter($0) }) else {
                throw .malformedTarget(name, reason: "'\(label)' holds a character not allowed in a host name")
            }
            guard label.first != "-", label.last != "-" else {
                throw .malformedTarget(name, reason: "label '\(label)' starts or ends with a hyphen")
            }
        }
        if labels.last.map({ $0.allSatisfy(\.isNumber) }) == true {
            throw .malformedTarget(name, reason: "not a valid IPv4 address")
        }
    }

    private static func isHostCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }

    private static func lookUp(_ name: String, preference: FamilyPreference) -> Result<IPAddress, ProbeError> {
        var hints = addrinfo()
        hints.ai_family = preference == .ipv4 ? AF_INET : preference == .ipv6 ? AF_INET6 : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == EAI_SYSTEM ? ProbeError.describe(errno: errno) : String(cString: gai_strerror(status))
            return .failure(.unresolvableTarget(name, reason: reason))
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = IPAddress(sockaddr: current.pointee.ai_addr) { return .success(address) }
            entry = current.pointee.ai_next
        }
        return .failure(.unresolvableTarget(name, reason: "no IPv4 or IPv6 address"))
    }
}

extension IPAddress {
    init?(sockaddr pointer: UnsafeMutablePointer<sockaddr>?) {
        guard let pointer else { return nil }
        var raw = cp_addr()
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(pointer).load(as: sockaddr_in.self)
            raw.family = AF_INET
            withUnsafeBytes(of: v4.sin_addr) { source in
                withUnsafeMutableBytes(of: &raw.bytes) { $0.copyMemory(from: source) }
            }
        case AF_INET6:
            let v6 = UnsafeRawPointer(pointer).load(as: sockaddr_in6.self)
            raw.family = AF_INET6
            raw.scope_id = v6.sin6_scope_id
            withUnsafeBytes(of: v6.sin6_addr) { source in
                withUnsafeMutableBytes(of: &raw.bytes) { $0.copyMemory(from: source) }
            }
        default:
            return nil
        }
        self.init(raw)
    }
}

