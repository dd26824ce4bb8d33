import ISPCheckerResults

/// What grading, scoring and diagnosis read of a probe's entry, typed.
///
/// A check fills it from the probe's typed result as it writes the entry's `details`; a saved
/// report gets it from its `details` (``init(name:details:)``, the one place that reads detail
/// keys back). Analysis never looks details up by key, so a renamed key or a misspelt outcome is
/// a compile error here, not a silent misgrade.
public enum ProbeMeasurement: Sendable, Equatable {
    case ping(Ping)
    case dns(DNS)
    case http(HTTP)
    case tcp(TCP)
    case trace(Trace)
    /// The path MTU probe (ProbeReport+PathMTU.swift).
    case pathMTU(PathMTU)
    /// The DNS interception and captive portal probes (ProbeReport+Interception.swift).
    case dnsInterception(DNSInterception)
    case captivePortal(CaptivePortal)
    /// The bufferbloat probe (ProbeReport+Bufferbloat.swift).
    case bufferbloat(Bufferbloat)
    /// The ECMP probe (ProbeReport+ECMP.swift).
    case ecmp(ECMP)
    /// A probe analysis does not know.
    case other

    /// Loss and latency of the echo requests to the target.
    public struct Ping: Sendable, Equatable {
        /// Percent; nil when the entry does not say (a ping that could not run).
        public var lossPercent: Double?
        public var latencyAvgMilliseconds: Double?
        public var latencyMaxMilliseconds: Double?
        public var sent: Int?
        public var received: Int?

        public init(lossPercent: Double?, latencyAvgMilliseconds: Double?, latencyMaxMilliseconds: Double? = nil,
                    sent: Int? = nil, received: Int? = nil) {
            self.lossPercent = lossPercent
            self.latencyAvgMilliseconds = latencyAvgMilliseconds
            self.latencyMaxMilliseconds = latencyMaxMilliseconds
            self.sent = sent
            self.received = received
        }
    }

    /// The traceroute's summary (its hops travel in the report's `trace`, which path analysis reads).
    public struct Trace: Sendable, Equatable {
        public var hops: Int?
        /// `destination_reached`, `unreachable !N`, `max_hops_reached`.
        public var stop: String?

        public init(hops: Int?, stop: String?) {
            self.hops = hops
            self.stop = stop
        }
    }

    /// How a name resolved.
    public struct DNS: Sendable, Equatable {
        /// The name asked for.
        public var query: String?
        public var outcome: ReportedOutcome?
        /// The response code behind the outcome ("NOERROR", "NXDOMAIN").
        public var responseCode: String?
        /// False for a name whose NXDOMAIN is the expected answer (details `must_resolve`).
        public var mustResolve: Bool
        public var latencyMilliseconds: Double?
        /// The resolvers that failed before one answered (or all of them).
        public var failedResolvers: [String]
        /// The resolver that answered.
        public var resolver: String?

        public init(query: String? = nil, outcome: ReportedOutcome?, responseCode: String? = nil, mustResolve: Bool = true,
                    latencyMilliseconds: Double? = nil, failedResolvers: [String] = [], resolver: String? = nil) {
            self.query = query
            self.outcome = outcome
            self.responseCode = responseCode
            self.mustResolve = mustResolve
            self.latencyMilliseconds = latencyMilliseconds
            self.failedResolvers = failedResolvers
            self.resolver = resolver
        }
    }

    /// How a fetch went, phase by phase.
    public struct HTTP: Sendable, Equatable {
        public var outcome: ReportedOutcome?
        public var statusCode: Int?
        public var connectMilliseconds: Double?
        public var tlsMilliseconds: Double?
        public var timeToFirstByteMilliseconds: Double?
        public var totalMilliseconds: Double?
        public var certificateDaysLeft: Double?

        public init(outcome: ReportedOutcome?, statusCode: Int? = nil, connectMilliseconds: Double? = nil,
                    tlsMilliseconds: Double? = nil, timeToFirstByteMilliseconds: Double? = nil,
                    totalMilliseconds: Double? = nil, certificateDaysLeft: Double? = nil) {
            self.outcome = outcome
            self.statusCode = statusCode
            self.connectMilliseconds = connectMilliseconds
            self.tlsMilliseconds = tlsMilliseconds
            self.timeToFirstByteMilliseconds = timeToFirstByteMilliseconds
            self.totalMilliseconds = totalMilliseconds
            self.certificateDaysLeft = certificateDaysLeft
        }
    }

