import ISPCheckerPrimitives

/// What one resolver did with the query.
public struct DNSResolverAttempt: Sendable, Codable, Equatable {
    public enum Transport: String, Sendable, Codable { case udp, tcp }

    public var resolver: DNSResolverAddress
    /// `ok`, `nxdomain`, `servfail`, `refused_query`, `timeout`, `network_unreachable`,
    /// `host_unreachable`, `refused` (ICMP port unreachable / TCP RST) or `error`.
    public var outcome: ServiceOutcome
    /// Send to answer (both legs when the answer came over TCP); also the time until an
    /// ICMP error arrived. `nil` on timeout.
    public var latencyNanoseconds: Int64?
    public var transport: Transport
    /// The UDP answer had TC set, so the query was repeated over TCP.
    public var truncatedOverUDP: Bool
    /// The RCODE, when a response was parsed.
    public var responseCode: DNSResponseCode?
    public var authoritative: Bool = false
    /// The answer section.
    public var records: [DNSRecord] = []
    /// What went wrong, when `outcome` is not `ok`/`nxdomain`.
    public var error: String?

    public var latencyMilliseconds: Double? { latencyNanoseconds.map { roundedMilliseconds(nanoseconds: $0) } }

    /// snake_case, like every JSON isp-checker writes (docs/dns.schema.json, `result`).
    enum CodingKeys: String, CodingKey {
        case resolver, outcome, transport, authoritative, records, error
        case latencyNanoseconds = "latency_nanoseconds"
        case truncatedOverUDP = "truncated_over_udp"
        case responseCode = "response_code"
    }

    package init(resolver: DNSResolverAddress, outcome: ServiceOutcome, latencyNanoseconds: Int64?, transport: Transport, truncatedOverUDP: Bool) {
        self.resolver = resolver
        self.outcome = outcome
        self.latencyNanoseconds = latencyNanoseconds
        self.transport = transport
        self.truncatedOverUDP = truncatedOverUDP
    }

    /// Whether this attempt ends the failover: the resolver gave an answer.
    package func isAnswer(failoverOnNXDOMAIN: Bool) -> Bool {
        outcome == .ok || (outcome == .nxdomain && !failoverOnNXDOMAIN)
    }
}

/// The result of a DNS probe: every resolver asked, in order, and which one answered.
public struct DNSResult: Sendable, Codable, Equatable {
    public var name: String
    public var type: DNSRecordType
    public var attempts: [DNSResolverAttempt]
    /// The resolver whose answer counts (NOERROR or NXDOMAIN), if any did.
    public var answeredBy: DNSResolverAddress?
    /// Every resolver asked before the answer that did not answer (or all, when none did).
    public var failedResolvers: [DNSResolverAddress]

    enum CodingKeys: String, CodingKey {
        case name, type, attempts
        case answeredBy = "answered_by"
        case failedResolvers = "failed_resolvers"
    }

    package init(name: String, type: DNSRecordType, attempts: [DNSResolverAttempt], failoverOnNXDOMAIN: Bool) {
        self.name = name
        self.type = type
        self.attempts = attempts
        let answer = attempts.last.flatMap { $0.isAnswer(failoverOnNXDOMAIN: failoverOnNXDOMAIN) ? $0 : nil }
        answeredBy = answer?.resolver
        failedResolvers = (answer == nil ? attempts : attempts.dropLast()).map(\.resolver)
    }

    /// The attempt whose answer counts.
    public var answer: DNSResolverAttempt? { answeredBy == nil ? nil : attempts.last }

    /// The answer's records of the type asked (`10.0.0.1` for A), in answer order; CNAMEs
    /// on the way are in `answer?.records`.
    public var answers: [String] { answer?.records.filter { $0.type == type }.map(\.data) ?? [] }

    /// The answer's outcome, or when no resolver answered one outcome for all: theirs when
    /// they agree, else the first that got a response (SERVFAIL tells more than silence),
    /// else the first resolver's.
    public var outcome: ServiceOutcome {
        if let answer { return answer.outcome }
        let outcomes = attempts.map(\.outcome)
        if let first = outcomes.first, outcomes.allSatisfy({ $0 == first }) { return first }
        return attempts.first { $0.responseCode != nil }?.outcome ?? outcomes.first ?? .error
    }
}
