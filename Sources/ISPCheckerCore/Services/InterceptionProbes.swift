import CServiceProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// What the DNS interception probe compares. Only the identity query is always sent; the
/// canary and the known answers are checked when given (a user knows their resolver's identity
/// and data; isp-checker cannot guess them).
public struct DNSInterceptionOptions: Sendable {
    /// The resolver the client means to ask.
    public var resolver: DNSResolverAddress
    /// The identity it answers `id.server` / `hostname.bind` with (CH TXT, RFC 4892), when known.
    public var expectedIdentity: String?
    /// An address on the resolver's side that runs no resolver: any answer from it comes from
    /// something in between.
    public var canary: DNSResolverAddress?
    /// A name whose answers from the resolver are known, and those answers (A or AAAA data).
    public var checkedName: String?
    public var expectedAnswers: [String]
    /// Hop limits tried when locating an interceptor (1...32).
    public var maxHops: Int
    /// How long each query waits (the hop-limited queries wait this long together).
    public var timeout: Duration
    /// Network namespace to send from; `nil` for the caller's own.
    public var networkNamespace: String?

    public init(resolver: DNSResolverAddress, expectedIdentity: String? = nil, canary: DNSResolverAddress? = nil,
                checkedName: String? = nil, expectedAnswers: [String] = [], maxHops: Int = 16,
                timeout: Duration = .seconds(1), networkNamespace: String? = nil) {
        self.resolver = resolver
        self.expectedIdentity = expectedIdentity
        self.canary = canary
        self.checkedName = checkedName
        self.expectedAnswers = expectedAnswers
        self.maxHops = maxHops
        self.timeout = timeout
        self.networkNamespace = networkNamespace
    }
}

/// Looks for a middlebox that answers port 53 in the resolver's place (a DNAT to its own
/// resolver): identity queries, a canary address, known answers; when one of them shows it,
/// hop-limited queries find the nearest hop that answers. Costs one query (identity) plus one
/// per configured check; the hop search only runs when interception is seen.
public struct DNSInterceptionProbe: Sendable {
    public var options: DNSInterceptionOptions

    public init(options: DNSInterceptionOptions) { self.options = options }

    public func run() async throws(ProbeError) -> DNSInterceptionResult {
        let options = options
        guard (1...Int(CS_DNS_MAX_HOPS)).contains(options.maxHops) else {
            throw .invalidArgument(name: "max hops", reason: "must be 1-\(CS_DNS_MAX_HOPS)")
        }
        guard options.timeout.isPositive else { throw .invalidArgument(name: "timeout", reason: "must be > 0") }
        var validated: String?
        if let name = options.checkedName { validated = try DNSNameSyntax.validate(name) }
        let checkedName = validated
        if checkedName != nil, options.expectedAnswers.isEmpty {
            throw .invalidArgument(name: "expected answers", reason: "give the answers the resolver is known to give for \(checkedName ?? "")")
        }
        return try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
            InterceptionExchange.run(options, checkedName: checkedName, cancelDescriptor: cancel)
        }
    }
}

/// The blocking part of the DNS interception probe.
enum InterceptionExchange {
    /// A response, or why none came.
    enum Reply {
        case answered(records: [DNSRecord], code: DNSResponseCode)
        case none(ServiceOutcome)
        case cancelled
        case failed(ProbeError)
    }

    static func run(_ options: DNSInterceptionOptions, checkedName: String?, cancelDescriptor: Int32) -> Result<DNSInterceptionResult, ProbeError> {
        let started = ContinuousClock.now
        let timeoutMs = options.timeout.clampedMilliseconds
        var result = DNSInterceptionResult(resolver: options.resolver.description, expectedIdentity: options.expectedIdentity,
                                           canary: options.canary?.description, checkedName: checkedName,
                                           expectedAnswers: options.expectedAnswers.sorted(), durationMilliseconds: 0)
        switch identity(of: options.resolver, timeoutMs: timeoutMs, cancel: cancelDescriptor) {
        case .failure(let error): return .failure(error)
        case .success(let value): result.identity = value.identity
        }
        if let canary = options.canary {
            switch identity(of: canary, timeoutMs: timeoutMs, cancel: cancelDescriptor) {
            case .failure(let error): return .failure(error)
            case .success(let value):
                result.canaryAnswered = value.answered
                result.canaryIdentity = value.identity
            }
        }
        if let name = checkedName {
            let type: DNSRecordType = options.expectedAnswers.contains { $0.contains(":") } ? .aaaa : .a
            switch ask(options.resolver, name: name, type: type, qclass: UInt16(CS_DNS_CLASS_IN), timeoutMs: timeoutMs, cancel: cancelDescriptor) {
            case .cancelled: return .failure(.cancelled)
            case .failed(let error): return .failure(error)
            case .answered(let records, _): result.answers = records.filter { $0.type == type }.map(\.data).sorted()
            case .none: break
            }
        }
        if result.intercepted {
            // The canary when it answered (nothing should be there, so the nearest answer is the
            // interceptor's), else the resolver itself.
            let server = result.canaryAnswered == true ? options.canary ?? options.resolver : options.resolver
            switch nearestAnswer(server, maxHops: options.maxHops, timeoutMs: timeoutMs, cancel: cancelDescriptor) {
            case .failure(let error): return .failure(error)
            case .success(let hop):
                result.interceptingHop = hop
                result.hopsProbed = options.maxHops
            }
        }
        result.durationMilliseconds = (ContinuousClock.now - started).inMilliseconds
        return .success(result)
    }

