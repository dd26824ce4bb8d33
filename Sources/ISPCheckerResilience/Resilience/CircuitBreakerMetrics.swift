import CoreMetrics
import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// A breaker's swift-metrics instruments, made once per breaker so a guarded call only increments.
/// A class, so handing it to the state machine passes one reference rather than retaining six.
final class CircuitBreakerMetrics: Sendable {
    static let stateLabel = "isp_checker_circuit_breaker_state"
    static let callsLabel = "isp_checker_circuit_breaker_calls_total"

    private let states: [CircuitState: Meter]
    private let calls: [CircuitCallOutcome: Counter]
    // Array lookups on the hot path rather than dictionary hashing.
    private let success: Counter
    private let failure: Counter
    private let rejected: Counter
    private let ignored: Counter

    init(target: String, factory: any MetricsFactory) {
        var states: [CircuitState: Meter] = [:]
        for state in CircuitState.allCases {
            states[state] = Meter(label: Self.stateLabel, dimensions: [("target", target), ("state", state.rawValue)],
                                  factory: factory)
        }
        var calls: [CircuitCallOutcome: Counter] = [:]
        for outcome in CircuitCallOutcome.allCases {
            calls[outcome] = Counter(label: Self.callsLabel, dimensions: [("target", target), ("outcome", outcome.rawValue)],
                                     factory: factory)
        }
        self.states = states
        self.calls = calls
        success = calls[.success]!
        failure = calls[.failure]!
        rejected = calls[.rejected]!
        ignored = calls[.ignored]!
    }

    func count(_ outcome: CircuitCallOutcome) {
        switch outcome {
        case .success: success.increment()
        case .failure: failure.increment()
        case .rejected: rejected.increment()
        case .ignored: ignored.increment()
        }
    }

    func show(_ current: CircuitState) {
        for (state, meter) in states { meter.set(state == current ? 1 : 0) }
    }
}
