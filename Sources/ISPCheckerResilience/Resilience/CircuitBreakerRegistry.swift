import CoreMetrics
import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// One circuit breaker per target, made on first use with a shared configuration (or a
/// per-target one), so a checker of many targets keeps each target's failures apart.
public final class CircuitBreakerRegistry<C: Clock>: Sendable where C.Duration == Duration {
    public let configuration: CircuitBreakerConfiguration
    public let clock: C
    private let isFailure: @Sendable (any Error) -> Bool
    private let metricsFactory: (any MetricsFactory)?
    private let onStateChange: (@Sendable (CircuitStateChange) -> Void)?
    private let breakers = Locked<[String: CircuitBreaker<C>]>([:])

    /// - Parameters: as for `CircuitBreaker`; every breaker made shares them.
    public init(configuration: CircuitBreakerConfiguration = .default, clock: C,
                isFailure: @escaping @Sendable (any Error) -> Bool = CircuitBreakerDefaults.isFailure,
                metricsFactory: (any MetricsFactory)? = nil,
                onStateChange: (@Sendable (CircuitStateChange) -> Void)? = nil) {
        precondition(configuration.problems.isEmpty, "invalid circuit breaker configuration: \(configuration.problems)")
        self.configuration = configuration
        self.clock = clock
        self.isFailure = isFailure
        self.metricsFactory = metricsFactory
        self.onStateChange = onStateChange
    }

    /// The breaker of `target`, made with `configuration` (the registry's by default) on first
    /// use; later calls return the same breaker whatever configuration they pass.
    public func breaker(for target: String, configuration: CircuitBreakerConfiguration? = nil) -> CircuitBreaker<C> {
        breakers.withLock { breakers in
            if let existing = breakers[target] { return existing }
            let made = CircuitBreaker(target: target, configuration: configuration ?? self.configuration, clock: clock,
                                      isFailure: isFailure, metricsFactory: metricsFactory, onStateChange: onStateChange)
            breakers[target] = made
            return made
        }
    }

    /// The targets that have a breaker, sorted.
    public var targets: [String] { breakers.withLock { $0.keys.sorted() } }

    /// Every breaker's current state.
    public func states() -> [String: CircuitState] {
        breakers.withLock { $0 }.mapValues(\.currentState)
    }

    /// Forgets `target`'s breaker (a target no longer monitored); the next use makes a new one.
    public func remove(_ target: String) {
        _ = breakers.withLock { $0.removeValue(forKey: target) }
    }
}

extension CircuitBreakerRegistry where C == ContinuousClock {
    public convenience init(configuration: CircuitBreakerConfiguration = .default,
                            isFailure: @escaping @Sendable (any Error) -> Bool = CircuitBreakerDefaults.isFailure,
                            metricsFactory: (any MetricsFactory)? = nil,
                            onStateChange: (@Sendable (CircuitStateChange) -> Void)? = nil) {
        self.init(configuration: configuration, clock: ContinuousClock(), isFailure: isFailure,
                  metricsFactory: metricsFactory, onStateChange: onStateChange)
    }
}
