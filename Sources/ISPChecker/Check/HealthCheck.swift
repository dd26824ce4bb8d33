import FoundationEssentials

/// A probe the health check runs beside ping and traceroute (DNS, HTTP, TCP …): a name and an
/// async body that reports, never throws. A failure is a `crit` report with its `error`.
public struct AdditionalProbe: Sendable {
    public var name: String
    public var run: @Sendable () async -> ProbeReport

    public init(name: String, run: @escaping @Sendable () async -> ProbeReport) {
        self.name = name
        self.run = run
    }
}

/// What one health check of one target runs.
public struct HealthCheckOptions: Sendable {
    /// Ten rounds half a second apart: enough for loss that persists to be told from a hop that
    /// rate-limits its ICMP errors (with three rounds, 40 % loss shows as none at some hop one
    /// time in five), and within Linux's default ICMP error limit (a burst of 6, then 1 a second).
    public static let defaultTrace = TraceOptions(rounds: 10, roundInterval: .milliseconds(500))

    /// Host name or address that ping and traceroute probe.
    public var target: String
    /// Echo requests of the ping probe (≥ 1).
    public var pingCount: Int
    /// Time between two echo requests.
    public var pingInterval: Duration
    /// How long each echo request waits for its reply.
    public var pingTimeout: Duration
    /// The traceroute, or nil to skip it.
    public var trace: TraceOptions?
    /// DNS, HTTP, TCP … probes, run concurrently with ping and traceroute.
    public var additionalProbes: [AdditionalProbe]
    public var family: FamilyPreference
    /// Rounds of a second traceroute, merged into the first, when ping loses some (not all) of
    /// its packets: where loss starts is the diagnosis, and at 40 % loss a hop answers all ten
    /// probes of one trace about one time in 160. Twenty rounds make that one in 27,000. 0 turns
    /// the follow-up off.
    ///
    /// Off by default: under the ICMP error limits every real router and host keeps (Linux: a
    /// burst of 6, then 1 a second), more rounds soon after the first ten only add answers the
    /// limit eats, at every hop alike, and loss then seems to start at hop 1. `hopEchoCount`
    /// locates loss instead.
    public var lossFollowUpRounds: Int
    /// Echo requests sent to each hop of the trace (every hop's own address, 50 a second, all
    /// hops at once) when ping loses packets or a hop of the trace loses answers: echo replies
    /// are not held back by the ICMP error limits, so where loss starts is told from where a
    /// router merely limits its errors (`PathAnalysis.echoLocatedLoss`). 0 turns it off.
    public var hopEchoCount: Int
    /// When the path MTU probe runs (`ProbeEngine.pathMTU`): a black hole hides from ping and
    /// traceroute, whose packets are small, so it runs when asked, or when a TCP or HTTP probe
    /// fails while ping reaches the target (what a black hole looks like). Off by default (the
    /// monitor's checks); `isp-checker run` turns it on for symptoms, `--path-mtu` always.
    public var pathMTU: PathMTUCheck
    /// Check each address family when `target` is a name with both IPv4 and IPv6 addresses and
    /// `family` is `.any`, and the engine has a route to both: the preferred family (the
    /// resolver's first address) runs every probe, the other ping and traceroute, at the same
    /// time; the report is the preferred family's, scored as the worse one, with both families'
    /// faults and a verdict per family (`RunReport.families`). Off by default (the monitor
    /// checks one family per target); `isp-checker run` turns it on unless `-4`/`-6` is given.
    public var eachFamily: Bool
    /// The bufferbloat probe (`ProbeEngine.bufferbloat`): latency to every hop of the trace while
    /// a bulk TCP flow to `server` loads the path, upload then download. Nil (the default) skips
    /// it: it loads the link for two flow durations (8 s by default) and needs a server that
    /// sinks and sources bytes. It runs after every other probe, so its load disturbs none.
    public var bufferbloat: BufferbloatOptions? = nil
    /// The ECMP probe (`ProbeEngine.ecmp`): the parallel paths to the target (MDA-lite) and each
    /// one's loss and RTT. Nil (the default) skips it: it traces up to 16 flows and sends 40
    /// probes along each path, a few seconds. It runs before ping and traceroute, while the
    /// routers' ICMP error budgets are full: a flow needs one answer from every hop.
    public var ecmp: ECMPOptions? = nil

