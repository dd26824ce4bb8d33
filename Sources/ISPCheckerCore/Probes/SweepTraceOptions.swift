import ISPCheckerPrimitives
import ISPCheckerResults

/// How a sweep of traces (`ProbeEngine.sweepTraces(_:options:)`) runs: the options of each
/// trace, and how many traces run at once.
public struct SweepTraceOptions: Sendable, Equatable {
    /// The most traces one sweep runs at once. A trace has at most one probe per TTL in flight
    /// (64 with the largest `TraceOptions.maxHops`), and the engine numbers the probes of one
    /// family and method with 16 bits (65,534 ids for UDP): 1,000 × 64 = 64,000 stays inside it,
    /// so concurrent traces never have to share, and never cross, a probe id.
    public static let maximumConcurrentTraces = 1_000

    /// The options of every trace. `family` is ignored: each target is an address of its own
    /// family. `rounds`, `maxHops` and the timeout set how long one trace takes.
    public var trace: TraceOptions
    /// Traces running at once, 1 ... `maximumConcurrentTraces`; 64 by default. Every running
    /// trace sends at `trace.probesPerSecond` on its own, so the sweep sends up to
    /// `maxConcurrentTraces × trace.probesPerSecond` probes per second; routers that limit the
    /// ICMP errors they send (most do) show silent hops when this is too high for them.
    public var maxConcurrentTraces: Int
    /// The most probes the whole sweep sends per second, shared by all its running traces
    /// (after a first `trace.burst` at once); nil, the default, for no sweep-wide limit. Each
    /// trace keeps its own `trace.probesPerSecond` too. 1 ... `maximumProbesPerSecond`.
    public var probesPerSecond: Int?

    /// The highest sweep-wide rate accepted.
    public static let maximumProbesPerSecond = 1_000_000

    public init(trace: TraceOptions = .default, maxConcurrentTraces: Int = 64, probesPerSecond: Int? = nil) {
        self.trace = trace
        self.maxConcurrentTraces = maxConcurrentTraces
        self.probesPerSecond = probesPerSecond
    }

    public static var `default`: SweepTraceOptions { SweepTraceOptions() }

    /// Checks every field; the first one out of range is the error.
    /// - Throws: `ProbeError.invalidArgument` naming the field and its range.
    public func validate() throws(ProbeError) {
        guard (1...Self.maximumConcurrentTraces).contains(maxConcurrentTraces) else {
            throw .invalidArgument(name: "trace concurrency", reason: "must be between 1 and \(Self.maximumConcurrentTraces) traces at once, got \(maxConcurrentTraces)")
        }
        if let probesPerSecond, !(1...Self.maximumProbesPerSecond).contains(probesPerSecond) {
            throw .invalidArgument(name: "trace rate", reason: "must be between 1 and \(Self.maximumProbesPerSecond) probes per second, got \(probesPerSecond)")
        }
        try trace.validate()
    }
}
