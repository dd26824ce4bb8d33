import ISPCheckerPrimitives

/// How traceroute probes travel.
public enum TraceMethod: Sendable, Codable, Equatable, CustomStringConvertible {
    /// UDP to high ports (33434 upwards), answered by ICMP port unreachable at the destination.
    case udp
    /// ICMP echo requests, answered by an echo reply at the destination.
    case icmp
    /// TCP SYN to `port`, answered by SYN-ACK or RST at the destination.
    case tcp(port: UInt16)

    public var description: String {
        switch self {
        case .udp: return "udp"
        case .icmp: return "icmp"
        case .tcp(let port): return "tcp/\(port)"
        }
    }
}

/// How long a TTL that has not answered is waited for once a farther TTL has.
public enum SilentHopWait: Sendable, Equatable {
    /// Always the full `timeout`.
    case fullTimeout
    /// Like traceroute's `-w MAX,HERE,NEAR`: once a farther hop has answered in `r`, a nearer
    /// hop that has not is given up after `factor × r`, but never before `minimum` (and never
    /// after `timeout`). A router's answer rarely takes several times longer than the answer of
    /// a router behind it, so a silent hop costs little more than a round trip.
    case adaptive(factor: Int, minimum: Duration)

    public static let `default` = SilentHopWait.adaptive(factor: 5, minimum: .milliseconds(100))
}

/// Options of a trace. Defaults follow traceroute and mtr where they agree.
public struct TraceOptions: Sendable, Equatable {
    public var method: TraceMethod
    /// First TTL probed (1 ... maxHops).
    public var firstHop: Int
    /// Last TTL probed (1 ... 64).
    public var maxHops: Int
    /// Full traces to run, like mtr's report cycles (≥ 1).
    public var rounds: Int
    /// How long a silent TTL is waited for once a farther one answered.
    public var silentHopWait: SilentHopWait
    /// How long each probe waits for its answer.
    public var timeout: Duration
    /// Most probes sent per second, after an initial burst of `burst` probes.
    public var probesPerSecond: Int
    /// Probes that may leave at once before `probesPerSecond` applies (all TTLs of a path, by default).
    public var burst: Int
    /// From the start of one round to the start of the next: 1 s like mtr by default (a round
    /// that waited longer for a lost probe is followed at once). Routers limit the ICMP errors
    /// they send (Linux: a burst of 6, then 1 per second per destination), so back-to-back
    /// rounds would show loss that only the rate limit causes.
    public var roundInterval: Duration
    /// `true` (Paris): every probe of the trace keeps the fields ECMP hashes on constant, so all
    /// rounds follow one path. `false` (classic): the UDP port or the ICMP checksum changes with
    /// every probe, so per-flow load balancers may spread probes over several paths.
    public var paris: Bool
    /// UDP destination port (the first one: in classic mode it grows by one with every probe sent).
    public var udpBasePort: UInt16
    /// Payload bytes of UDP and ICMP probes.
    public var payloadSize: Int
    /// Which family to use when a name has both.
    public var family: FamilyPreference
    /// Look up the name of every hop address (reverse DNS) once the trace is done. Off by
    /// default: it costs time and queries. Names come from the process's resolver (its
    /// /etc/hosts and DNS servers), not from the engine's network namespace.
    public var resolveHopNames: Bool

    public init(
        method: TraceMethod = .udp, firstHop: Int = 1, maxHops: Int = 30, rounds: Int = 1,
        timeout: Duration = .seconds(1), probesPerSecond: Int = 1000, burst: Int = 32, roundInterval: Duration = .seconds(1),
        paris: Bool = true, udpBasePort: UInt16 = 33434, payloadSize: Int = 24, family: FamilyPreference = .any,
        resolveHopNames: Bool = false, silentHopWait: SilentHopWait = .default
    ) {
        self.method = method
        self.firstHop = firstHop
        self.maxHops = maxHops
        self.rounds = rounds
        self.timeout = timeout
        self.probesPerSecond = probesPerSecond
        self.burst = burst
        self.roundInterval = roundInterval
        self.paris = paris
        self.udpBasePort = udpBasePort
        self.payloadSize = payloadSize
        self.family = family
        self.resolveHopNames = resolveHopNames
        self.silentHopWait = silentHopWait
    }

    public static var `default`: TraceOptions { TraceOptions() }

