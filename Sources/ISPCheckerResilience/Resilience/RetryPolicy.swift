import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// How to try an operation again after a transient failure: the runbook's `retry_policy`
/// (§2.1) with jitter and a per-attempt timeout that grows on retries.
///
/// The delay before retry *n* (n = 1 after the first failure) is, before jitter,
/// `min(initialDelay × backoffFactor^(n−1), maxDelay)`: 1 s, 2 s, 4 s … 30 s with the defaults.
public struct RetryPolicy: Sendable, Equatable {
    /// How a computed backoff is randomised so that many failing probes do not retry in lock step.
    public enum Jitter: String, Sendable, Equatable, Codable, CaseIterable {
        /// Exactly the backoff formula.
        case none
        /// Uniform in `[0, backoff]` (AWS's "full jitter").
        case full
        /// Uniform in `[initialDelay, previousDelay × backoffFactor]`, capped at `maxDelay`
        /// (AWS's "decorrelated jitter", with the policy's factor in place of AWS's fixed 3).
        case decorrelated
    }

    /// A time limit for each attempt that grows on retries (the runbook: "increase timeout values
    /// for subsequent attempts"). Attempt *n* gets `min(initial × factor^(n−1), maximum)`.
    public struct AttemptTimeout: Sendable, Equatable {
        /// The first attempt's limit.
        public var initial: Duration
        /// How much each retry's limit grows (≥ 1).
        public var factor: Double
        /// The largest limit any attempt gets.
        public var maximum: Duration

        public init(initial: Duration, factor: Double = 2, maximum: Duration = .seconds(60)) {
            self.initial = initial
            self.factor = factor
            self.maximum = maximum
        }
    }

    /// Attempts in all, the first one included (`max_attempts`, ≥ 1). 1 means no retry.
    public var maxAttempts: Int
    /// Growth of the delay from one retry to the next (`backoff_factor`, ≥ 1).
    public var backoffFactor: Double
    /// The delay before the first retry (`initial_delay`).
    public var initialDelay: Duration
    /// No delay is longer than this (`max_delay`).
    public var maxDelay: Duration
    /// The kinds of failure that are retried (`retryable_errors`); every other error is thrown at once.
    public var retryableErrors: Set<RetryableErrorKind>
    /// Randomisation of the delays (`jitter`; not in the runbook, `full` by default).
    public var jitter: Jitter
    /// A limit per attempt, growing on retries (`attempt_timeout`, `attempt_timeout_factor`,
    /// `max_attempt_timeout`); `nil` runs each attempt for as long as it takes.
    public var attemptTimeout: AttemptTimeout?

    public init(maxAttempts: Int = 3, backoffFactor: Double = 2, initialDelay: Duration = .seconds(1),
                maxDelay: Duration = .seconds(30),
                retryableErrors: Set<RetryableErrorKind> = [.timeout, .connectionRefused, .temporaryFailure],
                jitter: Jitter = .full, attemptTimeout: AttemptTimeout? = nil) {
        self.maxAttempts = maxAttempts
        self.backoffFactor = backoffFactor
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.retryableErrors = retryableErrors
        self.jitter = jitter
        self.attemptTimeout = attemptTimeout
    }

    /// The runbook's values: 3 attempts, factor 2, 1 s initial delay, 30 s at most, retrying
    /// timeouts, refusals and temporary failures; full jitter; no per-attempt timeout.
    public static let `default` = RetryPolicy()

    /// Never retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The most attempts a policy may make (`max_attempts`).
    public static let maximumAttempts = 1000
    /// The largest growth factor (`backoff_factor`, `attempt_timeout_factor`).
    public static let maximumFactor = 1000.0
    /// The longest delay or attempt timeout: one day. Longer ones are typing errors
    /// (`initial_delay: 1e14s`), and would overflow the clocks' arithmetic.
    public static let maximumDelay = Duration.seconds(86_400)