    /// How a connection went.
    public struct TCP: Sendable, Equatable {
        public var outcome: ReportedOutcome?
        public var connectMilliseconds: Double?

        public init(outcome: ReportedOutcome?, connectMilliseconds: Double? = nil) {
            self.outcome = outcome
            self.connectMilliseconds = connectMilliseconds
        }
    }

    /// The `outcome` of a service probe: one of ``ServiceOutcome``, or, in a report from
    /// elsewhere, a word this version does not know (graded as a failure, never as `ok`).
    public enum ReportedOutcome: Sendable, Equatable, CustomStringConvertible {
        case known(ServiceOutcome)
        case unrecognized(String)

        public init(_ text: String) {
            self = ServiceOutcome(rawValue: text).map(ReportedOutcome.known) ?? .unrecognized(text)
        }

        public var description: String {
            switch self {
            case .known(let outcome): return outcome.rawValue
            case .unrecognized(let text): return text
            }
        }

        /// The exchange completed (`ok`).
        public var isOK: Bool { self == .known(.ok) }
    }
}

extension ProbeMeasurement {
    /// What a saved entry's `details` say, by the runbook's keys (`ProbeReport` lists them). The
    /// only reader of detail keys: everything else takes the typed measurement.
    public init(name: String, details: [String: DetailValue]) {
        func number(_ key: String) -> Double? { details[key]?.number }
        func text(_ key: String) -> String? { if case .string(let value) = details[key] { value } else { nil } }
        func texts(_ key: String) -> [String]? { if case .strings(let value) = details[key] { value } else { nil } }
        func whole(_ key: String) -> Int? { number(key).flatMap { Int(exactly: $0.rounded(.towardZero)) } }
        let outcome = text("outcome").map(ReportedOutcome.init)
        switch name {
        case ProbeName.ping:
            self = .ping(Ping(lossPercent: number("packet_loss"), latencyAvgMilliseconds: number("latency_avg_ms"),
                              latencyMaxMilliseconds: number("latency_max_ms"), sent: whole("packets_sent"),
                              received: whole("packets_received")))
        case ProbeName.traceroute:
            self = .trace(Trace(hops: whole("hops"), stop: text("stop")))
        case ProbeName.dns:
            let mustResolve: Bool = if case .bool(let value) = details["must_resolve"] { value } else { true }
            self = .dns(DNS(query: text("query"), outcome: outcome, responseCode: text("rcode"), mustResolve: mustResolve,
                            latencyMilliseconds: number("latency_ms"), failedResolvers: texts("failed_resolvers") ?? [],
                            resolver: details["resolver"]?.description))
        case ProbeName.http:
            // Int(exactly:): a report built in code is not range-checked like a decoded one, and
            // Int(_:) traps on a number no Int holds (1e300, NaN).
            self = .http(HTTP(outcome: outcome, statusCode: whole("status_code"),
                              connectMilliseconds: number("connect_ms"), tlsMilliseconds: number("tls_ms"),
                              timeToFirstByteMilliseconds: number("ttfb_ms"), totalMilliseconds: number("total_ms"),
                              certificateDaysLeft: number("cert_days_left")))
        case ProbeName.tcp:
            self = .tcp(TCP(outcome: outcome, connectMilliseconds: number("connect_ms")))
        case ProbeName.pathMTU:
            let blackHole: Bool = if case .bool(let value) = details["black_hole"] { value } else { false }
            self = .pathMTU(PathMTU(pathMTU: whole("path_mtu"), localMTU: whole("local_mtu"), smallestLostSize: whole("smallest_lost_size"),
                                    reportedMTU: whole("reported_mtu"), blackHole: blackHole, lastHopReached: whole("last_hop_reached"),
                                    lastHopReachedAddress: text("last_hop_reached_ip"), firstHopLost: whole("first_hop_lost"),
                                    firstHopLostAddress: text("first_hop_lost_ip")))
        case ProbeName.bufferbloat:
            self = Self.bufferbloat(details: details)
        case ProbeName.ecmp:
            self = Self.ecmp(details: details)
        default:
            self = Self.interception(name: name, details: details) ?? .other
        }
    }

    public var ping: Ping? { if case .ping(let value) = self { value } else { nil } }
    public var dns: DNS? { if case .dns(let value) = self { value } else { nil } }
    public var http: HTTP? { if case .http(let value) = self { value } else { nil } }
    public var tcp: TCP? { if case .tcp(let value) = self { value } else { nil } }