    package func validate() throws(ProbeError) {
        guard maxHops >= 1 && maxHops <= 64 else { throw .invalidArgument(name: "max hops", reason: "must be between 1 and 64, got \(maxHops)") }
        guard firstHop >= 1 && firstHop <= maxHops else { throw .invalidArgument(name: "first hop", reason: "must be between 1 and max hops (\(maxHops)), got \(firstHop)") }
        guard rounds >= 1 && rounds <= 100_000 else { throw .invalidArgument(name: "rounds", reason: "must be between 1 and 100000, got \(rounds)") }
        guard timeout > .zero, timeout <= .seconds(3600) else {
            throw .invalidArgument(name: "timeout", reason: "must be positive and at most 3600 seconds, got \(timeout)")
        }
        guard probesPerSecond >= 1 else { throw .invalidArgument(name: "probes per second", reason: "must be at least 1, got \(probesPerSecond)") }
        guard burst >= 1 else { throw .invalidArgument(name: "burst", reason: "must be at least 1, got \(burst)") }
        guard roundInterval >= .zero, roundInterval <= .seconds(3600) else {
            throw .invalidArgument(name: "round interval", reason: "must be 0 … 3600 seconds, got \(roundInterval)")
        }
        guard payloadSize >= 8 && payloadSize <= 1400 else { throw .invalidArgument(name: "payload size", reason: "must be between 8 and 1400 bytes, got \(payloadSize)") }
        if case .tcp(let port) = method, port == 0 { throw .invalidArgument(name: "tcp port", reason: "must be 1 ... 65535") }
        if case .adaptive(let factor, let minimum) = silentHopWait, factor < 1 || minimum < .zero {
            throw .invalidArgument(name: "silent hop wait", reason: "factor must be at least 1 and minimum not negative")
        }
        guard udpBasePort > 0 else { throw .invalidArgument(name: "udp port", reason: "must be 1 ... 65535") }
    }
}

/// What an ICMP destination-unreachable said (RFC 792, RFC 4443), in traceroute's notation.
public struct UnreachableCode: Sendable, Codable, Hashable, CustomStringConvertible {
    public var family: IPFamily
    public var code: Int

    public init(family: IPFamily, code: Int) {
        self.family = family
        self.code = code
    }

    /// traceroute's annotation: !N network, !H host, !P protocol, !F need-frag, !X prohibited...
    public var description: String {
        let marks: [Int: String] = family == .ipv4
            ? [0: "!N", 1: "!H", 2: "!P", 3: "port", 4: "!F", 5: "!S", 6: "!N", 7: "!H", 8: "!H",
               9: "!X", 10: "!X", 11: "!N", 12: "!H", 13: "!X", 14: "!V", 15: "!C"]
            : [0: "!N", 1: "!X", 2: "!S", 3: "!H", 4: "port", 5: "!X", 6: "!X", 7: "!S"]
        return marks[code] ?? "!<\(code)>"
    }

    /// True for "port unreachable": the normal end of a UDP trace at the destination.
    public var isPortUnreachable: Bool { (family == .ipv4 && code == 3) || (family == .ipv6 && code == 4) }
}

/// One MPLS label stack entry a router reported (RFC 4950).
public struct MPLSLabel: Sendable, Codable, Hashable {
    public var label: UInt32
    public var trafficClass: UInt8
    public var bottomOfStack: Bool
    public var ttl: UInt8

    enum CodingKeys: String, CodingKey {
        case label, ttl
        case trafficClass = "traffic_class"
        case bottomOfStack = "bottom_of_stack"
    }

    /// Every stored property, for the probes that build one.
    package init(label: UInt32, trafficClass: UInt8, bottomOfStack: Bool, ttl: UInt8) {
        self.label = label
        self.trafficClass = trafficClass
        self.bottomOfStack = bottomOfStack
        self.ttl = ttl
    }
}

/// One address seen at a hop, with how often.
public struct HopAddress: Sendable, Codable, Equatable {
    public var address: IPAddress
    public var replies: Int
    /// Reverse DNS name, when `TraceOptions.resolveHopNames` was set and a name was found.
    public var name: String?

    /// Every stored property, for the probes that build one.
    package init(address: IPAddress, replies: Int, name: String? = nil) {
        self.address = address
        self.replies = replies
        self.name = name
    }
}