    /// The settings that cannot work, each with its runbook key; empty when the policy is valid.
    public var problems: [SettingProblem] {
        var problems: [SettingProblem] = []
        if maxAttempts < 1 { problems.append(.init(key: "max_attempts", reason: "must be at least 1, got \(maxAttempts)")) }
        if maxAttempts > Self.maximumAttempts {
            problems.append(.init(key: "max_attempts", reason: "must be at most \(Self.maximumAttempts), got \(maxAttempts)"))
        }
        if !(backoffFactor >= 1 && backoffFactor <= Self.maximumFactor) {
            problems.append(.init(key: "backoff_factor", reason: "must be a number from 1 to \(Int(Self.maximumFactor)), got \(backoffFactor)"))
        }
        if initialDelay < .zero { problems.append(.init(key: "initial_delay", reason: "must not be negative, got \(initialDelay)")) }
        if initialDelay > Self.maximumDelay {
            problems.append(.init(key: "initial_delay", reason: "must be at most a day (86400 s), got \(initialDelay)"))
        }
        if maxDelay < .zero { problems.append(.init(key: "max_delay", reason: "must not be negative, got \(maxDelay)")) }
        if maxDelay > Self.maximumDelay {
            problems.append(.init(key: "max_delay", reason: "must be at most a day (86400 s), got \(maxDelay)"))
        }
        if maxDelay < initialDelay && initialDelay >= .zero && maxDelay >= .zero {
            problems.append(.init(key: "max_delay", reason: "must be at least initial_delay (\(initialDelay)), got \(maxDelay)"))
        }
        if let timeout = attemptTimeout {
            if timeout.initial <= .zero || timeout.initial > Self.maximumDelay {
                problems.append(.init(key: "attempt_timeout", reason: "must be positive and at most a day (86400 s), got \(timeout.initial)"))
            }
            if !(timeout.factor >= 1 && timeout.factor <= Self.maximumFactor) {
                problems.append(.init(key: "attempt_timeout_factor", reason: "must be a number from 1 to \(Int(Self.maximumFactor)), got \(timeout.factor)"))
            }
            if timeout.maximum > Self.maximumDelay {
                problems.append(.init(key: "max_attempt_timeout", reason: "must be at most a day (86400 s), got \(timeout.maximum)"))
            }
            if timeout.maximum < timeout.initial {
                problems.append(.init(key: "max_attempt_timeout", reason: "must be at least attempt_timeout (\(timeout.initial)), got \(timeout.maximum)"))
            }
        }
        return problems
    }

    /// The backoff before retry `retry` (1 = after the first failure), before jitter.
    public func backoff(beforeRetry retry: Int) -> Duration {
        precondition(retry >= 1, "retries are counted from 1")
        return Self.grown(initialDelay, factor: backoffFactor, steps: retry - 1, cap: maxDelay)
    }

    /// The backoff after `failures` (≥ 1) consecutive failures of something tried again for as
    /// long as it takes (a run store reconnecting, a migration waiting for its server), before
    /// jitter: the delay before retry `failures`, then `maxDelay` for ever once the growth has
    /// reached it. `maxAttempts` does not apply: such a loop never gives up.
    public func backoff(afterFailures failures: Int) -> Duration {
        backoff(beforeRetry: max(1, failures))
    }

    /// The delay before retry `retry`, with jitter drawn from `random`. `previousDelay` is the delay
    /// actually slept before the previous retry (`nil` before the first), which decorrelated jitter
    /// grows from.
    public func delay(beforeRetry retry: Int, previousDelay: Duration?,
                      using random: inout some RandomNumberGenerator) -> Duration {
        switch jitter {
        case .none:
            return backoff(beforeRetry: retry)
        case .full:
            return Self.uniform(from: .zero, to: backoff(beforeRetry: retry), using: &random)
        case .decorrelated:
            let previous = previousDelay ?? initialDelay
            let upper = min(Self.scaled(previous, by: backoffFactor), maxDelay)
            return min(Self.uniform(from: min(initialDelay, upper), to: upper, using: &random), maxDelay)
        }
    }

    /// The time limit of attempt `attempt` (1 = the first), or `nil` without `attemptTimeout`.
    public func timeout(forAttempt attempt: Int) -> Duration? {
        guard let timeout = attemptTimeout else { return nil }
        return Self.grown(timeout.initial, factor: timeout.factor, steps: attempt - 1, cap: timeout.maximum)
    }

    // MARK: Duration arithmetic

    static func grown(_ base: Duration, factor: Double, steps: Int, cap: Duration) -> Duration {
        var value = base
        for _ in 0..<max(steps, 0) {
            let next = scaled(value, by: factor)
            if next >= cap { return cap }
            // No growth (a zero delay, a factor of 1): it stays so however many steps follow.
            if next == value { break }
            value = next
        }
        return min(value, cap)
    }

    /// `duration × factor`, saturating instead of overflowing.
    static func scaled(_ duration: Duration, by factor: Double) -> Duration {
        let nanoseconds = Double(duration.totalNanoseconds) * factor
        if nanoseconds >= Double(Int64.max) { return .nanoseconds(Int64.max) }
        return .nanoseconds(Int64(nanoseconds))
    }

    static func uniform(from lower: Duration, to upper: Duration, using random: inout some RandomNumberGenerator) -> Duration {
        let low = lower.totalNanoseconds
        let high = upper.totalNanoseconds
        guard high > low else { return lower }
        return .nanoseconds(Int64.random(in: low...high, using: &random))
    }
}

/// One invalid setting: its key as the configuration file spells it, and why it is wrong.
public struct SettingProblem: Sendable, Equatable, CustomStringConvertible {
    /// The setting's key (`max_attempts`), or its path once a section is known (`retry_policy.max_attempts`).
    public var key: String
    public var reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(key): \(reason)" }

    /// The same problem with its key under `section`.
    public func inSection(_ section: String) -> SettingProblem { SettingProblem(key: "\(section).\(key)", reason: reason) }
}