    /// The service outcome of a DNS, HTTP or TCP entry.
    public var outcome: ReportedOutcome? {
        switch self {
        case .dns(let value): return value.outcome
        case .http(let value): return value.outcome
        case .tcp(let value): return value.outcome
        case .ping, .trace, .pathMTU, .dnsInterception, .captivePortal, .bufferbloat, .ecmp, .other: return nil
        }
    }
}

// The newer probes' entries read back from their details: here, with every other read of a
// probe's details by key (the one place scripts/test.sh allows).
extension ProbeMeasurement {
    /// The typed entries of the two probes from their details (`init(name:details:)` calls it).
    static func interception(name: String, details: [String: DetailValue]) -> ProbeMeasurement? {
        func text(_ key: String) -> String? { if case .string(let value) = details[key] { value } else { nil } }
        func texts(_ key: String) -> [String] { if case .strings(let value) = details[key] { value } else { [] } }
        func flag(_ key: String) -> Bool? { if case .bool(let value) = details[key] { value } else { nil } }
        func whole(_ key: String) -> Int? { details[key]?.number.flatMap { Int(exactly: $0.rounded(.towardZero)) } }
        switch name {
        case ProbeName.dnsInterception:
            return .dnsInterception(DNSInterception(
                resolver: text("resolver"), identity: text("identity"), expectedIdentity: text("expected_identity"),
                canary: text("canary"), canaryAnswered: flag("canary_answered"), canaryIdentity: text("canary_identity"),
                checkedName: text("checked_name"), expectedAnswers: texts("expected_answers"), answers: texts("answers"),
                intercepted: flag("intercepted") ?? false, interceptingHop: whole("intercepting_hop")))
        case ProbeName.captivePortal:
            return .captivePortal(CaptivePortal(
                url: text("url"), expectedStatus: whole("expected_status"), statusCode: whole("status_code"),
                location: text("location"), title: text("title"), serverAddress: text("server_ip"),
                bodyMatched: flag("body_matched"), portal: flag("portal") ?? false))
        default:
            return nil
        }
    }

    /// The bufferbloat entry's details, read back (called from `init(name:details:)`).
    static func bufferbloat(details: [String: DetailValue]) -> ProbeMeasurement {
        func number(_ key: String) -> Double? { details[key]?.number }
        func text(_ key: String) -> String? { if case .string(let value) = details[key] { value } else { nil } }
        func whole(_ key: String) -> Int? { number(key).flatMap { Int(exactly: $0.rounded(.towardZero)) } }
        return .bufferbloat(Bufferbloat(idleMilliseconds: number("idle_rtt_ms"), uploadIncreaseMilliseconds: number("upload_increase_ms"),
                                        downloadIncreaseMilliseconds: number("download_increase_ms"), uploadKilobitsPerSecond: number("upload_kbit"),
                                        downloadKilobitsPerSecond: number("download_kbit"), responsivenessRPM: number("responsiveness_rpm"),
                                        idleRPM: number("idle_rpm"), worstDirection: text("worst_direction").flatMap(BufferbloatResult.Direction.init(rawValue:)),
                                        queueHop: whole("queue_hop"), queueHopAddress: text("queue_hop_ip"), riseHop: whole("rise_hop"),
                                        riseHopAddress: text("rise_hop_ip"), uploadError: text("upload_error"), downloadError: text("download_error")))
    }
}

extension ProbeMeasurement {
    /// The ECMP entry's details, read back (called from `init(name:details:)`).
    static func ecmp(details: [String: DetailValue]) -> ProbeMeasurement {
        func number(_ key: String) -> Double? { details[key]?.number }
        func text(_ key: String) -> String? { if case .string(let value) = details[key] { value } else { nil } }
        func texts(_ key: String) -> [String] { if case .strings(let value) = details[key] { value } else { [] } }
        func whole(_ key: String) -> Int? { number(key).flatMap { Int(exactly: $0.rounded(.towardZero)) } }
        let complete: Bool = if case .bool(let value) = details["complete"] { value } else { false }
        return .ecmp(ECMP(paths: whole("paths"), flowsProbed: whole("flows_probed"), complete: complete,
                          spread: text("loss_spread").flatMap(ECMP.Spread.init(rawValue:)), lossyHop: whole("lossy_hop"),
                          lossyHopAddress: text("lossy_hop_ip"), lossyPaths: whole("lossy_paths"),
                          lossyLossPercent: number("lossy_loss_percent"), lossySent: whole("lossy_sent"),
                          lossyReceived: whole("lossy_received"), cleanLossPercent: number("clean_loss_percent"),
                          cleanPathAddresses: texts("clean_path_ips"), pathSummaries: texts("path_summaries")))
    }
}