    /// `id.server`, else `hostname.bind` (CH TXT): whether anything answered, and the first string.
    static func identity(of server: DNSResolverAddress, timeoutMs: Int32, cancel: Int32) -> Result<(answered: Bool, identity: String?), ProbeError> {
        var answered = false
        for name in ["id.server", "hostname.bind"] {
            switch ask(server, name: name, type: .txt, qclass: UInt16(CS_DNS_CLASS_CH), timeoutMs: timeoutMs, cancel: cancel) {
            case .cancelled: return .failure(.cancelled)
            case .failed(let error): return .failure(error)
            case .none: return .success((answered, nil))  // silence (or unreachable) will not change for the next name
            case .answered(let records, _):
                answered = true
                if let text = records.first(where: { $0.type == .txt }).map({ txtString($0.data) }), !text.isEmpty {
                    return .success((true, text))
                }
            }
        }
        return .success((answered, nil))
    }

    /// The first character-string of TXT presentation data (`"resolver-1" "x"` → `resolver-1`).
    static func txtString(_ data: String) -> String {
        guard data.hasPrefix("\"") else { return String(data.prefix { $0 != " " }) }
        var out = ""
        var escaped = false
        for character in data.dropFirst() {
            if escaped { out.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "\"" { break }
            out.append(character)
        }
        return out
    }

    static func ask(_ server: DNSResolverAddress, name: String, type: DNSRecordType, qclass: UInt16, timeoutMs: Int32, cancel: Int32) -> Reply {
        var query = [UInt8](repeating: 0, count: 512)
        var queryLength = 0
        let built = cs_dns_build_query_class(name, type.rawValue, qclass, UInt16.random(in: 0...UInt16.max), 1232, 1,
                                             &query, query.count, &queryLength)
        if built == -ELIBACC { return .failed(.libraryMissing) }
        guard built == 0 else { return .failed(.malformedName(name, reason: "ldns cannot encode it (\(ProbeError.describe(errno: -built)))")) }
        var response = [UInt8](repeating: 0, count: Int(CS_DNS_MAX_MESSAGE))
        var responseLength = 0
        var info = cs_dns_exchange_info()
        let exchanged = cs_dns_exchange(server.address.description, server.port, query, queryLength, timeoutMs, cancel,
                                        &response, response.count, &responseLength, &info)
        if exchanged == -ECANCELED { return .cancelled }
        guard exchanged == 0 else { return .none(ServiceOutcome(errno: -exchanged)) }
        var header = cs_dns_response_info()
        var records = [CChar](repeating: 0, count: 64 * 1024)
        var recordsLength = 0
        let parsed = response.withUnsafeBufferPointer { buffer in
            cs_dns_parse_response_class(buffer.baseAddress, responseLength, name, type.rawValue, qclass, &header,
                                        &records, records.count, &recordsLength)
        }
        // A response with the query's ID came: something answers there, even if what it says is
        // malformed or about another question.
        guard parsed == 0 || parsed == -ENOBUFS, header.question_matches != 0 else { return .answered(records: [], code: .formatError) }
        return .answered(records: DNSExchange.decodeRecords(records, length: recordsLength), code: DNSResponseCode(rawValue: header.rcode))
    }

    /// The smallest hop limit at which `id.server` to `server` is answered, nil when none is.
    static func nearestAnswer(_ server: DNSResolverAddress, maxHops: Int, timeoutMs: Int32, cancel: Int32) -> Result<Int?, ProbeError> {
        var query = [UInt8](repeating: 0, count: 512)
        var queryLength = 0
        let built = cs_dns_build_query_class("id.server", DNSRecordType.txt.rawValue, UInt16(CS_DNS_CLASS_CH),
                                             UInt16.random(in: 0...UInt16.max), 0, 1, &query, query.count, &queryLength)
        if built == -ELIBACC { return .failure(.libraryMissing) }
        guard built == 0 else { return .failure(.systemError(operation: "building the id.server query", errno: -built)) }
        var hops: Int32 = 0
        let rc = cs_dns_nearest_answer(server.address.description, server.port, query, queryLength, Int32(maxHops), timeoutMs, cancel, &hops)
        if rc == -ECANCELED { return .failure(.cancelled) }
        guard rc == 0 else { return .failure(.systemError(operation: "hop-limited DNS queries", errno: -rc)) }
        return .success(hops > 0 ? Int(hops) : nil)
    }
}

/// How the captive portal probe fetches its check URL.
public struct CaptivePortalOptions: Sendable {
    /// A URL whose answer is fixed (an http:// URL: a portal can only intercept plain HTTP
    /// without a certificate error).
    public var url: String
    /// The status it answers with (204 for an Android-style generate_204, 200 for a page).
    public var expectedStatus: Int
    /// Text the body must hold (Apple's hotspot-detect page says "Success"), when any.
    public var expectedBody: String?
    public var timeout: Duration
    public var family: FamilyPreference
    public var networkNamespace: String?

