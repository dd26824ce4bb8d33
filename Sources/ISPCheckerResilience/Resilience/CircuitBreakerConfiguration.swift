import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// When a circuit breaker opens and how it recovers: the runbook's `circuit_breaker` (§2.2),
/// with an optional failure-rate window.
public struct CircuitBreakerConfiguration: Sendable, Equatable {
    /// A count-based sliding window over the last `size` calls, as in resilience4j: the breaker
    /// also opens when, with at least `minimumCalls` recorded, the share of failures in the window
    /// reaches `failureRateThresholdPercent`. Catches a target that fails every other call, which
    /// never makes `failureThreshold` failures in a row.
    public struct FailureRateWindow: Sendable, Equatable {
        /// Calls kept (`sliding_window_size`, ≥ 1).
        public var size: Int
        /// Calls needed before the rate is judged (`minimum_calls`, 1 … size).
        public var minimumCalls: Int
        /// Failure share that opens the breaker, in percent (`failure_rate_threshold`, 0 < x ≤ 100).
        public var failureRateThresholdPercent: Double

        public init(size: Int = 20, minimumCalls: Int = 10, failureRateThresholdPercent: Double = 50) {
            self.size = size
            self.minimumCalls = minimumCalls
            self.failureRateThresholdPercent = failureRateThresholdPercent
        }
    }

    /// Consecutive failures in the closed state that open the breaker (`failure_threshold`, ≥ 1).
    public var failureThreshold: Int
    /// How long an open breaker fails fast before it lets trial calls through (`recovery_timeout`).
    public var recoveryTimeout: Duration
    /// Trial calls let through at the same time in the half-open state (`half_open_max_calls`, ≥ 1).
    public var halfOpenMaxCalls: Int
    /// Successful trial calls that close the breaker again (`success_threshold`, ≥ 1).
    public var successThreshold: Int
    /// The optional failure-rate criterion (`sliding_window_size`, `minimum_calls`,
    /// `failure_rate_threshold`); `nil` opens on consecutive failures only.
    public var failureRateWindow: FailureRateWindow?

    public init(failureThreshold: Int = 5, recoveryTimeout: Duration = .seconds(60), halfOpenMaxCalls: Int = 3,
                successThreshold: Int = 2, failureRateWindow: FailureRateWindow? = nil) {
        self.failureThreshold = failureThreshold
        self.recoveryTimeout = recoveryTimeout
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.successThreshold = successThreshold
        self.failureRateWindow = failureRateWindow
    }

    /// The runbook's values: 5 failures, 60 s, 3 trial calls, 2 successes; no rate window.
    public static let `default` = CircuitBreakerConfiguration()

    /// The largest count a setting takes (thresholds, trial calls, window size): the window is
    /// kept in memory, so a typing error (`sliding_window_size: 1e14`) must not reach it.
    public static let maximumCount = 100_000

    /// The settings that cannot work, each with its runbook key; empty when valid.
    public var problems: [SettingProblem] {
        var problems: [SettingProblem] = []
        let counts = 1...Self.maximumCount
        if !counts.contains(failureThreshold) {
            problems.append(.init(key: "failure_threshold", reason: failureThreshold < 1 ? "must be at least 1, got \(failureThreshold)" : "must be at most \(Self.maximumCount), got \(failureThreshold)"))
        }
        if recoveryTimeout < .zero || recoveryTimeout > RetryPolicy.maximumDelay {
            problems.append(.init(key: "recovery_timeout", reason: recoveryTimeout < .zero ? "must not be negative, got \(recoveryTimeout)" : "must be at most a day (86400 s), got \(recoveryTimeout)"))
        }
        if !counts.contains(halfOpenMaxCalls) {
            problems.append(.init(key: "half_open_max_calls", reason: halfOpenMaxCalls < 1 ? "must be at least 1, got \(halfOpenMaxCalls)" : "must be at most \(Self.maximumCount), got \(halfOpenMaxCalls)"))
        }
        if !counts.contains(successThreshold) {
            problems.append(.init(key: "success_threshold", reason: successThreshold < 1 ? "must be at least 1, got \(successThreshold)" : "must be at most \(Self.maximumCount), got \(successThreshold)"))
        }
        if let window = failureRateWindow {
            if !counts.contains(window.size) {
                problems.append(.init(key: "sliding_window_size", reason: window.size < 1 ? "must be at least 1, got \(window.size)" : "must be at most \(Self.maximumCount), got \(window.size)"))
            }
            if window.minimumCalls < 1 || window.minimumCalls > max(window.size, 1) {
                problems.append(.init(key: "minimum_calls", reason: "must be between 1 and sliding_window_size (\(window.size)), got \(window.minimumCalls)"))
            }
            if !(window.failureRateThresholdPercent > 0 && window.failureRateThresholdPercent <= 100) {
                problems.append(.init(key: "failure_rate_threshold", reason: "must be a percentage above 0 and at most 100, got \(window.failureRateThresholdPercent)"))
            }
        }
        return problems
    }
}
