import CoreMetrics
import ISPCheckerAnalysis
import ISPCheckerResults
import ISPCheckerPrimitives

/// A circuit breaker for one target (runbook §2.2), improved on the runbook's sketch: consecutive
/// failures (and optionally a failure rate over a sliding window) open it; while open it fails
/// fast with `CircuitBreakerError.open`, which says when it will let calls through again; once the
/// recovery timeout has passed, the next call finds it half-open, where at most
/// `halfOpenMaxCalls` trial calls run at once; `successThreshold` successes close it, one failure
/// reopens it.
///
/// Time comes from the injected clock, so tests use `ManualClock` and never sleep. Transitions
/// are reported to `onStateChange` and, with every call's outcome, through swift-metrics:
/// - `isp_checker_circuit_breaker_state{target, state}`: 1 for the current state, 0 for the others;
/// - `isp_checker_circuit_breaker_calls_total{target, outcome}`: outcome `success`, `failure`,
///   `rejected` or `ignored`.
///
/// An outcome is counted against the state that admitted the call: a call admitted before a
/// transition that ends after it is counted in the statistics and metrics but does not move the
/// new state.
///
/// The state lives behind a lock, not on an actor: admitting a call and recording its outcome are
/// a few comparisons (61 ns per guarded call), and two hops onto an actor alone cost 162 ns, over
/// the 100 ns budget (docs/benchmarks.md). No lock is held while the operation runs or a callback
/// is called.
public final class CircuitBreaker<C: Clock>: Sendable where C.Duration == Duration {
    public typealias Permit = CircuitBreakerPermit
    public typealias Result = CircuitBreakerCallResult

    /// The target this breaker guards (the `target` label of its metrics).
    public let target: String
    public let configuration: CircuitBreakerConfiguration
    public let clock: C
    /// Which thrown errors count as failures; the others are `ignored`.
    public let isFailure: @Sendable (any Error) -> Bool

    private let core: Locked<BreakerCore>
    /// Times inside the state machine are durations since this instant, so the state machine is
    /// not generic over the clock and the closed-state path runs specialised code.
    private let epoch: C.Instant
    private let onStateChange: (@Sendable (CircuitStateChange) -> Void)?
    private let metrics: CircuitBreakerMetrics

    /// - Parameters:
    ///   - target: what the breaker guards; names it in errors, callbacks and metrics.
    ///   - configuration: must be valid (`configuration.problems` empty), as
    ///     `ISPCheckerConfig` guarantees for loaded settings; an invalid one is a programming error.
    ///   - clock: the time source (a `ManualClock` in tests).
    ///   - isFailure: which errors count as failures; by default all but cancellation.
    ///   - metricsFactory: where metrics go; the process's bootstrapped factory by default.
    ///   - onStateChange: called after each transition, on the task that caused it, without any
    ///     lock held; transitions caused at the same moment by different tasks may be reported
    ///     in either order.
    public init(target: String, configuration: CircuitBreakerConfiguration = .default, clock: C,
                isFailure: @escaping @Sendable (any Error) -> Bool = CircuitBreakerDefaults.isFailure,
                metricsFactory: (any MetricsFactory)? = nil,
                onStateChange: (@Sendable (CircuitStateChange) -> Void)? = nil) {
        precondition(configuration.problems.isEmpty, "invalid circuit breaker configuration: \(configuration.problems)")
        self.target = target
        self.configuration = configuration
        self.clock = clock
        self.isFailure = isFailure
        self.onStateChange = onStateChange
        self.core = Locked(BreakerCore(target: target, configuration: configuration))
        self.epoch = clock.now
        self.metrics = CircuitBreakerMetrics(target: target, factory: metricsFactory ?? MetricsSystem.factory)
        metrics.show(.closed)
    }

    /// The state now. An open breaker whose recovery timeout has passed turns half-open here, as
    /// it would on the next call.
    public var currentState: CircuitState {
        let (state, change) = core.withLock { core in
            let change = core.refreshOpenState(now: elapsed, metrics: metrics)
            return (core.state, change)
        }
        report(change)
        return state
    }

    /// Every call's outcome so far.
    public var statistics: CircuitBreakerStatistics { core.withLock { $0.stats } }

    /// When an open breaker lets trial calls through; `nil` unless open.
    public var retryAt: C.Instant? {
        core.withLock { $0.state == .open ? $0.openUntil : nil }.map { epoch.advanced(by: $0) }
    }

    /// The clock's time as the state machine counts it.
    private func elapsed() -> Duration { epoch.duration(to: clock.now) }

    // MARK: Guarded calls

