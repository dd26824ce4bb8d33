/// What a check of one target is: which probes it runs, with which resolvers, timeouts and
/// network namespace. The CLI's `run` and the monitor both build their checks from a plan, so
/// a check means the same in both.
///
/// - ping: always, `pingCount` echo requests `pingInterval` apart.
/// - traceroute: unless `trace` is `nil`.
/// - DNS: when a name is known (`dnsName`, or else `host` when it is a name and not an
///   address) and `probesDNS`; through `resolvers`, the runbook's four when empty.
/// - HTTP: when a `url` is given.
///
/// Every wait follows from `timeouts`. A bad name, resolver or URL is a `ProbeError` when the
/// plan is turned into options, before anything is sent.
public struct CheckPlan: Sendable, Equatable {
    /// How long each probe of a check waits.
    public struct Timeouts: Sendable, Equatable {
        /// How long each echo request and each traceroute probe waits for its answer.
        public var probe: Duration
        /// How long the DNS probe waits for each resolver before it fails over to the next.
        public var dnsPerResolver: Duration
        /// How long the whole HTTP exchange (every redirect included) may take.
        public var http: Duration

        /// The waits that follow from `probe`: a resolver is given as long as an echo request
        /// (at least 0.5 s: a resolver that recurses takes longer than a ping), and the HTTP
        /// exchange five times as long (at least 5 s: DNS, TCP and TLS handshakes, then the body).
        public init(probe: Duration = .seconds(1)) {
            self.init(probe: probe, dnsPerResolver: max(probe, .milliseconds(500)), http: max(.seconds(5), probe * 5))
        }

        public init(probe: Duration, dnsPerResolver: Duration, http: Duration) {
            self.probe = probe
            self.dnsPerResolver = dnsPerResolver
            self.http = http
        }

        /// 1 s per echo and trace probe, 1 s per resolver, 5 s for HTTP.
        public static let `default` = Timeouts()
    }

    /// Host name or address that ping and traceroute probe.
    public var host: String
    /// The target's class (how often the monitor checks it).
    public var targetClass: TargetClass
    /// The name the DNS probe resolves; `nil`: `host` when it is a name, else no DNS probe.
    public var dnsName: String?
    /// Whether the check has a DNS probe at all (`run --no-dns` turns it off).
    public var probesDNS: Bool
    /// Resolver addresses the DNS probe queries directly, in failover order (`10.0.0.53`,
    /// `10.0.0.53:5353`, `[fd00::53]:53`); empty: the runbook's 8.8.8.8, 1.1.1.1, 9.9.9.9,
    /// 208.67.222.222.
    public var resolvers: [String]
    /// The http:// or https:// URL the HTTP probe fetches; `nil`: no HTTP probe.
    public var url: String?
    /// Echo requests of the ping probe (≥ 1).
    public var pingCount: Int
    /// Time between two echo requests.
    public var pingInterval: Duration
    /// The traceroute, or `nil` to skip it. Its `timeout` is `timeouts.probe`, whatever it says.
    public var trace: TraceOptions?
    public var timeouts: Timeouts
    /// The address family of ping, traceroute and HTTP (DNS queries the resolvers as given).
    public var family: FamilyPreference
    /// The network namespace the DNS and HTTP probes run in; `nil`: the caller's own. Ping and
    /// traceroute run in the engine's, chosen when it is opened: give the same one.
    public var networkNamespace: String?
    /// The DNS interception probe (CheckPlan+Interception.swift); `nil`: off.
    public var dnsInterception: DNSInterceptionPlan? = nil
    /// The captive portal probe; `nil`: off.
    public var captivePortal: CaptivePortalPlan? = nil

    public init(host: String, targetClass: TargetClass = .normal, dnsName: String? = nil, probesDNS: Bool = true,
                resolvers: [String] = [], url: String? = nil, pingCount: Int = 10, pingInterval: Duration = .milliseconds(200),
                trace: TraceOptions? = HealthCheckOptions.defaultTrace, timeouts: Timeouts = .default,
                family: FamilyPreference = .any, networkNamespace: String? = nil) {
        self.host = host
        self.targetClass = targetClass
        self.dnsName = dnsName
        self.probesDNS = probesDNS
        self.resolvers = resolvers
        self.url = url
        self.pingCount = pingCount
        self.pingInterval = pingInterval
        self.trace = trace
        self.timeouts = timeouts
        self.family = family
        self.networkNamespace = networkNamespace
    }

    /// The target as the scheduler knows it.
    public var probeTarget: ProbeTarget { ProbeTarget(host, class: targetClass) }

    /// The name the DNS probe resolves, or `nil` when the check has no DNS probe.
    public var dnsQueryName: String? {
        guard probesDNS else { return nil }
        return dnsName ?? (IPAddress(host) == nil ? host : nil)
    }

    /// The DNS probe's name and options, or `nil` when the check has none.
    /// - Throws: `.emptyName`, `.malformedName` or `.invalidResolver`.
    public func dnsProbe() throws(ProbeError) -> (name: String, options: DNSProbeOptions)? {
        guard let name = dnsQueryName else { return nil }
        var addresses: [DNSResolverAddress] = []
        for resolver in resolvers { addresses.append(try DNSResolverAddress(parsing: resolver)) }
        try DNSProbe.validate(name: name)
        return (name, DNSProbeOptions(resolvers: addresses.isEmpty ? DNSResolverAddress.runbookDefault : addresses,
                                      timeoutPerResolver: timeouts.dnsPerResolver, networkNamespace: networkNamespace))
    }

    /// The HTTP probe's URL and options, or `nil` when the check has none.
    /// - Throws: `.malformedURL` or `.unsupportedScheme`.
    public func httpProbe() throws(ProbeError) -> (url: String, options: HTTPProbeOptions)? {
        guard let url else { return nil }
        try HTTPProbe.validate(url: url)
        return (url, HTTPProbeOptions(timeout: timeouts.http, family: family, networkNamespace: networkNamespace))
    }

    /// The health check this plan describes, its name, resolvers and URL checked.
    /// - Throws: `ProbeError` for a bad DNS name, resolver or URL.
    public func healthCheckOptions() throws(ProbeError) -> HealthCheckOptions {
        var probes: [AdditionalProbe] = []
        if let dns = try dnsProbe() { probes.append(.dns(dns.name, options: dns.options)) }
        if let http = try httpProbe() { probes.append(.http(http.url, options: http.options)) }
        probes += try interceptionProbes()
        var trace = self.trace
        trace?.timeout = timeouts.probe
        return HealthCheckOptions(target: host, pingCount: pingCount, pingInterval: pingInterval, pingTimeout: timeouts.probe,
                                  trace: trace, additionalProbes: probes, family: family)
    }
}
