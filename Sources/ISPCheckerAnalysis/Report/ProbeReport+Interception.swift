import ISPCheckerResults

extension ProbeName {
    /// The DNS interception probe (`DNSInterceptionProbe`), run when a check configures it.
    public static let dnsInterception = "dns_interception"
    /// The captive portal probe (`CaptivePortalProbe`), run when a check configures it.
    public static let captivePortal = "captive_portal"
}

extension ProbeMeasurement {
    /// What the DNS interception probe found (details `resolver`, `identity`,
    /// `expected_identity`, `canary`, `canary_answered`, `canary_identity`, `checked_name`,
    /// `expected_answers`, `answers`, `intercepted`, `intercepting_hop`).
    public struct DNSInterception: Sendable, Equatable {
        public var resolver: String?
        public var identity: String?
        public var expectedIdentity: String?
        public var canary: String?
        public var canaryAnswered: Bool?
        public var canaryIdentity: String?
        public var checkedName: String?
        public var expectedAnswers: [String]
        public var answers: [String]
        public var intercepted: Bool
        public var interceptingHop: Int?

        public init(resolver: String?, identity: String? = nil, expectedIdentity: String? = nil, canary: String? = nil,
                    canaryAnswered: Bool? = nil, canaryIdentity: String? = nil, checkedName: String? = nil,
                    expectedAnswers: [String] = [], answers: [String] = [], intercepted: Bool, interceptingHop: Int? = nil) {
            self.resolver = resolver
            self.identity = identity
            self.expectedIdentity = expectedIdentity
            self.canary = canary
            self.canaryAnswered = canaryAnswered
            self.canaryIdentity = canaryIdentity
            self.checkedName = checkedName
            self.expectedAnswers = expectedAnswers
            self.answers = answers
            self.intercepted = intercepted
            self.interceptingHop = interceptingHop
        }
    }

    /// What the captive portal probe found (details `url`, `expected_status`, `status_code`,
    /// `location`, `title`, `server_ip`, `body_matched`, `portal`).
    public struct CaptivePortal: Sendable, Equatable {
        public var url: String?
        public var expectedStatus: Int?
        public var statusCode: Int?
        public var location: String?
        public var title: String?
        public var serverAddress: String?
        public var bodyMatched: Bool?
        public var portal: Bool

        public init(url: String?, expectedStatus: Int? = nil, statusCode: Int? = nil, location: String? = nil, title: String? = nil,
                    serverAddress: String? = nil, bodyMatched: Bool? = nil, portal: Bool) {
            self.url = url
            self.expectedStatus = expectedStatus
            self.statusCode = statusCode
            self.location = location
            self.title = title
            self.serverAddress = serverAddress
            self.bodyMatched = bodyMatched
            self.portal = portal
        }
    }

    public var dnsInterception: DNSInterception? { if case .dnsInterception(let value) = self { value } else { nil } }
    public var captivePortal: CaptivePortal? { if case .captivePortal(let value) = self { value } else { nil } }

}

extension ProbeReport {
    /// The `dns_interception` entry: `warn` when something answers in the resolver's place
    /// (names still resolve, but not by the resolver asked: its answers, filtering and privacy
    /// are someone else's), `ok` otherwise.
    public init(dnsInterception result: DNSInterceptionResult) {
        var details: [String: DetailValue] = [
            "resolver": .string(result.resolver),
            "intercepted": .bool(result.intercepted),
            "duration_ms": .double(result.durationMilliseconds.roundedToMicro),
        ]
        if let value = result.identity { details["identity"] = .string(value) }
        if let value = result.expectedIdentity { details["expected_identity"] = .string(value) }
        if let value = result.canary { details["canary"] = .string(value) }
        if let value = result.canaryAnswered { details["canary_answered"] = .bool(value) }
        if let value = result.canaryIdentity { details["canary_identity"] = .string(value) }
        if let value = result.checkedName {
            details["checked_name"] = .string(value)
            details["expected_answers"] = .strings(result.expectedAnswers)
            details["answers"] = .strings(result.answers)
        }
        if let value = result.interceptingHop { details["intercepting_hop"] = .int(value) }
        let measured = ProbeMeasurement(name: ProbeName.dnsInterception, details: details)
        var error: String?
        if result.intercepted {
            error = "something between you and \(result.resolver) answers DNS in its place"
                + (result.interceptingHop.map { " (hop \($0))" } ?? "")
        }
        self.init(name: ProbeName.dnsInterception, status: result.intercepted ? .warn : .ok, measurement: measured,
                  details: details, error: error)
    }

    /// The `captive_portal` entry: `crit` when the check URL gets something other than its
    /// fixed answer (the network holds traffic until someone logs in), `warn` when no response
    /// came (the probe cannot tell), `ok` for the fixed answer.
    public init(captivePortal result: CaptivePortalResult) {
        var details: [String: DetailValue] = [
            "url": .string(result.url),
            "expected_status": .int(result.expectedStatus),
            "portal": .bool(result.portalDetected),
            "duration_ms": .double(result.durationMilliseconds.roundedToMicro),
        ]
        if let value = result.statusCode { details["status_code"] = .int(value) }
        if let value = result.location { details["location"] = .string(value) }
        if let value = result.title { details["title"] = .string(value) }
        if let value = result.serverAddress { details["server_ip"] = .string(value) }
        if let value = result.bodyMatched { details["body_matched"] = .bool(value) }
        let measured = ProbeMeasurement(name: ProbeName.captivePortal, details: details)
        let status: ProbeStatus
        var error: String?
        if result.portalDetected {
            status = .crit
            error = "\(result.url) answered \(result.statusCode.map(String.init) ?? "?") instead of \(result.expectedStatus)"
                + (result.location.map { ", redirecting to \($0)" } ?? "")
        } else if result.statusCode == nil {
            status = .warn
            error = result.error ?? "no response"
        } else {
            status = .ok
        }
        self.init(name: ProbeName.captivePortal, status: status, measurement: measured, details: details, error: error)
    }
}