    /// Runs `operation` if the breaker admits it, and counts its outcome: a return is a success,
    /// a thrown error a failure when `isFailure` says so, cancellation is ignored. Throws
    /// `CircuitBreakerError` without running `operation` when the breaker refuses the call.
    /// `operation` runs in the caller's isolation. Inlinable (it uses only public API), so it is
    /// specialised for the caller's clock and value type.
    @inlinable
    public func run<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ operation: () async throws -> T
    ) async throws -> T {
        let permit = try acquire()
        let value: T
        do {
            value = try await operation()
        } catch {
            record(Task.isCancelled || !isFailure(error) ? .ignored : .failure, for: permit)
            throw error
        }
        record(.success, for: permit)
        return value
    }

    /// Asks to make one call. Returns a permit, to be handed back with the outcome through
    /// `record(_:for:)` exactly once; throws `CircuitBreakerError` when the call must not be made.
    /// For callers that cannot wrap the call in `run`.
    @_specialize(exported: true, where C == ContinuousClock)
    public func acquire() throws(CircuitBreakerError) -> Permit {
        // The closed state needs neither the clock nor the metrics: the common call forms no closure.
        let (admitted, change) = core.withLock { core -> (Swift.Result<Permit, CircuitBreakerError>, CircuitStateChange?) in
            if let permit = core.admitWhenClosed() { return (.success(permit), nil) }
            return core.acquire(now: elapsed, metrics: metrics)
        }
        report(change)
        switch admitted {
        case .success(let permit): return permit
        case .failure(let error):
            metrics.count(.rejected)
            throw error
        }
    }

    /// Counts the outcome of a call admitted by `acquire()`.
    @_specialize(exported: true, where C == ContinuousClock)
    public func record(_ result: Result, for permit: Permit) {
        let change = core.withLock { core -> CircuitStateChange? in
            if core.recordSuccessWhenClosed(result, for: permit) { return nil }
            return core.record(result, for: permit, now: elapsed, metrics: metrics)
        }
        switch result {
        case .success: metrics.count(.success)
        case .failure: metrics.count(.failure)
        case .ignored: metrics.count(.ignored)
        }
        report(change)
    }

    /// Closes the breaker and forgets its failures (an operator's "reset").
    public func reset() {
        let change = core.withLock { core in core.reset(metrics: metrics) }
        report(change)
    }

    private func report(_ change: CircuitStateChange?) {
        if let change, let onStateChange { onStateChange(change) }
    }
}

/// A ticket for one call a `CircuitBreaker` admitted, handed back with its outcome to `record(_:for:)`.
public struct CircuitBreakerPermit: Sendable {
    fileprivate let generation: UInt64
}

/// How a call that a `CircuitBreaker` let through ended, for `record(_:for:)`.
public enum CircuitBreakerCallResult: Sendable {
    case success
    case failure
    /// Says nothing about the target (cancelled, or an error that does not count).
    case ignored
}

/// The breaker's state machine, always used under the breaker's lock. Times are durations since
/// the breaker's epoch; `now` reads the clock and is called only when the state needs it.
struct BreakerCore: Sendable {
    let target: String
    let configuration: CircuitBreakerConfiguration
    private(set) var state: CircuitState = .closed
    /// Bumped on every transition, so late outcomes of calls admitted earlier are recognised.
    private var generation: UInt64 = 0
    private var consecutiveFailures = 0
    private var window: OutcomeWindow?
    private(set) var openUntil: Duration?
    private var openReason = ""
    private var halfOpenInFlight = 0
    private var halfOpenSuccesses = 0
    private(set) var stats = CircuitBreakerStatistics()

    init(target: String, configuration: CircuitBreakerConfiguration) {
        self.target = target
        self.configuration = configuration
        self.window = configuration.failureRateWindow.map { OutcomeWindow(size: $0.size) }
    }

    typealias Permit = CircuitBreakerPermit

    /// The closed state's admission, which needs no clock: nil when the breaker is not closed.
    @inline(__always)
    mutating func admitWhenClosed() -> Permit? {
        guard state == .closed else { return nil }
        stats.inFlight += 1
        return Permit(generation: generation)
    }

    /// A success of a call admitted by the current closed state, which cannot cause a transition:
    /// counts it and returns true; false (nothing counted) for every other case, which `record` handles.
    @inline(__always)
    mutating func recordSuccessWhenClosed(_ result: CircuitBreakerCallResult, for permit: Permit) -> Bool {
        guard case .success = result, state == .closed, permit.generation == generation else { return false }
        stats.inFlight -= 1
        stats.successes += 1
        consecutiveFailures = 0
        window?.append(failure: false)
        return true
    }

    mutating func acquire(now: () -> Duration, metrics: CircuitBreakerMetrics)
        -> (Swift.Result<Permit, CircuitBreakerError>, CircuitStateChange?) {
        let change = refreshOpenState(now: now, metrics: metrics)
        switch state {
        case .closed:
            break
        case .open:
            stats.rejected += 1
            let remaining = openUntil.map { $0 - now() } ?? configuration.recoveryTimeout
            return (.failure(.open(target: target, retryAfter: max(remaining, .zero), reason: openReason)), change)
        case .halfOpen:
            guard halfOpenInFlight < configuration.halfOpenMaxCalls else {
                stats.rejected += 1
                return (.failure(.halfOpenSaturated(target: target, maxCalls: configuration.halfOpenMaxCalls)), change)
            }
            halfOpenInFlight += 1
        }
        stats.inFlight += 1
        return (.success(Permit(generation: generation)), change)
    }