/// Everything known about one TTL after all rounds, laid out like an mtr report line.
public struct TraceHop: Sendable, Codable, Equatable {
    public var ttl: Int
    /// Addresses that answered at this TTL, most frequent first (ECMP may show several).
    public var addresses: [HopAddress]
    public var sent: Int
    public var received: Int
    /// 0 ... 100.
    public var lossPercent: Double
    public var lastMilliseconds: Double?
    public var avgMilliseconds: Double?
    public var bestMilliseconds: Double?
    public var worstMilliseconds: Double?
    /// Population standard deviation of the RTTs.
    public var stdevMilliseconds: Double?
    /// Label stacks reported in RFC 4950 extensions, each distinct stack once.
    public var mplsStacks: [[MPLSLabel]]
    /// Destination-unreachable codes received at this hop.
    public var unreachable: [UnreachableCode]
    /// Whether the destination itself answered at this TTL.
    public var isDestination: Bool
    /// The weakest clock that timed a reply of this hop.
    public var clock: ClockSource?
    /// Echo requests sent to the hop's own address, and the replies, when the health check
    /// pinged the hops to locate loss (echo replies are not held back by the ICMP error rate
    /// limits that make traceroute hops look lossy). Nil when the hop was not pinged.
    public var echoSent: Int?
    public var echoReceived: Int?
    /// Set when this hop's ICMP errors quoted our probe other than we sent it (a NAT before
    /// the hop that does not translate quotes back, RFC 5508 §4.1); nil when every quote matched.
    public var quoteRewrite: HopQuoteRewrite?

    /// No answer in any round.
    public var isSilent: Bool { received == 0 }

    /// The run report's hop keys (docs/report.schema.json, `$defs/hop`).
    enum CodingKeys: String, CodingKey {
        case ttl, addresses, sent, received, unreachable, clock
        case lossPercent = "packet_loss"
        case lastMilliseconds = "latency_last_ms"
        case avgMilliseconds = "latency_avg_ms"
        case bestMilliseconds = "latency_best_ms"
        case worstMilliseconds = "latency_worst_ms"
        case stdevMilliseconds = "latency_stdev_ms"
        case mplsStacks = "mpls_stacks"
        case isDestination = "is_destination"
        case echoSent = "echo_sent"
        case echoReceived = "echo_received"
        case quoteRewrite = "quote_rewrite"
    }

    /// Every stored property, for the probes that build one.
    package init(ttl: Int, addresses: [HopAddress], sent: Int, received: Int, lossPercent: Double, lastMilliseconds: Double? = nil, avgMilliseconds: Double? = nil, bestMilliseconds: Double? = nil, worstMilliseconds: Double? = nil, stdevMilliseconds: Double? = nil, mplsStacks: [[MPLSLabel]], unreachable: [UnreachableCode], isDestination: Bool, clock: ClockSource? = nil, echoSent: Int? = nil, echoReceived: Int? = nil) {
        self.ttl = ttl
        self.addresses = addresses
        self.sent = sent
        self.received = received
        self.lossPercent = lossPercent
        self.lastMilliseconds = lastMilliseconds
        self.avgMilliseconds = avgMilliseconds
        self.bestMilliseconds = bestMilliseconds
        self.worstMilliseconds = worstMilliseconds
        self.stdevMilliseconds = stdevMilliseconds
        self.mplsStacks = mplsStacks
        self.unreachable = unreachable
        self.isDestination = isDestination
        self.clock = clock
        self.echoSent = echoSent
        self.echoReceived = echoReceived
    }
}

/// Why a trace stopped.
public enum TraceStop: Sendable, Codable, Equatable {
    /// The destination answered.
    case destinationReached
    /// A router answered destination unreachable (not port unreachable from the destination).
    case unreachable(UnreachableCode)
    /// No answer from the destination up to the last TTL.
    case maxHopsReached

    enum CodingKeys: String, CodingKey {
        case unreachable
        case destinationReached = "destination_reached"
        case maxHopsReached = "max_hops_reached"
    }
}

/// The whole result of a traceroute.
public struct TraceResult: Sendable, Codable, Equatable {
    public var target: String
    public var address: IPAddress
    public var method: TraceMethod
    public var paris: Bool
    public var rounds: Int
    /// One entry per TTL from the first hop to the last one that matters (the destination's,
    /// the unreachable one's, or max hops).
    public var hops: [TraceHop]
    public var stop: TraceStop
    /// Wall time of the whole trace, all rounds.
    public var durationMilliseconds: Double

    public var destinationReached: Bool { stop == .destinationReached }

    /// Every stored property, for the probes that build one.
    package init(target: String, address: IPAddress, method: TraceMethod, paris: Bool, rounds: Int, hops: [TraceHop], stop: TraceStop, durationMilliseconds: Double) {
        self.target = target
        self.address = address
        self.method = method
        self.paris = paris
        self.rounds = rounds
        self.hops = hops
        self.stop = stop
        self.durationMilliseconds = durationMilliseconds
    }
}

/// A live view of a running trace, for displays.
public enum TraceUpdate: Sendable {
    /// A hop's statistics changed (an answer or a timeout).
    case hop(TraceHop, round: Int)
    /// A round finished; `hops` is the state after it.
    case roundFinished(Int, hops: [TraceHop])
    /// The trace is done.
    case finished(TraceResult)
}
