import ISPCheckerPrimitives

/// One echo request of a ping and what became of it.
public struct PingProbe: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case received
        case timedOut = "timed_out"
        /// The kernel refused to send it (e.g. no route); `error` says why.
        case sendFailed = "send_failed"
    }

    /// Index of the probe within the ping, from 0.
    public var index: Int
    /// The ICMP sequence number it carried.
    public var sequence: UInt16
    public var status: Status
    /// Round-trip time in nanoseconds, when received.
    public var rttNanoseconds: Int64?
    /// Which clock measured `rttNanoseconds`.
    public var clock: ClockSource?
    /// TTL (IPv4) or hop limit (IPv6) of the reply.
    public var replyTTL: Int?
    /// Why sending failed, for `sendFailed`.
    public var error: String?

    public var rttMilliseconds: Double? { rttNanoseconds.map { Double($0) / 1_000_000 } }

    /// snake_case, like every JSON isp-checker writes (docs/ping.schema.json).
    enum CodingKeys: String, CodingKey {
        case index, sequence, status, clock, error
        case rttNanoseconds = "rtt_nanoseconds"
        case replyTTL = "reply_ttl"
    }

    /// Every stored property, for the probes that build one.
    package init(index: Int, sequence: UInt16, status: Status, rttNanoseconds: Int64? = nil, clock: ClockSource? = nil, replyTTL: Int? = nil, error: String? = nil) {
        self.index = index
        self.sequence = sequence
        self.status = status
        self.rttNanoseconds = rttNanoseconds
        self.clock = clock
        self.replyTTL = replyTTL
        self.error = error
    }
}

/// The result of one ping: every probe, and the summary iputils ping prints.
///
/// A target that never answers is a result with 100 % loss, not an error.
public struct PingResult: Sendable, Codable, Equatable {
    /// The target as given.
    public var target: String
    /// The address that was probed.
    public var address: IPAddress
    public var socketKind: SocketKind
    public var probes: [PingProbe]
    public var sent: Int
    public var received: Int
    /// 0 ... 100.
    public var lossPercent: Double
    public var minMilliseconds: Double?
    public var avgMilliseconds: Double?
    public var maxMilliseconds: Double?
    /// Standard deviation as iputils computes it: sqrt(mean(rtt²) − mean(rtt)²).
    public var mdevMilliseconds: Double?
    /// The weakest clock any received probe used (nil when nothing was received).
    public var clockSource: ClockSource?

    public var family: IPFamily { address.family }

    /// snake_case, like every JSON isp-checker writes (docs/ping.schema.json).
    enum CodingKeys: String, CodingKey {
        case target, address, probes, sent, received
        case socketKind = "socket_kind"
        case lossPercent = "loss_percent"
        case minMilliseconds = "min_milliseconds"
        case avgMilliseconds = "avg_milliseconds"
        case maxMilliseconds = "max_milliseconds"
        case mdevMilliseconds = "mdev_milliseconds"
        case clockSource = "clock_source"
    }

    package init(target: String, address: IPAddress, socketKind: SocketKind, probes: [PingProbe]) {
        self.target = target
        self.address = address
        self.socketKind = socketKind
        self.probes = probes
        sent = probes.filter { $0.status != .sendFailed }.count
        let rtts = probes.compactMap(\.rttNanoseconds).map { Double($0) / 1_000_000 }
        received = rtts.count
        let attempted = probes.count
        lossPercent = attempted == 0 ? 0 : Double(attempted - received) * 100 / Double(attempted)
        clockSource = probes.compactMap(\.clock).max()
        guard !rtts.isEmpty else { return }
        let mean = rtts.reduce(0, +) / Double(rtts.count)
        let meanOfSquares = rtts.reduce(0) { $0 + $1 * $1 } / Double(rtts.count)
        minMilliseconds = rtts.min()
        maxMilliseconds = rtts.max()
        avgMilliseconds = mean
        mdevMilliseconds = (max(0, meanOfSquares - mean * mean)).squareRoot()
    }
}
