import CoreMetrics

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
public actor CircuitBreaker<C: Clock> where C.Duration == Duration {
    /// A ticket for one admitted call, handed back with its outcome to `record(_:for:)`.
    public struct Permit: Sendable {
        fileprivate let generation: UInt64
    }

    /// How a call that was let through ended, for `record(_:for:)`.
    public enum Result: Sendable {
        case success
        case failure
        /// Says nothing about the target (cancelled, or an error that does not count).
        case ignored
    }

    /// The target this breaker guards (the `target` label of its metrics).
    public nonisolated let target: String
    public nonisolated let configuration: CircuitBreakerConfiguration
    public nonisolated let clock: C
    /// Which thrown errors count as failures; the others are `ignored`.
    public nonisolated let isFailure: @Sendable (any Error) -> Bool

    private var state: CircuitState = .closed
    /// Bumped on every transition, so late outcomes of calls admitted earlier are recognised.
    private var generation: UInt64 = 0
    private var consecutiveFailures = 0
    private var window: OutcomeWindow?
    private var openUntil: C.Instant?
    private var openReason = ""
    private var halfOpenInFlight = 0
    private var halfOpenSuccesses = 0
    private var stats = CircuitBreakerStatistics()
    private let onStateChange: (@Sendable (CircuitStateChange) -> Void)?
    private let metrics: CircuitBreakerMetrics

    /// - Parameters:
    ///   - target: what the breaker guards; names it in errors, callbacks and metrics.
    ///   - clock: the time source (a `ManualClock` in tests).
    ///   - isFailure: which errors count as failures; by default all but cancellation.
    ///   - metricsFactory: where metrics go; the process's bootstrapped factory by default.
    ///   - onStateChange: called on the breaker's actor at each transition; keep it short.
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
        self.window = configuration.failureRateWindow.map { OutcomeWindow(size: $0.size) }
        self.metrics = CircuitBreakerMetrics(target: target, factory: metricsFactory ?? MetricsSystem.factory)
        metrics.show(.closed)
    }

    /// The state now. An open breaker whose recovery timeout has passed turns half-open here, as
    /// it would on the next call.
    public var currentState: CircuitState {
        refreshOpenState()
        return state
    }

    /// Every call's outcome so far.
    public var statistics: CircuitBreakerStatistics { stats }

    /// When an open breaker lets trial calls through; `nil` unless open.
    public var retryAt: C.Instant? { state == .open ? openUntil : nil }

    // MARK: Guarded calls

    /// Runs `operation` if the breaker admits it, and counts its outcome: a return is a success,
    /// a thrown error a failure when `isFailure` says so, cancellation is ignored. Throws
    /// `CircuitBreakerError` without running `operation` when the breaker refuses the call.
    /// `operation` runs in the caller's isolation, not on the breaker.
    public func run<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ operation: () async throws -> T
    ) async throws -> T {
        let permit = try await acquire()
        let value: T
        do {
            value = try await operation()
        } catch {
            let result: Result = Task.isCancelled || !isFailure(error) ? .ignored : .failure
            await record(result, for: permit)
            throw error
        }
        await record(.success, for: permit)
        return value
    }

    /// Asks to make one call. Returns a permit, to be handed back with the outcome through
    /// `record(_:for:)` exactly once; throws `CircuitBreakerError` when the call must not be made.
    /// For callers that cannot wrap the call in `run`.
    public func acquire() throws(CircuitBreakerError) -> Permit {
        refreshOpenState()
        switch state {
        case .closed:
            break
        case .open:
            stats.rejected += 1
            metrics.count(.rejected)
            let remaining = openUntil.map { clock.now.duration(to: $0) } ?? configuration.recoveryTimeout
            throw .open(target: target, retryAfter: max(remaining, .zero), reason: openReason)
        case .halfOpen:
            guard halfOpenInFlight < configuration.halfOpenMaxCalls else {
                stats.rejected += 1
                metrics.count(.rejected)
                throw .halfOpenSaturated(target: target, maxCalls: configuration.halfOpenMaxCalls)
            }
            halfOpenInFlight += 1
        }
        stats.inFlight += 1
        return Permit(generation: generation)
    }

    /// Counts the outcome of a call admitted by `acquire()`.
    public func record(_ result: Result, for permit: Permit) {
        stats.inFlight -= 1
        switch result {
        case .success: stats.successes += 1; metrics.count(.success)
        case .failure: stats.failures += 1; metrics.count(.failure)
        case .ignored: stats.ignored += 1; metrics.count(.ignored)
        }
        // A call admitted before the last transition does not move the new state.
        guard permit.generation == generation else { return }
        switch state {
        case .closed:
            recordClosed(result)
        case .halfOpen:
            halfOpenInFlight -= 1
            switch result {
            case .success:
                halfOpenSuccesses += 1
                if halfOpenSuccesses >= configuration.successThreshold {
                    transition(to: .closed, reason: "\(halfOpenSuccesses) successful trial call(s)")
                }
            case .failure:
                open(reason: "a trial call failed")
            case .ignored:
                break
            }
        case .open:
            // Nothing is admitted while open, so no current-generation permit can end here.
            break
        }
    }

    /// Closes the breaker and forgets its failures (an operator's "reset").
    public func reset() {
        if state != .closed { transition(to: .closed, reason: "reset") }
        consecutiveFailures = 0
        window?.removeAll()
    }

    // MARK: Transitions

    private func recordClosed(_ result: Result) {
        switch result {
        case .success:
            consecutiveFailures = 0
            window?.append(failure: false)
        case .failure:
            consecutiveFailures += 1
            window?.append(failure: true)
            if consecutiveFailures >= configuration.failureThreshold {
                open(reason: "\(consecutiveFailures) consecutive failures")
            } else if let rule = configuration.failureRateWindow, let window, window.count >= rule.minimumCalls,
                      window.failurePercent >= rule.failureRateThresholdPercent {
                open(reason: "\(window.failures) failures in the last \(window.count) calls")
            }
        case .ignored:
            break
        }
    }

    private func open(reason: String) {
        openUntil = clock.now.advanced(by: configuration.recoveryTimeout)
        openReason = reason
        transition(to: .open, reason: reason)
    }

    /// "Never stays open past the recovery timeout once a call is attempted": checked on every
    /// call and every state query.
    private func refreshOpenState() {
        guard state == .open, let until = openUntil, clock.now >= until else { return }
        transition(to: .halfOpen, reason: "recovery timeout of \(CircuitBreakerError.seconds(configuration.recoveryTimeout)) passed")
    }

    private func transition(to newState: CircuitState, reason: String) {
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
        metrics.show(newState)
        onStateChange?(CircuitStateChange(target: target, from: old, to: newState, reason: reason))
    }
}

extension CircuitBreaker where C == ContinuousClock {
    /// A breaker on the continuous clock.
    public init(target: String, configuration: CircuitBreakerConfiguration = .default,
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
