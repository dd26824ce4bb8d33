import CServiceProbe

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
    public func connect(_ target: String) async throws(ServiceProbeError) -> TCPResult {
        let (host, port) = try TCPTarget.split(target)
        return try await connect(host: host, port: port)
    }

    public func connect(host: String, port: Int) async throws(ServiceProbeError) -> TCPResult {
        guard (1...65535).contains(port) else { throw .invalidArgument(name: "port", reason: "must be 1-65535, got \(port)") }
        guard options.timeout.isPositive else { throw .invalidArgument(name: "timeout", reason: "must be > 0") }
        let address: IPAddress
        do { address = try await TargetResolver.resolve(host, preference: options.family) } catch {
            throw ServiceProbeError(error, target: host)
        }
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

enum TCPTarget {
    /// `host:port`, `[v6]:port`.
    static func split(_ target: String) throws(ServiceProbeError) -> (String, Int) {
        let trimmed = target.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .malformedTarget(target, reason: "empty") }
        guard let colon = trimmed.lastIndex(of: ":") else { throw .malformedTarget(target, reason: "no port") }
        var host = String(trimmed[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw .malformedTarget(target, reason: "missing ']'") }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw .malformedTarget(target, reason: "write IPv6 addresses in brackets")
        }
        guard !host.isEmpty else { throw .malformedTarget(target, reason: "no host") }
        guard let port = Int(trimmed[trimmed.index(after: colon)...]) else { throw .malformedTarget(target, reason: "port is not a number") }
        return (host, port)
    }
}

/// The result of a TCP connect probe.
public struct TCPResult: Sendable, Codable, Equatable {
    public var host: String
    public var port: Int
    public var address: IPAddress
    /// `ok` (connected), `refused` (RST), `timeout` (no answer: filtered), `network_unreachable`,
    /// `host_unreachable` (ICMP errors or no route), or `error`.
    public var outcome: ServiceOutcome
    /// connect() to the end of the handshake, or to the RST/ICMP error; `nil` on timeout.
    public var connectNanoseconds: Int64?
    public var error: String?

    public var connectMilliseconds: Double? { connectNanoseconds.map { roundedMilliseconds(nanoseconds: $0) } }

    /// snake_case, like every JSON isp-checker writes (docs/tcp.schema.json, `result`).
    enum CodingKeys: String, CodingKey {
        case host, port, address, outcome, error
        case connectNanoseconds = "connect_nanoseconds"
    }

    /// ok when connected, crit otherwise.
    public var status: ProbeStatus { outcome == .ok ? .ok : .crit }

    /// The runbook's `tcp` probe entry.
    public var report: ProbeReport {
        var details: [String: DetailValue] = [
            "host": .string(host), "port": .int(port), "address": .string(address.description),
            "outcome": .string(outcome.rawValue),
        ]
        if let ms = connectMilliseconds { details["connect_ms"] = .double(ms) }
        return ProbeReport(name: "tcp", status: status, details: details,
                           error: error.map { "\(outcome.rawValue): \($0)" })
    }
}
