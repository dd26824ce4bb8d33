import FoundationEssentials
import ISPCheckerAnalysis
import ISPCheckerCore
import ISPCheckerPrimitives

/// One way of probing a target on demand, as blackbox_exporter's modules are: the monitor's
/// `GET /probe?target=T&module=M` runs module `M` against `T` once, now (docs/monitor.md).
///
/// | prober  | target                                   | reads                                            |
/// |---------|------------------------------------------|--------------------------------------------------|
/// | `icmp`  | host name or address                     | `count`, `interval`, `timeout`, `family`          |
/// | `trace` | host name or address                     | `rounds`, `max_hops`, `timeout`, `family`         |
/// | `dns`   | the name to resolve, or with `query_name` the resolver (`10.0.0.53`, `[fd00::53]:5353`) | `query_name`, `query_type`, `resolvers`, `timeout` |
/// | `http`  | an http:// or https:// URL               | `valid_status_codes`, `timeout`, `family`         |
/// | `tcp`   | `host:port`                              | `timeout`, `family`                              |
/// | `check` | host name or address: the full run (ping, traceroute, DNS of a name), scored and diagnosed as the monitor's scheduled checks | `count`, `interval`, `rounds`, `max_hops`, `resolvers`, `timeout`, `family` |
///
/// Every module reports a `RunReport`, so the probe's entry carries the same detail keys (and
/// becomes the same `isp_checker_*` series) as a scheduled check's. The `icmp` prober's ping
/// entry adds `jitter_ms`.
public struct ProbeModule: Sendable, Equatable {
    /// What a module runs.
    public enum Prober: String, Sendable, CaseIterable {
        case icmp, trace, dns, http, tcp, check

        /// Whether it sends ICMP or traceroute probes, which need the probe engine (root or CAP_NET_RAW).
        public var needsEngine: Bool { self == .icmp || self == .trace || self == .check }
    }

    public var prober: Prober
    /// icmp, check: echo requests, 1 … 1,000,000.
    public var count: Int
    /// icmp, check: time between two echo requests, 0 … 1 h.
    public var interval: Duration
    /// How long each echo request, trace probe, resolver or TCP connect waits for its answer;
    /// for `http`, the whole exchange; for `check`, a target's `timeout` (`CheckPlan.Timeouts(probe:)`).
    /// Above 0, at most 1 h.
    public var timeout: Duration
    /// trace, check: rounds of the traceroute, 1 … 100,000.
    public var rounds: Int
    /// trace, check: the highest TTL a traceroute probes, 1 … 64.
    public var maxHops: Int
    /// icmp, trace, http, tcp, check: which family a name resolves to.
    public var family: FamilyPreference
    /// dns: the name asked; with it the target is the resolver (blackbox_exporter's way).
    /// `nil`: the target is the name, asked of `resolvers`.
    public var queryName: String?
    /// dns: the record type asked.
    public var queryType: DNSRecordType
    /// dns (without `query_name`) and check: resolver addresses in failover order; empty: the runbook's four.
    public var resolvers: [String]
    /// http: the status codes that count as success; `nil`: what the HTTP probe accepts (2xx, 3xx after redirects).
    public var validStatusCodes: Set<Int>?

    public init(prober: Prober, count: Int = 10, interval: Duration = .milliseconds(200), timeout: Duration? = nil,
                rounds: Int? = nil, maxHops: Int = 30, family: FamilyPreference = .any, queryName: String? = nil,
                queryType: DNSRecordType = .a, resolvers: [String] = [], validStatusCodes: Set<Int>? = nil) {
        self.prober = prober
        self.count = count
        self.interval = interval
        self.timeout = timeout ?? (prober == .http ? .seconds(5) : .seconds(1))
        self.rounds = rounds ?? (prober == .check ? HealthCheckOptions.defaultTrace.rounds : 3)
        self.maxHops = maxHops
        self.family = family
        self.queryName = queryName
        self.queryType = queryType
        self.resolvers = resolvers
        self.validStatusCodes = validStatusCodes
    }

    /// The modules every monitor has, each named after its prober, with the defaults above:
    /// `icmp` (10 echoes 200 ms apart), `trace` (3 rounds), `dns` (an A query of the target
    /// through the runbook's resolvers), `http`, `tcp`, `check` (as a scheduled check).
    /// A module of the same name in the configuration replaces one.
    public static let builtIn: [String: ProbeModule] = Dictionary(
        uniqueKeysWithValues: Prober.allCases.map { ($0.rawValue, ProbeModule(prober: $0)) })