    /// When a check probes the path MTU.
    public enum PathMTUCheck: String, Sendable, CaseIterable {
        case off
        /// Only when a TCP or HTTP probe fails while ping reaches the target.
        case onSymptom = "on-symptom"
        case always
    }

    public init(target: String, pingCount: Int = 10, pingInterval: Duration = .milliseconds(200),
                pingTimeout: Duration = .seconds(1), trace: TraceOptions? = HealthCheckOptions.defaultTrace,
                additionalProbes: [AdditionalProbe] = [], family: FamilyPreference = .any, lossFollowUpRounds: Int = 0,
                hopEchoCount: Int = 100, pathMTU: PathMTUCheck = .off, eachFamily: Bool = false) {
        self.pathMTU = pathMTU
        self.eachFamily = eachFamily
        self.hopEchoCount = hopEchoCount
        self.target = target
        self.pingCount = pingCount
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.trace = trace
        self.additionalProbes = additionalProbes
        self.family = family
        self.lossFollowUpRounds = lossFollowUpRounds
    }
}

extension HealthCheckOptions {
    /// `trace` in the check's address family, as every trace of the check runs.
    var traceInFamily: TraceOptions? {
        guard var trace else { return nil }
        trace.family = family
        return trace
    }
}

/// Runs ping, traceroute and the additional probes of one target concurrently and turns them
/// into a scored, diagnosed `RunReport`.
///
/// A target that cannot be resolved is a finding (the ping and traceroute probes are `crit`
/// with the resolver's error), not an error: a broken DNS is one of the things a check finds.
public struct HealthChecker: Sendable {
    public let engine: ProbeEngine
    public var analyzer: HealthAnalyzer

    public init(engine: ProbeEngine, analyzer: HealthAnalyzer = HealthAnalyzer()) {
        self.engine = engine
        self.analyzer = analyzer
    }

    /// One check. `history` is the target's earlier runs, for the baseline.
    /// - Throws: `ProbeError` for bad options, missing privileges or a shut-down engine, and
    ///   `.cancelled` when the calling task is cancelled.
    public func check(_ options: HealthCheckOptions, history: [RunReport] = []) async throws(ProbeError) -> RunReport {
        try await check(options, history: history, progress: nil)
    }

