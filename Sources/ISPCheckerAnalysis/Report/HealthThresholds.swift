import ISPCheckerResults

/// Where a probe's numbers turn `warn` or `crit`, and where the path analysis starts to call a
/// hop lossy or slow. `HealthThresholds.default` is the runbook's: ping warn above 150 ms average
/// latency, loss 2–10 % warn and above 10 % crit, DNS crit on a timeout or NXDOMAIN for a name that
/// must resolve, HTTP by status code and phase times.
public struct HealthThresholds: Sendable, Equatable {
    /// Ping (and the traceroute's last hop when there is no ping).
    public struct Ping: Sendable, Equatable {
        /// `warn` when the average RTT is above this many milliseconds.
        public var latencyWarnMilliseconds: Double
        /// `crit` when the average RTT is above this many milliseconds.
        public var latencyCritMilliseconds: Double
        /// `warn` from this loss percentage (inclusive).
        public var lossWarnPercent: Double
        /// `crit` above this loss percentage.
        public var lossCritPercent: Double

        public init(latencyWarnMilliseconds: Double = 150, latencyCritMilliseconds: Double = 500,
                    lossWarnPercent: Double = 2, lossCritPercent: Double = 10) {
            self.latencyWarnMilliseconds = latencyWarnMilliseconds
            self.latencyCritMilliseconds = latencyCritMilliseconds
            self.lossWarnPercent = lossWarnPercent
            self.lossCritPercent = lossCritPercent
        }

        public static let `default` = Ping()
    }

    /// DNS: the probe's `outcome`, `latency_ms` and `failed_resolvers`.
    public struct DNS: Sendable, Equatable {
        /// Outcomes that are `crit` for a name that must resolve (details `must_resolve`, true when
        /// absent). For a name that need not resolve, `nxdomain` is `ok`.
        public var critOutcomes: Set<ServiceOutcome>
        /// `warn` when the answer took longer than this many milliseconds.
        public var latencyWarnMilliseconds: Double
        /// `warn` when some resolvers failed although another one answered.
        public var warnOnFailedResolvers: Bool

        public init(critOutcomes: Set<ServiceOutcome> = [.timeout, .nxdomain, .servfail, .refusedQuery, .refused,
                                                         .networkUnreachable, .hostUnreachable, .error],
                    latencyWarnMilliseconds: Double = 300, warnOnFailedResolvers: Bool = true) {
            self.critOutcomes = critOutcomes
            self.latencyWarnMilliseconds = latencyWarnMilliseconds
            self.warnOnFailedResolvers = warnOnFailedResolvers
        }

        public static let `default` = DNS()
    }

    /// HTTP: the probe's `outcome`, `status_code`, phase times (`connect_ms`, `tls_ms`, `ttfb_ms`,
    /// `total_ms`) and `cert_days_left`.
    public struct HTTP: Sendable, Equatable {
        /// Status codes that are `warn` (client errors by default).
        public var warnStatusCodes: ClosedRange<Int>
        /// Status codes that are `crit` (server errors by default).
        public var critStatusCodes: ClosedRange<Int>
        /// `warn` when connecting took longer than this many milliseconds.
        public var connectWarnMilliseconds: Double
        /// `warn` when the TLS handshake took longer than this many milliseconds.
        public var tlsWarnMilliseconds: Double
        /// `warn` when the first byte came later than this many milliseconds after sending.
        public var ttfbWarnMilliseconds: Double
        /// `warn` when the whole exchange took longer than this many milliseconds.
        public var totalWarnMilliseconds: Double
        /// `crit` when the whole exchange took longer than this many milliseconds.
        public var totalCritMilliseconds: Double
        /// `warn` when the certificate expires in fewer days; `crit` when it has expired (≤ 0).
        public var certificateWarnDays: Double