    /// Rounds of a trace are this far apart (as a scheduled check's).
    static let roundInterval: Duration = .milliseconds(500)

    /// Values out of range, by their configuration key (`count`, `timeout` …).
    public var problems: [SettingProblem] {
        var problems: [SettingProblem] = []
        if !(1...1_000_000).contains(count) { problems.append(.init(key: "count", reason: "must be 1 ... 1000000, got \(count)")) }
        if interval < .zero || interval > .seconds(3600) { problems.append(.init(key: "interval", reason: "must be 0 ... 1h, got \(interval)")) }
        if timeout <= .zero || timeout > .seconds(3600) { problems.append(.init(key: "timeout", reason: "must be above 0 and at most 1h, got \(timeout)")) }
        if !(1...100_000).contains(rounds) { problems.append(.init(key: "rounds", reason: "must be 1 ... 100000, got \(rounds)")) }
        if !(1...64).contains(maxHops) { problems.append(.init(key: "max_hops", reason: "must be 1 ... 64, got \(maxHops)")) }
        for resolver in resolvers {
            do { _ = try DNSResolverAddress(parsing: resolver) } catch {
                problems.append(.init(key: "resolvers", reason: "\(error)"))
            }
        }
        if let queryName {
            do { try DNSProbe.validate(name: queryName) } catch { problems.append(.init(key: "query_name", reason: "\(error)")) }
        }
        for code in (validStatusCodes ?? []).sorted() where !(100...599).contains(code) {
            problems.append(.init(key: "valid_status_codes", reason: "\(code) is not an HTTP status code (100 ... 599)"))
        }
        return problems
    }

    /// Checks `target` as this module reads it, sending nothing.
    /// - Throws: `.emptyTarget`, `.malformedTarget`, `.malformedName`, `.invalidResolver`,
    ///   `.malformedURL`, `.unsupportedScheme` or `.invalidArgument` (a port out of range).
    public func validate(target: String) throws(ProbeError) {
        guard !target.trimmingWhitespace().isEmpty else { throw .emptyTarget }
        switch prober {
        case .icmp, .trace, .check:
            // A name that does not resolve is a finding of the probe, not a bad request.
            if target.contains(where: { $0.isWhitespace || $0 == "/" }) {
                throw .malformedTarget(target, reason: "give a host name or an address")
            }
        case .dns:
            if queryName != nil { _ = try DNSResolverAddress(parsing: target) } else { try DNSProbe.validate(name: target) }
        case .http:
            try HTTPProbe.validate(url: target)
        case .tcp:
            let (_, port) = try TCPTarget.split(target)
            guard (1...65535).contains(port) else { throw .invalidArgument(name: "port", reason: "must be 1-65535, got \(port)") }
        }
    }