    /// One check that tells `progress` when each probe starts and ends (called from the
    /// probes' tasks, concurrently: it must be quick and thread-safe).
    public func check(_ options: HealthCheckOptions, history: [RunReport] = [],
                      progress: (@Sendable (CheckProgress) -> Void)?) async throws(ProbeError) -> RunReport {
        if options.eachFamily, options.family == .any, IPAddress(options.target) == nil,
           let (preferred, other) = await bothFamilies(options.target) {
            return try await checkEachFamily(options, history: history, progress: progress, preferred: preferred, other: other)
        }
        let engine = self.engine
        let started = Date()
        let thresholds = analyzer.thresholds
        let tell = { @Sendable (name: String, state: CheckProgress.State) in progress?(CheckProgress(probe: name, state: state)) }
        var ecmpEntry: ProbeReport?
        if var ecmp = options.ecmp {
            tell(ProbeName.ecmp, .running)
            if ecmp.family == .any { ecmp.family = options.family }
            let chosen = ecmp
            switch await Self.capture({ () async throws(ProbeError) -> ECMPResult in try await engine.ecmp(options.target, options: chosen) }) {
            case .success(let result): ecmpEntry = ProbeReport(ecmp: result)
            case .failure(.cancelled): throw .cancelled
            case .failure(let error): ecmpEntry = ProbeReport(name: ProbeName.ecmp, status: .crit, details: [:], error: error.description)
            }
            tell(ProbeName.ecmp, .finished(ecmpEntry.map { thresholds.grade($0) } ?? .crit))
        }
        async let pingOutcome: Result<PingResult, ProbeError> = {
            tell(ProbeName.ping, .running)
            let outcome = await Self.capture { () async throws(ProbeError) -> PingResult in
                try await engine.ping(options.target, count: options.pingCount, interval: options.pingInterval,
                                      timeout: options.pingTimeout, family: options.family)
            }
            tell(ProbeName.ping, .finished((try? outcome.get()).map { thresholds.grade(ProbeReport(ping: $0, thresholds: thresholds)) } ?? .crit))
            return outcome
        }()
        async let traceOutcome: Result<TraceResult, ProbeError>? = {
            guard let chosen = options.traceInFamily else { return nil }
            tell(ProbeName.traceroute, .running)
            let outcome = await Self.capture { () async throws(ProbeError) -> TraceResult in
                try await engine.traceroute(options.target, options: chosen)
            }
            tell(ProbeName.traceroute, .finished((try? outcome.get()).map { thresholds.grade(ProbeReport(trace: $0, thresholds: thresholds)) } ?? .crit))
            return outcome
        }()
        async let others: [ProbeReport] = withTaskGroup(of: (Int, ProbeReport).self) { group in
            for (index, probe) in options.additionalProbes.enumerated() {
                group.addTask {
                    tell(probe.name, .running)
                    let result = await probe.run()
                    tell(probe.name, .finished(thresholds.grade(result)))
                    return (index, result)
                }
            }
            var reports: [(Int, ProbeReport)] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let (ping, trace, additional) = await (pingOutcome, traceOutcome, others)
        if Task.isCancelled { throw .cancelled }

        var failed: [ProbeReport] = []
        let pingResult = try Self.value(ping, probe: "ping", failed: &failed)
        var traceResult: TraceResult?
        if let trace { traceResult = try Self.value(trace, probe: "traceroute", failed: &failed) }
        if let first = traceResult, let followUp = followUpTrace(options, ping: pingResult) {
            // A failed follow-up leaves the first trace as it was: it was only there to sharpen it.
            if case .success(let second) = await Self.capture({ () async throws(ProbeError) -> TraceResult in
                try await engine.traceroute(options.target, options: followUp)
            }) {
                traceResult = first.merged(with: second)
            }
            if Task.isCancelled { throw .cancelled }
        }
        if let trace = traceResult, needsHopEchoes(options, ping: pingResult, trace: trace) {
            tell(CheckProgress.hopEchoes, .running)
            traceResult = await Self.withHopEchoes(trace, engine: engine, count: options.hopEchoCount, timeout: options.pingTimeout)
            tell(CheckProgress.hopEchoes, .finished(.ok))
            if Task.isCancelled { throw .cancelled }
        }
        var extra = additional
        if let ecmpEntry { extra.append(ecmpEntry) }
        if needsPathMTU(options, ping: pingResult, additional: additional) {
            // A failed probe adds nothing: it was only there to explain a symptom.
            if case .success(let mtu) = await Self.capture({ () async throws(ProbeError) -> PathMTUResult in
                try await Self.pathMTU(options, trace: traceResult, engine: engine)
            }) {
                extra.append(ProbeReport(pathMTU: mtu))
            }
            if Task.isCancelled { throw .cancelled }
        }
        if let bloat = options.bufferbloat {
            tell(ProbeName.bufferbloat, .running)
            let entry = await Self.bufferbloat(options, bloat: bloat, trace: traceResult, engine: engine)
            tell(ProbeName.bufferbloat, .finished(thresholds.grade(entry)))
            extra.append(entry)
            if Task.isCancelled { throw .cancelled }
        }
        var report = analyzer.analyze(target: options.target, ping: pingResult, trace: traceResult,
                                      otherProbes: failed + extra, history: history, timestamp: started)
        report.probes = Self.ordered(report.probes)
        return report
    }

    /// The target's preferred address and one of the other family, when it has both and the
    /// engine can reach both; nil otherwise (one family: the plain check).
    private func bothFamilies(_ target: String) async -> (IPAddress, IPAddress)? {
        guard let preferred = try? await TargetResolver.resolve(target, preference: .any),
              let other = try? await TargetResolver.resolve(target, preference: preferred.family == .ipv4 ? .ipv6 : .ipv4),
              other.family != preferred.family
        else { return nil }
        guard await engine.hasRoute(to: preferred), await engine.hasRoute(to: other) else { return nil }
        return (preferred, other)
    }

    /// The check over both families: see `HealthCheckOptions.eachFamily`.
    private func checkEachFamily(_ options: HealthCheckOptions, history: [RunReport], progress: (@Sendable (CheckProgress) -> Void)?,
                                 preferred: IPAddress, other: IPAddress) async throws(ProbeError) -> RunReport {
        func only(_ family: IPFamily) -> FamilyPreference { family == .ipv4 ? .ipv4 : .ipv6 }
        var first = options
        first.eachFamily = false
        first.family = only(preferred.family)
        var second = first
        second.family = only(other.family)
        second.additionalProbes = []
        second.pathMTU = .off
        second.bufferbloat = nil // it loads the link: once, in the preferred family
        second.ecmp = nil
        let (firstCheck, secondCheck) = (first, second)
        async let primary = Self.capture { () async throws(ProbeError) -> RunReport in
            try await self.check(firstCheck, history: history, progress: progress)
        }
        // The other family's probes would share the live view's lines with the first's: unseen.
        async let secondary = Self.capture { () async throws(ProbeError) -> RunReport in
            try await self.check(secondCheck, history: [], progress: nil)
        }
        let (primaryReport, secondaryReport) = (try await primary.get(), try await secondary.get())
        // The preferred family's own verdict: its ping and trace without the other probes, which
        // may have gone out in the other family (`RunReport.combiningFamilies`).
        let pathOnly = analyzer.pathOnly(primaryReport, history: history)
        return RunReport.combiningFamilies(primary: primaryReport, primaryAddress: preferred, primaryPathOnly: pathOnly,
                                           other: secondaryReport, otherAddress: other)
    }

    /// The follow-up trace's options when ping lost some of its packets, else nil.
    private func followUpTrace(_ options: HealthCheckOptions, ping: PingResult?) -> TraceOptions? {
        guard options.lossFollowUpRounds > 0, var trace = options.traceInFamily, let ping, ping.received > 0,
              ping.lossPercent >= analyzer.thresholds.ping.lossWarnPercent else { return nil }
        trace.rounds = options.lossFollowUpRounds
        return trace
    }

    /// Whether the check probes the path MTU: asked to, or a TCP or HTTP probe failed while ping
    /// reaches the target.
    private func needsPathMTU(_ options: HealthCheckOptions, ping: PingResult?, additional: [ProbeReport]) -> Bool {
        switch options.pathMTU {
        case .off: return false
        case .always: return true
        case .onSymptom:
            guard let ping, ping.received > 0 else { return false }
            return additional.contains { ($0.name == ProbeName.tcp || $0.name == ProbeName.http) && $0.status == .crit }
        }
    }

    /// The path MTU probe in the trace's family, locating a black hole among the trace's hops.
    private static func pathMTU(_ options: HealthCheckOptions, trace: TraceResult?, engine: ProbeEngine) async throws(ProbeError) -> PathMTUResult {
        let family: FamilyPreference = trace.map { $0.address.family == .ipv4 ? .ipv4 : .ipv6 } ?? options.family
        let hops = trace?.hops.compactMap { hop in hop.addresses.first.map { PathMTUResult.Hop(ttl: hop.ttl, address: $0.address) } } ?? []
        return try await engine.pathMTU(options.target, hops: hops, options: PathMTUOptions(timeout: options.pingTimeout, family: family))
    }

    /// The bufferbloat probe over the trace's hops, in the trace's family; a probe that cannot
    /// run (no server address, bad options) is a `crit` entry saying why: the user asked for it.
    private static func bufferbloat(_ options: HealthCheckOptions, bloat: BufferbloatOptions, trace: TraceResult?,
                                    engine: ProbeEngine) async -> ProbeReport {
        var bloat = bloat
        bloat.family = trace.map { $0.address.family == .ipv4 ? .ipv4 : .ipv6 } ?? options.family
        let hops = trace?.hops.compactMap { hop in
            hop.isDestination ? nil : hop.addresses.first.map { BufferbloatResult.PathHop(ttl: hop.ttl, address: $0.address) }
        } ?? []
        let chosen = bloat
        switch await capture({ () async throws(ProbeError) -> BufferbloatResult in
            try await engine.bufferbloat(options.target, hops: hops, options: chosen)
        }) {
        case .success(let result): return ProbeReport(bufferbloat: result)
        case .failure(let error): return ProbeReport(name: ProbeName.bufferbloat, status: .crit, details: [:], error: error.description)
        }
    }

    /// Whether the hops are worth an echo each: ping lost some (not all) of its packets, or a
    /// hop that answers lost some of its answers.
    private func needsHopEchoes(_ options: HealthCheckOptions, ping: PingResult?, trace: TraceResult) -> Bool {
        guard options.hopEchoCount > 0 else { return false }
        if let ping, ping.received > 0, ping.lossPercent >= analyzer.thresholds.ping.lossWarnPercent { return true }
        return trace.hops.contains { $0.received > 0 && $0.lossPercent >= analyzer.thresholds.path.hopLossPercent }
    }

    /// `trace` with `count` echo requests sent to each answering hop's main address (all hops
    /// at once, 50 a second each) counted in its hops. A hop whose ping fails keeps no counts.
    private static func withHopEchoes(_ trace: TraceResult, engine: ProbeEngine, count: Int, timeout: Duration) async -> TraceResult {
        let family: FamilyPreference = trace.address.family == .ipv4 ? .ipv4 : .ipv6
        let counts = await withTaskGroup(of: (Int, PingResult?).self) { group in
            for (index, hop) in trace.hops.enumerated() {
                guard let address = hop.isDestination ? trace.address : hop.addresses.first?.address else { continue }
                group.addTask {
                    (index, try? await engine.ping(address.description, count: count, interval: .milliseconds(20), timeout: timeout, family: family))
                }
            }
            var results: [Int: PingResult] = [:]
            for await (index, result) in group { results[index] = result }
            return results
        }
        var result = trace
        for (index, ping) in counts {
            result.hops[index].echoSent = ping.probes.count
            result.hops[index].echoReceived = ping.received
        }
        return result
    }

    private static func capture<T>(_ body: () async throws(ProbeError) -> T) async -> Result<T, ProbeError> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// The result, or — for failures the check itself reports — a `crit` probe entry; rethrows
    /// what the caller must fix (bad options, privileges, cancellation).
    private static func value<T>(_ outcome: Result<T, ProbeError>, probe: String, failed: inout [ProbeReport]) throws(ProbeError) -> T? {
        switch outcome {
        case .success(let value):
            return value
        case .failure(let error):
            switch error {
            case .unresolvableTarget, .systemError, .addressFamilyUnavailable:
                failed.append(ProbeReport(name: probe, status: .crit, details: [:], error: error.description))
                return nil
            default:
                throw error
            }
        }
    }

    /// ping, traceroute first, then the rest in the order given.
    private static func ordered(_ probes: [ProbeReport]) -> [ProbeReport] {
        let rank = ["ping": 0, "traceroute": 1]
        return probes.enumerated().sorted { lhs, rhs in
            let (l, r) = (rank[lhs.element.name] ?? 2, rank[rhs.element.name] ?? 2)
            return l != r ? l < r : lhs.offset < rhs.offset
        }.map(\.element)
    }
}
