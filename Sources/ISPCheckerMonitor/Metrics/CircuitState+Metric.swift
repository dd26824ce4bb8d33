import ISPChecker

extension CircuitState {
    /// The breaker's state as the gauge `isp_checker_circuit_breaker_state` gives it:
    /// 0 closed, 1 half-open, 2 open.
    public var metricValue: Double {
        switch self {
        case .closed: return 0
        case .halfOpen: return 1
        case .open: return 2
        }
    }
}