        public init(warnStatusCodes: ClosedRange<Int> = 400...499, critStatusCodes: ClosedRange<Int> = 500...599,
                    connectWarnMilliseconds: Double = 300, tlsWarnMilliseconds: Double = 500,
                    ttfbWarnMilliseconds: Double = 1000, totalWarnMilliseconds: Double = 2000,
                    totalCritMilliseconds: Double = 10000, certificateWarnDays: Double = 14) {
            self.warnStatusCodes = warnStatusCodes
            self.critStatusCodes = critStatusCodes
            self.connectWarnMilliseconds = connectWarnMilliseconds
            self.tlsWarnMilliseconds = tlsWarnMilliseconds
            self.ttfbWarnMilliseconds = ttfbWarnMilliseconds
            self.totalWarnMilliseconds = totalWarnMilliseconds
            self.totalCritMilliseconds = totalCritMilliseconds
            self.certificateWarnDays = certificateWarnDays
        }

        public static let `default` = HTTP()
    }

    /// TCP connect: the probe's `outcome` and `connect_ms`.
    public struct TCP: Sendable, Equatable {
        /// `warn` when connecting took longer than this many milliseconds.
        public var connectWarnMilliseconds: Double

        public init(connectWarnMilliseconds: Double = 300) {
            self.connectWarnMilliseconds = connectWarnMilliseconds
        }

        public static let `default` = TCP()
    }

    /// How the path analysis reads a traceroute.
    public struct Path: Sendable, Equatable {
        /// A hop is lossy from this loss percentage (per hop, over the trace's rounds).
        public var hopLossPercent: Double
        /// Hops past the gateway (hop 1) that belong to the ISP's access network: hops 2 … 1 + this.
        /// Loss or delay that starts there is `ISP Access`; later, `Peering/Transit` or `Transit`.
        public var accessHops: Int
        /// An RTT rise of at least this many milliseconds from one answering hop to the next
        /// (and kept by every later hop) is a latency step.
        public var latencyStepMilliseconds: Double

        public init(hopLossPercent: Double = 5, accessHops: Int = 2, latencyStepMilliseconds: Double = 30) {
            self.hopLossPercent = hopLossPercent
            self.accessHops = accessHops
            self.latencyStepMilliseconds = latencyStepMilliseconds
        }

        public static let `default` = Path()
    }

    /// How a run is compared with the target's history.
    public struct Baseline: Sendable, Equatable {
        /// Fewest earlier runs with the measure before a comparison is made.
        public var minimumRuns: Int
        /// Runs whose time of day is within this many seconds of the run's (either side, across
        /// midnight) form the same-time-of-day window; used when it holds `minimumRuns` runs.
        public var timeOfDayWindowSeconds: Double
        /// Latency deviates when it is above `latencyFactor` × the baseline median…
        public var latencyFactor: Double
        /// …and at least this many milliseconds above it.
        public var latencyMarginMilliseconds: Double
        /// Loss deviates when it is this many percentage points above the baseline median.
        public var lossMarginPercent: Double

        public init(minimumRuns: Int = 3, timeOfDayWindowSeconds: Double = 3600, latencyFactor: Double = 1.5,
                    latencyMarginMilliseconds: Double = 20, lossMarginPercent: Double = 5) {
            self.minimumRuns = minimumRuns
            self.timeOfDayWindowSeconds = timeOfDayWindowSeconds
            self.latencyFactor = latencyFactor
            self.latencyMarginMilliseconds = latencyMarginMilliseconds
            self.lossMarginPercent = lossMarginPercent
        }

        public static let `default` = Baseline()
    }

    public var ping: Ping
    public var dns: DNS
    public var http: HTTP
    public var tcp: TCP
    public var path: Path
    public var baseline: Baseline

    public init(ping: Ping = .default, dns: DNS = .default, http: HTTP = .default, tcp: TCP = .default,
                path: Path = .default, baseline: Baseline = .default) {
        self.ping = ping
        self.dns = dns
        self.http = http
        self.tcp = tcp
        self.path = path
        self.baseline = baseline
    }

    /// The runbook's thresholds.
    public static let `default` = HealthThresholds()
}
