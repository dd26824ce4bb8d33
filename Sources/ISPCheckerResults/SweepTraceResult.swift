import ISPCheckerPrimitives

/// One target's trace from a sweep of traces, delivered when that trace has finished.
public struct SweepTraceResult: Sendable, Equatable {
    /// Position of the target in the sweep's target list (after CIDR expansion), from 0.
    public var index: Int
    /// The target traced.
    public var address: IPAddress
    /// The trace, or why this target could not be traced (e.g. `.systemError` when there is no
    /// route to it). A target that never answers is not an error: its trace ends with
    /// `TraceStop.maxHopsReached`.
    public var outcome: Result<TraceResult, ProbeError>

    public init(index: Int, address: IPAddress, outcome: Result<TraceResult, ProbeError>) {
        self.index = index
        self.address = address
        self.outcome = outcome
    }

    /// The trace, nil when the target could not be traced.
    public var trace: TraceResult? { try? outcome.get() }

    /// Why the target could not be traced, nil when it was.
    public var error: ProbeError? {
        if case .failure(let error) = outcome { return error }
        return nil
    }
}
