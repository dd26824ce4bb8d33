/// What the DNS interception probe of a check compares (`DNSInterceptionOptions`): its
/// resolver is the plan's first (the runbook's first when none is given).
public struct DNSInterceptionPlan: Sendable, Equatable {
    /// The resolver's known `id.server` / `hostname.bind` answer.
    public var expectedIdentity: String?
    /// An address (`10.0.0.9`, `[fd00::9]:53`) that runs no resolver.
    public var canary: String?
    /// Answers the resolver is known to give for the plan's DNS name.
    public var expectedAnswers: [String]

    public init(expectedIdentity: String? = nil, canary: String? = nil, expectedAnswers: [String] = []) {
        self.expectedIdentity = expectedIdentity
        self.canary = canary
        self.expectedAnswers = expectedAnswers
    }
}

/// The captive portal probe of a check (`CaptivePortalOptions`).
public struct CaptivePortalPlan: Sendable, Equatable {
    /// An http:// URL whose answer is fixed.
    public var url: String
    public var expectedStatus: Int
    public var expectedBody: String?

    public init(url: String, expectedStatus: Int = 204, expectedBody: String? = nil) {
        self.url = url
        self.expectedStatus = expectedStatus
        self.expectedBody = expectedBody
    }
}

extension CheckPlan {
    /// The DNS interception and captive portal probes the plan asks for (none by default: each
    /// costs a query or a fetch, and only a user knows the resolver's identity, a canary
    /// address or a check URL). The DNS interception probe waits `timeouts.dnsPerResolver`
    /// per query; the captive portal probe `timeouts.http`.
    /// - Throws: `.invalidResolver`, `.malformedURL`, `.unsupportedScheme`, `.invalidArgument`.
    public func interceptionProbes() throws(ProbeError) -> [AdditionalProbe] {
        var probes: [AdditionalProbe] = []
        if let plan = dnsInterception {
            let resolver = try resolvers.first.map { (text) throws(ProbeError) in try DNSResolverAddress(parsing: text) }
                ?? DNSResolverAddress.runbookDefault[0]
            let canary = try plan.canary.map { (text) throws(ProbeError) in try DNSResolverAddress(parsing: text) }
            var checkedName: String?
            if !plan.expectedAnswers.isEmpty {
                guard let name = dnsQueryName ?? dnsName else {
                    throw .invalidArgument(name: "expected DNS answers", reason: "give the name they are for (--dns-name)")
                }
                try DNSProbe.validate(name: name)
                checkedName = name
            }
            let options = DNSInterceptionOptions(resolver: resolver, expectedIdentity: plan.expectedIdentity, canary: canary,
                                                 checkedName: checkedName, expectedAnswers: plan.expectedAnswers,
                                                 timeout: timeouts.dnsPerResolver, networkNamespace: networkNamespace)
            probes.append(.dnsInterception(options))
        }
        if let plan = captivePortal {
            try HTTPProbe.validate(url: plan.url)
            guard (100...599).contains(plan.expectedStatus) else {
                throw .invalidArgument(name: "captive portal status", reason: "must be 100-599, got \(plan.expectedStatus)")
            }
            probes.append(.captivePortal(CaptivePortalOptions(url: plan.url, expectedStatus: plan.expectedStatus, expectedBody: plan.expectedBody,
                                                              timeout: timeouts.http, family: family, networkNamespace: networkNamespace)))
        }
        return probes
    }
}

extension AdditionalProbe {
    /// The DNS interception probe, as the `dns_interception` entry of the report.
    public static func dnsInterception(_ options: DNSInterceptionOptions) -> AdditionalProbe {
        AdditionalProbe(name: ProbeName.dnsInterception) {
            do {
                return ProbeReport(dnsInterception: try await DNSInterceptionProbe(options: options).run())
            } catch {
                return .couldNotRun(ProbeName.dnsInterception, input: ("resolver", options.resolver.description), error: error)
            }
        }
    }

    /// The captive portal probe, as the `captive_portal` entry of the report.
    public static func captivePortal(_ options: CaptivePortalOptions) -> AdditionalProbe {
        AdditionalProbe(name: ProbeName.captivePortal) {
            do {
                return ProbeReport(captivePortal: try await CaptivePortalProbe(options: options).run())
            } catch {
                return .couldNotRun(ProbeName.captivePortal, input: ("url", options.url), error: error)
            }
        }
    }
}
