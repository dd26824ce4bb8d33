/// What the DNS interception probe found: whether something between the client and the
/// resolver it asked answers port 53 in the resolver's place, and where.
///
/// Three signals (each only when configured, except the identity, which is always asked):
/// the resolver's identity (`id.server`, else `hostname.bind`, class CH TXT, RFC 4892 §2)
/// differs from the one it is known to have; an address that runs no resolver (a canary)
/// answers anyway; the answer for a known name differs from the known data.
public struct DNSInterceptionResult: Sendable, Equatable, Codable {
    /// The resolver asked, as `address:port`.
    public var resolver: String
    /// The identity the resolver answered with (the TXT string), nil when it gave none.
    public var identity: String?
    /// The identity it is known to have, when configured.
    public var expectedIdentity: String?
    /// The address that runs no resolver, when configured.
    public var canary: String?
    /// Whether the canary answered (any DNS response counts: nothing should be there); nil when
    /// no canary was configured.
    public var canaryAnswered: Bool?
    /// The identity the canary's answerer gave, when it answered one.
    public var canaryIdentity: String?
    /// The name whose answer was compared, when configured.
    public var checkedName: String?
    /// The answers the resolver is known to give for `checkedName`.
    public var expectedAnswers: [String]
    /// The answers that came (of the name's A or AAAA type, sorted).
    public var answers: [String]
    /// The smallest hop limit at which a query was answered (the hop that intercepts), found
    /// by hop-limited queries when interception was seen; nil when not looked for or none answered.
    public var interceptingHop: Int?
    /// The hop count the trace found to the resolver, when it was the check's target (or the
    /// limit probed): an answer from a smaller hop limit is not the resolver's.
    public var hopsProbed: Int?
    public var durationMilliseconds: Double

    public init(resolver: String, identity: String? = nil, expectedIdentity: String? = nil, canary: String? = nil,
                canaryAnswered: Bool? = nil, canaryIdentity: String? = nil, checkedName: String? = nil,
                expectedAnswers: [String] = [], answers: [String] = [], interceptingHop: Int? = nil, hopsProbed: Int? = nil,
                durationMilliseconds: Double) {
        self.resolver = resolver
        self.identity = identity
        self.expectedIdentity = expectedIdentity
        self.canary = canary
        self.canaryAnswered = canaryAnswered
        self.canaryIdentity = canaryIdentity
        self.checkedName = checkedName
        self.expectedAnswers = expectedAnswers
        self.answers = answers
        self.interceptingHop = interceptingHop
        self.hopsProbed = hopsProbed
        self.durationMilliseconds = durationMilliseconds
    }

    /// An identity came and it is not the known one. No identity at all is no evidence: the
    /// resolver may be down, or refuse CH queries, and an interceptor that gives none is caught
    /// by the canary or the answers.
    public var identityMismatch: Bool {
        guard let expectedIdentity, let identity else { return false }
        return identity != expectedIdentity
    }

    /// The known name's answers differ from the known data (nil: not checked or nothing came).
    public var answersMismatch: Bool {
        guard checkedName != nil, !expectedAnswers.isEmpty, !answers.isEmpty else { return false }
        return Set(answers) != Set(expectedAnswers)
    }

    /// Something answers port 53 in the resolver's place.
    public var intercepted: Bool { canaryAnswered == true || identityMismatch || answersMismatch }
}

/// What the captive portal probe found: an HTTP GET of a URL whose answer is fixed (as the
/// operating systems' connectivity checks: a 204 with no body, or a known page) came back as
/// expected, or as something else, a redirect or a login page.
public struct CaptivePortalResult: Sendable, Equatable, Codable {
    public var url: String
    public var expectedStatus: Int
    /// Text the body must hold, when configured (for a check URL answering 200 with a page).
    public var expectedBody: String?
    /// The status that came; nil when no response came at all (the probe could not tell).
    public var statusCode: Int?
    /// Where a redirect points (its Location), when the answer was one.
    public var location: String?
    /// The `<title>` of the page that came, when it had one.
    public var title: String?
    /// The address curl connected to.
    public var serverAddress: String?
    /// Whether the body held `expectedBody` (nil when not configured or no body).
    public var bodyMatched: Bool?
    /// Why no response came, when none did.
    public var error: String?
    public var durationMilliseconds: Double

    public init(url: String, expectedStatus: Int, expectedBody: String? = nil, statusCode: Int?, location: String? = nil,
                title: String? = nil, serverAddress: String? = nil, bodyMatched: Bool? = nil, error: String? = nil,
                durationMilliseconds: Double) {
        self.url = url
        self.expectedStatus = expectedStatus
        self.expectedBody = expectedBody
        self.statusCode = statusCode
        self.location = location
        self.title = title
        self.serverAddress = serverAddress
        self.bodyMatched = bodyMatched
        self.error = error
        self.durationMilliseconds = durationMilliseconds
    }

    /// A response came and it is not the fixed one: something in the path answers for the site.
    public var portalDetected: Bool {
        guard let statusCode else { return false }
        return statusCode != expectedStatus || bodyMatched == false
    }

    /// The first `<title>…</title>` of an HTML page, whitespace collapsed, at most 200
    /// characters. Matched on bytes, ASCII case-insensitively, so no text can shift an index.
    public static func title(ofHTML html: String) -> String? {
        let bytes = Array(html.utf8)
        func find(_ needle: String, from: Int) -> Int? {
            let pattern = Array(needle.utf8)
            guard bytes.count >= pattern.count, from <= bytes.count - pattern.count else { return nil }
            for i in from...(bytes.count - pattern.count) {
                var hit = true
                for (j, p) in pattern.enumerated() {
                    var b = bytes[i + j]
                    if b >= 65 && b <= 90 { b += 32 }
                    if b != p { hit = false; break }
                }
                if hit { return i }
            }
            return nil
        }
        guard let open = find("<title", from: 0), let close = find(">", from: open),
              let end = find("</title", from: close + 1) else { return nil }
        let text = String(decoding: bytes[(close + 1)..<end], as: UTF8.self)
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" })
        let joined = words.joined(separator: " ")
        return joined.isEmpty ? nil : String(joined.prefix(200))
    }
}
