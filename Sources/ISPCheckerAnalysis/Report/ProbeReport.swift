import FoundationEssentials
import ISPCheckerResults

/// A probe's verdict, as the runbook writes it (`ok`, `warn`, `crit`). Ordered by badness.
public enum ProbeStatus: String, Sendable, Codable, Comparable, CaseIterable {
    case ok
    case warn
    case crit

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .warn: return 1
        case .crit: return 2
        }
    }

    public static func < (lhs: ProbeStatus, rhs: ProbeStatus) -> Bool { lhs.rank < rhs.rank }
}

/// A value in a probe's `details` object: the JSON scalars (and string lists) the runbook's
/// log patterns use. Encodes as the bare JSON value.
public enum DetailValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case strings([String])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Int.self) { self = .int(value); return }
        if let value = try? container.decode(Double.self) { self = .double(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([String].self) { self = .strings(value); return }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "a detail is a number, string, bool or list of strings")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .strings(let value): try container.encode(value)
        }
    }

    /// JSON does not tell `30` from `30.0`, so neither does equality: `.int(30) == .double(30)`.
    /// (A saved report decodes a whole-number double as `.int`.)
    public static func == (lhs: DetailValue, rhs: DetailValue) -> Bool {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.strings(let a), .strings(let b)): return a == b
        default: return false
        }
    }

    /// The value as a number, for metrics (`isp_checker_probe_details`) and rules.
    public var number: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        case .bool(let value): return value ? 1 : 0
        case .string, .strings: return nil
        }
    }

    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return value
        case .bool(let value): return String(value)
        case .strings(let value): return value.joined(separator: ",")
        }
    }
}

/// One probe's entry in a run report: `{"name", "status", "details", "error"}` as in the
/// runbook's log patterns. Every probe (ping, traceroute, dns, http, tcp) reduces to this.
///
/// Detail keys are snake_case and carry their unit in the name. The keys rules and metrics rely on:
/// - ping: `target_ip`, `packets_sent`, `packets_received`, `packet_loss` (percent),
///   `latency_min_ms`, `latency_avg_ms`, `latency_max_ms`, `latency_mdev_ms`, `clock`
/// - traceroute: `hops`, `destination_reached`, `stop`, `target_ip`
/// - dns: `query`, `type`, `resolver` (the one that answered), `failed_resolvers`, `rcode`,
///   `latency_ms`, `answers`, `outcome`
/// - http: `url`, `status_code`, `dns_ms`, `connect_ms`, `tls_ms`, `ttfb_ms`, `total_ms`,
///   `redirects`, `bytes`, `tls_version`, `cert_days_left`, `outcome`
/// - tcp: `host`, `port`, `connect_ms`, `outcome`
///
/// `outcome` is one of: `ok`, `timeout`, `refused`, `network_unreachable`, `host_unreachable`,
/// `nxdomain`, `servfail`, `refused_query` (DNS REFUSED), `tls_error`, `http_error`, `error`.
public struct ProbeReport: Sendable, Codable, Equatable {
    public var name: String
    public var status: ProbeStatus
    /// The entry's numbers and words as the report's JSON carries them. Setting them sets
    /// `measurement` from them.
    public var details: [String: DetailValue] {
        didSet { measurement = ProbeMeasurement(name: name, details: details) }
    }
    /// What went wrong, in the runbook's words (`"100% packet loss"`, `"timeout: no nameservers responded"`).
    public var error: String?
    /// What analysis reads of the entry, typed (not encoded: `details` carry it).
    public private(set) var measurement: ProbeMeasurement

    /// An entry from its encoded form, as a saved report or a user's code gives it: the
    /// measurement is read from `details`.
    public init(name: String, status: ProbeStatus, details: [String: DetailValue] = [:], error: String? = nil) {
        self.name = name
        self.status = status
        self.details = details
        self.error = error
        measurement = ProbeMeasurement(name: name, details: details)
    }

    /// An entry a probe's typed result made: `details` are what the report will carry,
    /// `measurement` what analysis reads, both written from the same values.
    package init(name: String, status: ProbeStatus, measurement: ProbeMeasurement, details: [String: DetailValue],
                 error: String? = nil) {
        self.name = name
        self.status = status
        self.details = details
        self.error = error
        self.measurement = measurement
    }

    private enum CodingKeys: String, CodingKey { case name, status, details, error }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name),
                  status: try container.decode(ProbeStatus.self, forKey: .status),
                  details: try container.decode([String: DetailValue].self, forKey: .details),
                  error: try container.decodeIfPresent(String.self, forKey: .error))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(status, forKey: .status)
        try container.encode(details, forKey: .details)
        try container.encodeIfPresent(error, forKey: .error)
    }
}
