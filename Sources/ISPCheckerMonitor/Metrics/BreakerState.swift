/// A circuit breaker's state as the monitor exposes it (`isp_checker_circuit_breaker_state`:
/// 0 closed, 1 half-open, 2 open). The breaker itself lives in the library's resilience code.
public enum BreakerState: String, Sendable, Codable, CaseIterable {
    case closed
    case halfOpen = "half_open"
    case open

    /// The gauge value.
    public var metricValue: Double {
        switch self {
        case .closed: return 0
        case .halfOpen: return 1
        case .open: return 2
        }
    }
}
