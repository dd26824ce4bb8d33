import Foundation
import ISPChecker
import Synchronization

/// What `/health/detailed` reports besides the store: the last run and each target's
/// breaker. Shared between the monitor loop, whoever owns the breakers, and the HTTP handlers.
public final class MonitorState: Sendable {
    /// The last run seen.
    public struct LastRun: Sendable, Equatable {
        public var id: String
        public var target: String
        public var timestamp: Date
        /// When the monitor received it.
        public var receivedAt: Date
    }

    private struct Values {
        var lastRun: LastRun?
        var breakers: [String: CircuitState] = [:]
    }

    private let values = Mutex(Values())
    private let metrics: MonitorMetrics?
    /// When the monitor started.
    public let startedAt: Date

    public init(metrics: MonitorMetrics? = nil, startedAt: Date = Date()) {
        self.metrics = metrics
        self.startedAt = startedAt
    }

    public var lastRun: LastRun? { values.withLock { $0.lastRun } }
    public var breakerStates: [String: CircuitState] { values.withLock { $0.breakers } }

    /// Notes a run as the latest.
    public func noteRun(_ report: RunReport, receivedAt: Date = Date()) {
        values.withLock { $0.lastRun = LastRun(id: report.id, target: report.target, timestamp: report.timestamp, receivedAt: receivedAt) }
    }

    /// Sets a target's breaker state, for health and for `isp_checker_circuit_breaker_state`.
    public func setCircuitBreakerState(_ state: CircuitState, target: String) {
        values.withLock { $0.breakers[target] = state }
        metrics?.setCircuitBreakerState(state, target: target)
    }
}