    mutating func record(_ result: CircuitBreakerCallResult, for permit: Permit, now: () -> Duration,
                         metrics: CircuitBreakerMetrics) -> CircuitStateChange? {
        stats.inFlight -= 1
        switch result {
        case .success: stats.successes += 1
        case .failure: stats.failures += 1
        case .ignored: stats.ignored += 1
        }
        // A call admitted before the last transition does not move the new state.
        guard permit.generation == generation else { return nil }
        switch state {
        case .closed:
            return recordClosed(result, now: now, metrics: metrics)
        case .halfOpen:
            halfOpenInFlight -= 1
            switch result {
            case .success:
                halfOpenSuccesses += 1
                if halfOpenSuccesses >= configuration.successThreshold {
                    return transition(to: .closed, reason: "\(halfOpenSuccesses) successful trial call(s)", metrics: metrics)
                }
                return nil
            case .failure:
                return open(reason: "a trial call failed", now: now, metrics: metrics)
            case .ignored:
                return nil
            }
        case .open:
            // Nothing is admitted while open, so no current-generation permit can end here.
            return nil
        }
    }

    mutating func reset(metrics: CircuitBreakerMetrics) -> CircuitStateChange? {
        let change = state == .closed ? nil : transition(to: .closed, reason: "reset", metrics: metrics)
        consecutiveFailures = 0
        window?.removeAll()
        return change
    }

    /// "Never stays open past the recovery timeout once a call is attempted": checked on every
    /// call and every state query.
    mutating func refreshOpenState(now: () -> Duration, metrics: CircuitBreakerMetrics) -> CircuitStateChange? {
        guard state == .open, let until = openUntil, now() >= until else { return nil }
        return transition(to: .halfOpen,
                          reason: "recovery timeout of \(CircuitBreakerError.seconds(configuration.recoveryTimeout)) passed",
                          metrics: metrics)
    }

    private mutating func recordClosed(_ result: CircuitBreakerCallResult, now: () -> Duration,
                                       metrics: CircuitBreakerMetrics) -> CircuitStateChange? {
        switch result {
        case .success:
            consecutiveFailures = 0
            window?.append(failure: false)
        case .failure:
            consecutiveFailures += 1
            window?.append(failure: true)
            if consecutiveFailures >= configuration.failureThreshold {
                return open(reason: "\(consecutiveFailures) consecutive failures", now: now, metrics: metrics)
            } else if let rule = configuration.failureRateWindow, let window, window.count >= rule.minimumCalls,
                      window.failurePercent >= rule.failureRateThresholdPercent {
                return open(reason: "\(window.failures) failures in the last \(window.count) calls", now: now, metrics: metrics)
            }
        case .ignored:
            break
        }
        return nil
    }

    private mutating func open(reason: String, now: () -> Duration, metrics: CircuitBreakerMetrics) -> CircuitStateChange {
        openUntil = now() + configuration.recoveryTimeout
        openReason = reason
        return transition(to: .open, reason: reason, metrics: metrics)
    }

    private mutating func transition(to newState: CircuitState, reason: String,
                                     metrics: CircuitBreakerMetrics) -> CircuitStateChange {
        let old = state
        state = newState
        generation &+= 1
        stats.transitions += 1
        halfOpenInFlight = 0
        halfOpenSuccesses = 0
        if newState == .closed {
            consecutiveFailures = 0
            window?.removeAll()
            openUntil = nil
        }
        // Under the lock, so the gauge always ends on the latest state.
        metrics.show(newState)
        return CircuitStateChange(target: target, from: old, to: newState, reason: reason)
    }
}

extension CircuitBreaker where C == ContinuousClock {
    /// A breaker on the continuous clock.
    public convenience init(target: String, configuration: CircuitBreakerConfiguration = .default,
                isFailure: @escaping @Sendable (any Error) -> Bool = CircuitBreakerDefaults.isFailure,
                metricsFactory: (any MetricsFactory)? = nil,
                onStateChange: (@Sendable (CircuitStateChange) -> Void)? = nil) {
        self.init(target: target, configuration: configuration, clock: ContinuousClock(), isFailure: isFailure,
                  metricsFactory: metricsFactory, onStateChange: onStateChange)
    }
}

/// Defaults shared by breakers and their registry.
public enum CircuitBreakerDefaults {
    /// Every error but cancellation (`CancellationError`, `ProbeError.cancelled`) counts as a failure.
    @Sendable public static func isFailure(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        if let probeError = error as? ProbeError, probeError == .cancelled { return false }
        return true
    }
}

/// The last `size` outcomes in a ring, with a running failure count.
struct OutcomeWindow: Sendable {
    private var ring: [Bool]
    private var next = 0
    private(set) var count = 0
    private(set) var failures = 0

    init(size: Int) { ring = Array(repeating: false, count: size) }

    mutating func append(failure: Bool) {
        if count == ring.count {
            if ring[next] { failures -= 1 }
        } else {
            count += 1
        }
        ring[next] = failure
        if failure { failures += 1 }
        next = (next + 1) % ring.count
    }

    mutating func removeAll() {
        for index in ring.indices { ring[index] = false }
        next = 0
        count = 0
        failures = 0
    }

    var failurePercent: Double { count == 0 ? 0 : Double(failures) * 100 / Double(count) }
}
