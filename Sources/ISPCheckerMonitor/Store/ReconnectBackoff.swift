import ISPChecker

/// How long to wait before the next attempt to reach the database. A seam: the library's
/// retry policy can be adapted to it without touching the stores.
public protocol ReconnectBackoff: Sendable {
    /// The pause before attempt `attempt + 1`, after `attempt` (≥ 1) consecutive failures.
    func delay(afterFailures attempt: Int) -> Duration
}

/// Doubles the pause after each failure, from `initial` up to `maximum`.
public struct ExponentialReconnectBackoff: ReconnectBackoff {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    /// 250 ms, 500 ms, 1 s, … capped at 10 s.
    public static let `default` = ExponentialReconnectBackoff(initial: .milliseconds(250), maximum: .seconds(10))

    public init(initial: Duration, maximum: Duration, multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    public func delay(afterFailures attempt: Int) -> Duration {
        let exponent = Double(max(attempt - 1, 0))
        let scaled = initial * min(pow2(multiplier, exponent), 1_000_000)
        return min(scaled, maximum)
    }

    private func pow2(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(min(exponent, 64)) { result *= base }
        return result
    }
}

/// The configured `retry_policy` as the store's reconnect backoff: `initial_delay` ×
/// `backoff_factor` per failure, capped at `max_delay` (without jitter: one store, one client).
/// Unlike a probe's retries it never gives up after `max_attempts`: the runs wait in memory, so
/// the store keeps trying at `max_delay` until it is back.
public struct RetryPolicyBackoff: ReconnectBackoff {
    public var policy: RetryPolicy

    public init(_ policy: RetryPolicy) { self.policy = policy }

    public func delay(afterFailures attempt: Int) -> Duration {
        policy.backoff(beforeRetry: max(1, min(attempt, 64)))
    }
}
