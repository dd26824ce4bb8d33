import CServiceProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// How a DNS probe asks its resolvers.
public struct DNSProbeOptions: Sendable {
    /// Resolvers in failover order: the next is asked when one times out, is unreachable,
    /// answers SERVFAIL or REFUSED, or sends something that is not an answer to the query.
    public var resolvers: [DNSResolverAddress]
    /// How long one resolver gets, UDP and the TCP retry together.
    public var timeoutPerResolver: Duration
    /// The EDNS(0) UDP payload size offered (RFC 6891); `nil` sends no OPT record, so answers
    /// over 512 bytes come back truncated and are fetched again over TCP.
    public var ednsUDPPayloadBytes: UInt16?
    /// The RD bit: ask for recursion (true for resolvers, false to ask an authoritative server).
    public var recursionDesired: Bool
    /// Whether an NXDOMAIN also moves on to the next resolver (by default it is an answer:
    /// the name does not exist).
    public var failoverOnNXDOMAIN: Bool
    /// Network namespace to send from (a name under /var/run/netns or a path); `nil` for the
    /// caller's own.
    public var networkNamespace: String?

    public init(resolvers: [DNSResolverAddress] = DNSResolverAddress.runbookDefault,
                timeoutPerResolver: Duration = .seconds(2), ednsUDPPayloadBytes: UInt16? = 1232,
                recursionDesired: Bool = true, failoverOnNXDOMAIN: Bool = false, networkNamespace: String? = nil) {
        self.resolvers = resolvers
        self.timeoutPerResolver = timeoutPerResolver
        self.ednsUDPPayloadBytes = ednsUDPPayloadBytes
        self.recursionDesired = recursionDesired
        self.failoverOnNXDOMAIN = failoverOnNXDOMAIN
        self.networkNamespace = networkNamespace
    }

    /// The runbook's resolvers, 2 s each, EDNS with 1232 bytes (the DNS flag day 2020 value).
    public static let `default` = DNSProbeOptions()
}

/// Queries resolvers directly, over UDP with a TCP retry on truncation, never through the
/// system's stub resolver. Messages are built and parsed by ldns.
///
/// ```swift
/// let probe = DNSProbe(options: DNSProbeOptions(resolvers: [try DNSResolverAddress(parsing: "10.0.0.53")]))
/// let result = try await probe.query("example.net", type: .aaaa)
/// print(result.answeredBy, result.answers, result.report.status)
/// ```
public struct DNSProbe: Sendable {
    public var options: DNSProbeOptions

    public init(options: DNSProbeOptions = .default) { self.options = options }

    /// Asks the resolvers in order until one answers (NOERROR, or NXDOMAIN unless
    /// `failoverOnNXDOMAIN`). A resolver that fails is a recorded attempt, not an error:
    /// errors are only for bad input and cancellation.
    public func query(_ name: String, type: DNSRecordType = .a) async throws(ProbeError) -> DNSResult {
        let name = try DNSNameSyntax.validate(name)
        guard !options.resolvers.isEmpty else { throw .invalidArgument(name: "resolvers", reason: "give at least one resolver") }
        guard options.timeoutPerResolver.isPositive else { throw .invalidArgument(name: "timeout", reason: "must be > 0") }
        if let size = options.ednsUDPPayloadBytes, size < 512 {
            throw .invalidArgument(name: "EDNS UDP payload size", reason: "must be at least 512 bytes (RFC 6891 §6.2.5), got \(size)")
        }
        var attempts: [DNSResolverAttempt] = []
        for resolver in options.resolvers {
            let attempt = try await ask(resolver, name: name, type: type)
            attempts.append(attempt)
            if attempt.isAnswer(failoverOnNXDOMAIN: options.failoverOnNXDOMAIN) { break }
        }
        return DNSResult(name: name, type: type, attempts: attempts, failoverOnNXDOMAIN: options.failoverOnNXDOMAIN)
    }

