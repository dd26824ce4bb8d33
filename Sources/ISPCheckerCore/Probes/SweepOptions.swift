import ISPCheckerPrimitives
import ISPCheckerResults

/// How a sweep paces and times its probes.
public struct SweepOptions: Sendable, Equatable {
    /// Echo requests per target, 1 ... 1,000. They go out round-robin: every target's first
    /// probe, then every target's second, so one target's probes are `targets / packetsPerSecond`
    /// seconds apart.
    public var probesPerTarget: Int
    /// Packets per second over the whole sweep (all targets), 1 ... 10,000,000. The engine thread
    /// sends on an absolute schedule (probe n at start + n / rate), at most 256 in one batch
    /// before it reads replies again.
    public var packetsPerSecond: Int
    /// How long each probe waits for its reply, > 0.
    public var timeout: Duration
    /// ICMP payload bytes, 12 ... 1400.
    public var payloadSize: Int
    /// At most this many probes of the sweep wait for a reply at once, 1 ... 65,536 (the 16-bit
    /// echo sequence space of one family). When the limit is reached the sweep sends its next
    /// probe only once an earlier one has been answered or has timed out.
    public var maxInFlight: Int

    public init(probesPerTarget: Int = 1, packetsPerSecond: Int = 10_000, timeout: Duration = .seconds(1), payloadSize: Int = 56, maxInFlight: Int = 65_536) {
        self.probesPerTarget = probesPerTarget
        self.packetsPerSecond = packetsPerSecond
        self.timeout = timeout
        self.payloadSize = payloadSize
        self.maxInFlight = maxInFlight
    }

    public static var `default`: SweepOptions { SweepOptions() }

    /// Checks every field; the first one out of range is the error.
    func validate() throws(ProbeError) {
        guard (1...1_000).contains(probesPerTarget) else {
            throw .invalidArgument(name: "probes per target", reason: "must be between 1 and 1000, got \(probesPerTarget)")
        }
        guard (1...10_000_000).contains(packetsPerSecond) else {
            throw .invalidArgument(name: "packets per second", reason: "must be between 1 and 10000000, got \(packetsPerSecond)")
        }
        // The scheduler keeps deadlines in Int64 nanoseconds and waits in Int32 milliseconds.
        guard timeout > .zero, timeout <= .seconds(3600) else {
            throw .invalidArgument(name: "timeout", reason: "must be positive and at most 3600 seconds, got \(timeout)")
        }
        guard (12...1_400).contains(payloadSize) else {
            throw .invalidArgument(name: "payload size", reason: "must be between 12 and 1400 bytes, got \(payloadSize)")
        }
        guard (1...65_536).contains(maxInFlight) else {
            throw .invalidArgument(name: "max in flight", reason: "must be between 1 and 65536 (one family's echo sequence numbers), got \(maxInFlight)")
        }
    }
}
