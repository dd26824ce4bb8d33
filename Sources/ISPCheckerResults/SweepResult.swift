import ISPCheckerPrimitives

/// What a sweep measured for one target, delivered once all of its probes have completed.
public struct SweepResult: Sendable, Codable, Equatable {
    /// Position of the target in the sweep's target list (after CIDR expansion), from 0.
    public var index: Int
    public var address: IPAddress
    /// Echo requests the kernel accepted.
    public var sent: Int
    public var received: Int
    /// Lost share of the probes attempted (sent or refused by the kernel), 0 ... 100.
    public var lossPercent: Double
    /// One entry per probe, in send order: the round-trip time in nanoseconds, nil when lost.
    public var rttNanoseconds: [Int64?]
    public var minMilliseconds: Double?
    public var avgMilliseconds: Double?
    public var maxMilliseconds: Double?
    /// The weakest clock any received probe used (nil when nothing was received).
    public var clockSource: ClockSource?
    /// Why the kernel refused a probe (e.g. no route), when it refused any.
    public var error: String?

    /// snake_case, like every JSON isp-checker writes (docs/sweep.schema.json).
    enum CodingKeys: String, CodingKey {
        case index, address, sent, received, error
        case lossPercent = "loss_percent"
        case rttNanoseconds = "rtt_nanoseconds"
        case minMilliseconds = "min_milliseconds"
        case avgMilliseconds = "avg_milliseconds"
        case maxMilliseconds = "max_milliseconds"
        case clockSource = "clock_source"
    }

    package init(index: Int, address: IPAddress, rtts: [Int64?], clock: ClockSource?, sendFailures: Int, error: String?) {
        self.index = index
        self.address = address
        rttNanoseconds = rtts
        sent = rtts.count - sendFailures
        clockSource = clock
        self.error = error
        var count = 0, low = Int64.max, high = Int64.min, total: Int64 = 0
        for case let rtt? in rtts {
            count += 1
            low = min(low, rtt)
            high = max(high, rtt)
            total += rtt
        }
        received = count
        lossPercent = rtts.isEmpty ? 0 : Double(rtts.count - count) * 100 / Double(rtts.count)
        guard count > 0 else { return }
        minMilliseconds = Double(low) / 1_000_000
        maxMilliseconds = Double(high) / 1_000_000
        avgMilliseconds = Double(total) / Double(count) / 1_000_000
    }
}