    public init(url: String, expectedStatus: Int = 204, expectedBody: String? = nil, timeout: Duration = .seconds(5),
                family: FamilyPreference = .any, networkNamespace: String? = nil) {
        self.url = url
        self.expectedStatus = expectedStatus
        self.expectedBody = expectedBody
        self.timeout = timeout
        self.family = family
        self.networkNamespace = networkNamespace
    }
}

/// One GET of the check URL, redirects not followed: the fixed answer, or what came instead
/// (status, Location, the page's title).
public struct CaptivePortalProbe: Sendable {
    public var options: CaptivePortalOptions

    public init(options: CaptivePortalOptions) { self.options = options }

    /// Body bytes read for the title and the expected text.
    static let bodyLimit = 64 * 1024

    public func run() async throws(ProbeError) -> CaptivePortalResult {
        let url = try HTTPURLSyntax.validate(options.url)
        let options = options
        guard (100...599).contains(options.expectedStatus) else { throw .invalidArgument(name: "expected status", reason: "must be 100-599") }
        guard options.timeout.isPositive else { throw .invalidArgument(name: "timeout", reason: "must be > 0") }
        return try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
            var raw = cs_http_result()
            var body = [UInt8](repeating: 0, count: Self.bodyLimit)
            var bodyLength = 0
            let status: Int32 = url.withCString { urlPointer in
                "isp-checker/0.1".withCString { agent in
                    var request = cs_http_request(url: urlPointer, head: 0, follow_redirects: 0, max_redirects: 0,
                                                  timeout_ms: options.timeout.clampedMilliseconds,
                                                  connect_timeout_ms: options.timeout.clampedMilliseconds, verify_peer: 1, ca_file: nil,
                                                  ip_version: options.family == .ipv4 ? 4 : options.family == .ipv6 ? 6 : 0, user_agent: agent)
                    return body.withUnsafeMutableBufferPointer { buffer in
                        cs_http_fetch(&request, cancel, buffer.baseAddress, buffer.count, &bodyLength, &raw)
                    }
                }
            }
            if status == -ECANCELED { return .failure(.cancelled) }
            if status == -ELIBACC { return .failure(.libraryMissing) }
            guard status == 0 else { return .failure(.systemError(operation: "curl transfer", errno: -status)) }
            let code = raw.status_code > 0 ? Int(raw.status_code) : nil
            let text = String(decoding: body.prefix(bodyLength), as: UTF8.self)
            let location = String(cTuple: raw.redirect_url)
            let server = String(cTuple: raw.primary_ip)
            var result = CaptivePortalResult(
                url: url, expectedStatus: options.expectedStatus, expectedBody: options.expectedBody, statusCode: code,
                location: location.isEmpty ? nil : location, title: CaptivePortalResult.title(ofHTML: text),
                serverAddress: server.isEmpty ? nil : server,
                bodyMatched: code == nil ? nil : options.expectedBody.map { text.contains($0) },
                durationMilliseconds: Double(raw.total_us) / 1000)
            if code == nil {
                let error = String(cTuple: raw.error)
                result.error = error.isEmpty ? "no response (curl code \(raw.curl_code))" : error
            }
            return .success(result)
        }
    }
}