    /// One query to one resolver, on a thread of its own.
    func ask(_ resolver: DNSResolverAddress, name: String, type: DNSRecordType) async throws(ProbeError) -> DNSResolverAttempt {
        let (edns, rd, timeoutMs) = (options.ednsUDPPayloadBytes ?? 0, options.recursionDesired, options.timeoutPerResolver.clampedMilliseconds)
        return try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
            DNSExchange.run(resolver: resolver, name: name, type: type, edns: edns, recursionDesired: rd,
                            timeoutMilliseconds: timeoutMs, cancelDescriptor: cancel)
        }
    }
}

/// The blocking part of one attempt: build, exchange, parse.
enum DNSExchange {
    static func run(resolver: DNSResolverAddress, name: String, type: DNSRecordType, edns: UInt16, recursionDesired: Bool,
                    timeoutMilliseconds: Int32, cancelDescriptor: Int32) -> Result<DNSResolverAttempt, ProbeError> {
        var query = [UInt8](repeating: 0, count: 512)
        var queryLength = 0
        let id = UInt16.random(in: 0...UInt16.max)
        let built = cs_dns_build_query(name, type.rawValue, id, edns, recursionDesired ? 1 : 0, &query, query.count, &queryLength)
        if built == -ELIBACC { return .failure(.libraryMissing) }
        guard built == 0 else { return .failure(.malformedName(name, reason: "ldns cannot encode it (\(ProbeError.describe(errno: -built)))")) }

        var response = [UInt8](repeating: 0, count: Int(CS_DNS_MAX_MESSAGE))
        var responseLength = 0
        var info = cs_dns_exchange_info()
        let exchanged = cs_dns_exchange(resolver.address.description, resolver.port, query, queryLength, timeoutMilliseconds,
                                        cancelDescriptor, &response, response.count, &responseLength, &info)
        var attempt = DNSResolverAttempt(resolver: resolver, outcome: .ok, latencyNanoseconds: info.latency_ns,
                                         transport: info.used_tcp != 0 ? .tcp : .udp, truncatedOverUDP: info.truncated != 0)
        if exchanged == -ECANCELED { return .failure(.cancelled) }
        guard exchanged == 0 else {
            attempt.outcome = ServiceOutcome(errno: -exchanged)
            attempt.error = exchanged == -ETIMEDOUT ? "no answer within \(timeoutMilliseconds) ms" : ProbeError.describe(errno: -exchanged)
            attempt.latencyNanoseconds = exchanged == -ETIMEDOUT ? nil : info.latency_ns
            return .success(attempt)
        }

        var header = cs_dns_response_info()
        var records = [CChar](repeating: 0, count: 256 * 1024)
        var recordsLength = 0
        let parsed = response.withUnsafeBufferPointer { buffer in
            cs_dns_parse_response(buffer.baseAddress, responseLength, name, type.rawValue, &header, &records, records.count, &recordsLength)
        }
        guard parsed == 0 || parsed == -ENOBUFS else {
            attempt.outcome = .error
            attempt.error = "malformed response (\(responseLength) bytes)"
            return .success(attempt)
        }
        guard header.question_matches != 0 else {
            attempt.outcome = .error
            attempt.error = "the response's question is not the one asked"
            return .success(attempt)
        }
        let code = DNSResponseCode(rawValue: header.rcode)
        attempt.responseCode = code
        attempt.outcome = code.outcome
        attempt.authoritative = header.authoritative != 0
        attempt.records = decodeRecords(records, length: recordsLength)
        if code.outcome == .error { attempt.error = "resolver answered \(code)" }
        return .success(attempt)
    }

    /// Splits the C side's NUL-terminated "owner\tTYPE\tTTL\trdata" lines.
    static func decodeRecords(_ buffer: [CChar], length: Int) -> [DNSRecord] {
        let bytes = buffer.prefix(length).map { UInt8(bitPattern: $0) }
        return bytes.split(separator: 0).compactMap { line -> DNSRecord? in
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let type = DNSRecordType(String(decoding: fields[1], as: UTF8.self)),
                  let ttl = UInt32(String(decoding: fields[2], as: UTF8.self)) else { return nil }
            return DNSRecord(name: String(decoding: fields[0], as: UTF8.self), type: type, ttlSeconds: ttl,
                             data: String(decoding: fields[3], as: UTF8.self))
        }
    }
}
