import Foundation
import ISPChecker
import Logging

/// A target the monitor checks: its scheduling class and the options of its check.
public struct MonitoredTarget: Sendable {
    public var target: ProbeTarget
    public var options: HealthCheckOptions

    public init(target: ProbeTarget, options: HealthCheckOptions) {
        self.target = target
        self.options = options
    }

    /// The target of `plan`, checked as it says.
    /// - Throws: `ProbeError` for a bad DNS name, resolver or URL.
    public init(_ plan: CheckPlan) throws(ProbeError) {
        self.init(target: plan.probeTarget, options: try plan.healthCheckOptions())
    }
}

/// The monitor's real runs: a `ProbeScheduler` over the targets, each check a
/// `HealthChecker.check` wrapped in the retry policy and guarded by the target's circuit breaker.
///
/// - A check that throws (engine or option errors), or whose probes are all `crit` (target
///   unreachable), is a failed attempt: it is retried as the policy says, and counts as one
///   failure of the breaker when the last attempt fails too. The last unreachable report is still
///   recorded: it is a finding.
/// - While a target's breaker is open (or half-open and saturated) its check is skipped and
///   **no run is recorded**; the scheduler waits the base interval before asking again.
/// - Breaker state changes go to `onBreakerChange` (the monitor sets its gauge and health state).
/// - `history` gives the target's recent runs for the baseline (the store's last 50).
/// - With a `coordinator` (replicas sharing a vantage on PostgreSQL, `PostgresTargetLeases`),
///   each due check first asks it: a target another replica holds is skipped, **no run is
///   recorded**, and the scheduler asks again after the class's base interval.
public struct CheckedRunSource: AsyncSequence, Sendable {
    public typealias Element = RunReport

    public let targets: [MonitoredTarget]
    public let checker: HealthChecker
    public let settings: ResilienceSettings
    public let breakers: CircuitBreakerRegistry<ContinuousClock>
    private let history: @Sendable (String) async -> [RunReport]
    /// Who checks which target when several replicas share the vantage; nil: this monitor checks all.
    public let coordinator: (any TargetCoordinator)?
    private let logger: Logger

    /// - Parameters:
    ///   - onBreakerChange: told of every breaker state change (from the checking task).
    ///   - history: the target's recent runs, newest first or oldest first (the baseline sorts).
    public init(targets: [MonitoredTarget], checker: HealthChecker, settings: ResilienceSettings,
                onBreakerChange: @escaping @Sendable (CircuitStateChange) -> Void = { _ in },
                history: @escaping @Sendable (String) async -> [RunReport] = { _ in [] },
                coordinator: (any TargetCoordinator)? = nil,
                logger: Logger = Logger(label: "isp-checker.monitor.checks")) {
        self.coordinator = coordinator
        self.targets = targets
        self.checker = checker
        self.settings = settings
        self.breakers = CircuitBreakerRegistry(configuration: settings.circuitBreaker, clock: ContinuousClock(),
                                               onStateChange: onBreakerChange)
        self.history = history
        self.logger = logger
    }

    /// A run report that stands for "skipped by the breaker"; filtered out before the consumer.
    static let skippedProbeName = "circuit_breaker_skipped"

    /// The scheduler behind the sequence: adaptive intervals, first checks spread over each
    /// class's base interval, and no bound on checks at once but the targets themselves (each
    /// has one check at a time). A check lasts about 5 s (ten echoes 200 ms apart beside ten
    /// trace rounds 500 ms apart), so 1,000 critical targets every 60 s keep about 90 checks
    /// running: a lower bound (it was 8) only makes checks late, and 1,000 of them then miss
    /// their interval (Benchmarks/monitor-scale).
    public var scheduler: ProbeScheduler<ContinuousClock> {
        let byName = Dictionary(targets.map { ($0.target.name, $0) }, uniquingKeysWith: { first, _ in first })
        let source = self
        return ProbeScheduler(targets: targets.map(\.target), intervals: settings.probeIntervals,
                              maxConcurrentRuns: Swift.max(1, targets.count), adaptive: true, spreadsFirstChecks: true) { target in
            guard let monitored = byName[target.name] else { return Self.skipped(target.name) }
            guard let coordinator = source.coordinator else { return await source.check(monitored) }
            let decision = await coordinator.decide(target: target.name)
            // NaN: the scheduler's base interval, whatever the target's last score here.
            if decision == .skip { return Self.skipped(target.name, score: .nan) }
            let report = await source.check(monitored)
            if decision == .checkThenRelease { await coordinator.release(target: target.name) }
            return report
        }
    }

    /// One guarded, retried check of `monitored`.
    func check(_ monitored: MonitoredTarget) async -> RunReport {
        let name = monitored.target.name
        let breaker = breakers.breaker(for: name)
        let checker = self.checker
        let policy = settings.retryPolicy
        let options = monitored.options
        let history = await self.history(name)
        let logger = self.logger
        do {
            return try await breaker.run {
                try await policy.run(classify: Self.classify, onRetry: { event in
                    logger.info("check failed, retrying", metadata: [
                        "target": "\(name)", "attempt": "\(event.failedAttempt)", "error": "\(event.error)", "delay": "\(event.delay)"])
                }) { _ in
                    let report = try await checker.check(options, history: history)
                    if Self.unreachable(report) { throw TargetUnreachable(report: report) }
                    return report
                }
            }
        } catch let error as TargetUnreachable {
            return error.report
        } catch let error as CircuitBreakerError {
            logger.info("check skipped by the circuit breaker", metadata: ["target": "\(name)", "reason": "\(error)"])
            return Self.skipped(name)
        } catch {
            if Task.isCancelled { return Self.skipped(name) }
            logger.error("check failed", metadata: ["target": "\(name)", "error": "\(error)"])
            return Self.skipped(name)
        }
    }

    /// Every probe `crit`: the target answered nothing.
    static func unreachable(_ report: RunReport) -> Bool {
        !report.probes.isEmpty && report.probes.allSatisfy { $0.status == .crit }
    }

    @Sendable static func classify(_ error: any Error) -> RetryableErrorKind? {
        if error is TargetUnreachable { return .timeout }
        return defaultRetryableErrorKind(of: error)
    }

    static func skipped(_ target: String, score: Double = 0) -> RunReport {
        RunReport(target: target, timestamp: Date(), probes: [ProbeReport(name: skippedProbeName, status: .ok, details: [:])], score: score)
    }

    static func isSkipped(_ report: RunReport) -> Bool {
        report.probes.count == 1 && report.probes[0].name == skippedProbeName
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: ProbeScheduler<ContinuousClock>.Iterator

        public mutating func next() async -> RunReport? {
            while let report = await base.next() {
                if !CheckedRunSource.isSkipped(report) { return report }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: scheduler.makeAsyncIterator()) }
}

/// A check whose probes were all `crit`, thrown so that the retry policy and the breaker see it.
struct TargetUnreachable: Error, CustomStringConvertible {
    let report: RunReport
    var description: String { "\(report.target) is unreachable: every probe failed" }
}
