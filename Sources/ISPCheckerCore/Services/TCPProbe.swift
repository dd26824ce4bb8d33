import CServiceProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// How a TCP connect probe connects.
public struct TCPProbeOptions: Sendable {
    /// How long the handshake may take before the port counts as filtered (`timeout`).
    public var timeout: Duration
    /// Which family to use when a name resolves to both.
    public var family: FamilyPreference
    /// Network namespace to connect from; `nil` for the caller's own. Names are resolved by
    /// the system resolver of the calling process, before entering it.
    public var networkNamespace: String?

    public init(timeout: Duration = .seconds(3), family: FamilyPreference = .any, networkNamespace: String? = nil) {
        self.timeout = timeout
        self.family = family
        self.networkNamespace = networkNamespace
    }

    public static let `default` = TCPProbeOptions()
}

/// Opens a TCP connection (SYN, SYN-ACK, ACK) and closes it without sending data.
public struct TCPProbe: Sendable {
    public var options: TCPProbeOptions

    public init(options: TCPProbeOptions = .default) { self.options = options }

    /// Connects to `host:port` (`[v6]:port` for IPv6 literals).
    public func connect(_ target: String) async throws(ProbeError) -> TCPResult {
        let (host, port) = try TCPTarget.split(target)
        return try await connect(host: host, port: port)
    }

    public func connect(host: String, port: Int) async throws(ProbeError) -> TCPResult {
        guard (1...65535).contains(port) else { throw .invalidArgument(name: "port", reason: "must be 1-65535, got \(port)") }
        guard options.timeout.isPositive else { throw .invalidArgument(name: "timeout", reason: "must be > 0") }
        let address = try await TargetResolver.resolve(host, preference: options.family)
        let timeoutMs = options.timeout.clampedMilliseconds
        return try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
            var elapsed: Int64 = 0
            let status = cs_tcp_connect(address.description, UInt16(port), timeoutMs, cancel, &elapsed)
            if status == -ECANCELED { return .failure(.cancelled) }
            let outcome: ServiceOutcome = status == 0 ? .ok : ServiceOutcome(errno: -status)
            let error: String? = status == 0 ? nil
                : status == -ETIMEDOUT ? "no answer within \(timeoutMs) ms (filtered?)" : ProbeError.describe(errno: -status)
            return .success(TCPResult(host: host, port: port, address: address, outcome: outcome,
                                      connectNanoseconds: status == -ETIMEDOUT ? nil : elapsed, error: error))
        }
    }
}

package enum TCPTarget {
    /// `host:port`, `[v6]:port`.
    package static func split(_ target: String) throws(ProbeError) -> (String, Int) {
        let trimmed = target.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw malformed(target, "empty") }
        guard let colon = trimmed.lastIndex(of: ":") else { throw malformed(target, "no port") }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw malformed(target, "missing ']'") }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw malformed(target, "write IPv6 addresses in brackets")
        }
        guard !host.isEmpty else { throw malformed(target, "no host") }
        guard let port = Int(trimmed[trimmed.index(after: colon)...]) else { throw malformed(target, "port is not a number") }
        return (host, port)
    }

    /// A target that is not `host:port`, with the form to give instead.
    private static func malformed(_ target: String, _ reason: String) -> ProbeError {
        .malformedTarget(target, reason: "\(reason); give host:port, e.g. example.net:443 or [fd00::1]:443")
    }
}