    /// Probes `target` once, now.
    /// - Parameter engine: the probe engine for `icmp`, `trace` and `check` (the others need none).
    /// - Throws: what `validate(target:)` throws; `.permissionDenied` when the prober needs an
    ///   engine and there is none; `.cancelled` when the calling task is cancelled. A target that
    ///   does not resolve or answer is a finding (a `crit` entry), not an error.
    public func run(target: String, engine: ProbeEngine?, analyzer: HealthAnalyzer = HealthAnalyzer()) async throws(ProbeError) -> RunReport {
        try validate(target: target)
        if prober.needsEngine && engine == nil {
            throw .permissionDenied(hint: "the \(prober.rawValue) prober needs the probe engine: run the monitor as root or with CAP_NET_RAW")
        }
        let started = Date()
        switch prober {
        case .icmp:
            let outcome = await Self.capture { () async throws(ProbeError) -> PingResult in
                try await engine!.ping(target, count: count, interval: interval, timeout: timeout, family: family)
            }
            switch outcome {
            case .success(let ping):
                var report = analyzer.analyze(target: target, ping: ping, trace: nil, timestamp: started)
                if let jitter = ping.jitterMilliseconds, let index = report.probes.firstIndex(where: { $0.name == ProbeName.ping }) {
                    report.probes[index].details["jitter_ms"] = .double((jitter * 1000).rounded() / 1000)
                }
                return report
            case .failure(let error):
                return analyzer.analyze(target: target, probes: [try Self.finding(error, probe: ProbeName.ping)], trace: nil, timestamp: started)
            }
        case .trace:
            let options = TraceOptions(maxHops: maxHops, rounds: rounds, timeout: timeout, roundInterval: Self.roundInterval, family: family)
            let outcome = await Self.capture { () async throws(ProbeError) -> TraceResult in
                try await engine!.traceroute(target, options: options)
            }
            switch outcome {
            case .success(let trace): return analyzer.analyze(target: target, ping: nil, trace: trace, timestamp: started)
            case .failure(let error):
                return analyzer.analyze(target: target, probes: [try Self.finding(error, probe: ProbeName.traceroute)], trace: nil, timestamp: started)
            }
        case .dns:
            var resolverAddresses: [DNSResolverAddress] = []
            let name: String
            if let queryName {
                name = queryName
                resolverAddresses = [try DNSResolverAddress(parsing: target)]
            } else {
                name = target
                for resolver in resolvers { resolverAddresses.append(try DNSResolverAddress(parsing: resolver)) }
                if resolverAddresses.isEmpty { resolverAddresses = DNSResolverAddress.runbookDefault }
            }
            let options = DNSProbeOptions(resolvers: resolverAddresses, timeoutPerResolver: timeout)
            return try await additional(.dns(name, type: queryType, options: options), target: target, started: started, analyzer: analyzer)
        case .http:
            let options = HTTPProbeOptions(timeout: timeout, connectTimeout: min(timeout, .seconds(5)),
                                           expectedStatusCodes: validStatusCodes, family: family)
            return try await additional(.http(target, options: options), target: target, started: started, analyzer: analyzer)
        case .tcp:
            return try await additional(.tcp(target, options: TCPProbeOptions(timeout: timeout, family: family)),
                                        target: target, started: started, analyzer: analyzer)
        case .check:
            let plan = CheckPlan(host: target, resolvers: resolvers, pingCount: count, pingInterval: interval,
                                 trace: TraceOptions(maxHops: maxHops, rounds: rounds, roundInterval: Self.roundInterval),
                                 timeouts: CheckPlan.Timeouts(probe: timeout), family: family)
            return try await HealthChecker(engine: engine!, analyzer: analyzer).check(try plan.healthCheckOptions())
        }
    }

    /// Whether `report`, a run of this module, counts as `probe_success 1`:
    /// - `check`: the run is not a P1 (score at most 80, the runbook's critical band): a lossy
    ///   or slow target still answers, and its score says how well;
    /// - `trace`: the destination was reached (a hop or the destination limiting its ICMP
    ///   errors makes the trace's own entry `crit` for loss it does not have);
    /// - the others: none of its probes is `crit`.
    public func succeeded(_ report: RunReport) -> Bool {
        switch prober {
        case .check: return report.severity != .p1
        case .trace: return report.trace?.destinationReached == true
        default: return report.probes.allSatisfy { $0.status != .crit }
        }
    }

    private func additional(_ probe: AdditionalProbe, target: String, started: Date, analyzer: HealthAnalyzer) async throws(ProbeError) -> RunReport {
        let entry = await probe.run()
        if Task.isCancelled { throw .cancelled }
        return analyzer.analyze(target: target, probes: [entry], trace: nil, timestamp: started)
    }

    private static func capture<T>(_ body: () async throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// A failure the probe reports as its finding (`crit` with the error), as `HealthChecker`
    /// does; rethrows what the caller must fix (privileges, cancellation, bad arguments).
    private static func finding(_ error: ProbeError, probe: String) throws(ProbeError) -> ProbeReport {
        switch error {
        case .unresolvableTarget, .systemError, .addressFamilyUnavailable:
            return ProbeReport(name: probe, status: .crit, details: [:], error: error.description)
        default:
            throw error
        }
    }
}

extension PingResult {
    /// Mean absolute difference of the round-trip times of consecutive replies, in send order
    /// (the inter-packet delay variation of RFC 3393 / RFC 5481 §1.2, as `mtr` shows it under
    /// "Javg"); `nil` with fewer than two replies.
    public var jitterMilliseconds: Double? {
        let rtts = probes.sorted { $0.index < $1.index }.compactMap(\.rttMilliseconds)
        guard rtts.count >= 2 else { return nil }
        var total = 0.0
        for index in 1..<rtts.count { total += abs(rtts[index] - rtts[index - 1]) }
        return total / Double(rtts.count - 1)
    }
}
