import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// Every resilience setting, as the configuration file's three sections hold them:
/// `retry_policy`, `circuit_breaker` and `probe_intervals` (runbook §2.1, §2.2, §4.1.1).
/// `ISPCheckerConfig` loads them from YAML; code can build them directly.
public struct ResilienceSettings: Sendable, Equatable {
    /// `retry_policy`.
    public var retryPolicy: RetryPolicy
    /// `circuit_breaker`.
    public var circuitBreaker: CircuitBreakerConfiguration
    /// `probe_intervals`.
    public var probeIntervals: ProbeIntervals

    public init(retryPolicy: RetryPolicy = .default, circuitBreaker: CircuitBreakerConfiguration = .default,
                probeIntervals: ProbeIntervals = .default) {
        self.retryPolicy = retryPolicy
        self.circuitBreaker = circuitBreaker
        self.probeIntervals = probeIntervals
    }

    /// The runbook's values for all three sections.
    public static let `default` = ResilienceSettings()

    /// Section names as the configuration file spells them.
    public static let retryPolicyKey = "retry_policy"
    public static let circuitBreakerKey = "circuit_breaker"
    public static let probeIntervalsKey = "probe_intervals"

    /// Every invalid setting, keyed by its full path (`circuit_breaker.failure_threshold`).
    public var problems: [SettingProblem] {
        retryPolicy.problems.map { $0.inSection(Self.retryPolicyKey) }
            + circuitBreaker.problems.map { $0.inSection(Self.circuitBreakerKey) }
            + probeIntervals.problems.map { $0.inSection(Self.probeIntervalsKey) }
    }
}
