import ISPCheckerResults

/// The traceroute as a run report carries it: the same data as `TraceResult`, with the
/// report's snake_case keys and units in the names — the same JSON as `TraceResult`'s own
/// Codable form (`RunReportJSONTests` checks they stay equal), kept apart for the decoding
/// checks of `RunReport.validateDecodedValues`.
struct ReportTrace: Codable, Equatable {
    struct Address: Codable, Equatable {
        var address: IPAddress
        var replies: Int
        var name: String?
    }

    struct Label: Codable, Equatable {
        var label: UInt32
        var trafficClass: UInt8
        var bottomOfStack: Bool
        var ttl: UInt8

        enum CodingKeys: String, CodingKey {
            case label, ttl
            case trafficClass = "traffic_class"
            case bottomOfStack = "bottom_of_stack"
        }
    }

    struct Unreachable: Codable, Equatable {
        var family: IPFamily
        var code: Int
        /// traceroute's mark (`!N`, `!H`, `!X`, `port` …), for people reading the JSON.
        var mark: String?
    }

    struct Hop: Codable, Equatable {
        var ttl: Int
        var addresses: [Address]
        var sent: Int
        var received: Int
        var packetLoss: Double
        var latencyLastMs: Double?
        var latencyAvgMs: Double?
        var latencyBestMs: Double?
        var latencyWorstMs: Double?
        var latencyStdevMs: Double?
        var mplsStacks: [[Label]]
        var unreachable: [Unreachable]
        var isDestination: Bool
        var clock: ClockSource?
        var echoSent: Int?
        var echoReceived: Int?

        enum CodingKeys: String, CodingKey {
            case ttl, addresses, sent, received, unreachable, clock
            case echoSent = "echo_sent"
            case echoReceived = "echo_received"
            case packetLoss = "packet_loss"
            case latencyLastMs = "latency_last_ms"
            case latencyAvgMs = "latency_avg_ms"
            case latencyBestMs = "latency_best_ms"
            case latencyWorstMs = "latency_worst_ms"
            case latencyStdevMs = "latency_stdev_ms"
            case mplsStacks = "mpls_stacks"
            case isDestination = "is_destination"
        }
    }

    var target: String
    var address: IPAddress
    /// `udp`, `icmp` or `tcp`.
    var method: String
    /// The TCP destination port, for `tcp`.
    var port: UInt16?
    var paris: Bool
    var rounds: Int
    /// `destination_reached`, `unreachable`, `max_hops_reached`.
    var stop: String
    var stopUnreachable: Unreachable?
    var durationMs: Double
    var hops: [Hop]

    enum CodingKeys: String, CodingKey {
        case target, address, method, port, paris, rounds, stop, hops
        case stopUnreachable = "stop_unreachable"
        case durationMs = "duration_ms"
    }

    init(_ trace: TraceResult) {
        target = trace.target
        address = trace.address
        switch trace.method {
        case .udp: method = "udp"
        case .icmp: method = "icmp"
        case .tcp(let tcpPort): method = "tcp"; port = tcpPort
        }
        paris = trace.paris
        rounds = trace.rounds
        switch trace.stop {
        case .destinationReached: stop = "destination_reached"
        case .maxHopsReached: stop = "max_hops_reached"
        case .unreachable(let code): stop = "unreachable"; stopUnreachable = Unreachable(code)
        }
        durationMs = trace.durationMilliseconds
        hops = trace.hops.map { hop in
            Hop(ttl: hop.ttl, addresses: hop.addresses.map { Address(address: $0.address, replies: $0.replies, name: $0.name) },
                sent: hop.sent, received: hop.received, packetLoss: hop.lossPercent,
                latencyLastMs: hop.lastMilliseconds, latencyAvgMs: hop.avgMilliseconds, latencyBestMs: hop.bestMilliseconds,
                latencyWorstMs: hop.worstMilliseconds, latencyStdevMs: hop.stdevMilliseconds,
                mplsStacks: hop.mplsStacks.map { $0.map { Label(label: $0.label, trafficClass: $0.trafficClass, bottomOfStack: $0.bottomOfStack, ttl: $0.ttl) } },
                unreachable: hop.unreachable.map(Unreachable.init), isDestination: hop.isDestination, clock: hop.clock,
                echoSent: hop.echoSent, echoReceived: hop.echoReceived)
        }
    }

    /// Back to the library's type; throws when `method` or `stop` is not one the schema allows.
    func traceResult(codingPath: [any CodingKey]) throws -> TraceResult {
        let traceMethod: TraceMethod
        switch method {
        case "udp": traceMethod = .udp
        case "icmp": traceMethod = .icmp
        case "tcp": traceMethod = .tcp(port: port ?? 0)
        default: throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "trace method must be udp, icmp or tcp, got \(method)"))
        }
        let traceStop: TraceStop
        switch (stop, stopUnreachable) {
        case ("destination_reached", _): traceStop = .destinationReached
        case ("max_hops_reached", _): traceStop = .maxHopsReached
        case ("unreachable", let code?): traceStop = .unreachable(UnreachableCode(family: code.family, code: code.code))
        default: throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "trace stop must be destination_reached, max_hops_reached or unreachable with stop_unreachable, got \(stop)"))
        }
        let traceHops = hops.map { hop in
            TraceHop(ttl: hop.ttl, addresses: hop.addresses.map { HopAddress(address: $0.address, replies: $0.replies, name: $0.name) },
                     sent: hop.sent, received: hop.received, lossPercent: hop.packetLoss,
                     lastMilliseconds: hop.latencyLastMs, avgMilliseconds: hop.latencyAvgMs, bestMilliseconds: hop.latencyBestMs,
                     worstMilliseconds: hop.latencyWorstMs, stdevMilliseconds: hop.latencyStdevMs,
                     mplsStacks: hop.mplsStacks.map { $0.map { MPLSLabel(label: $0.label, trafficClass: $0.trafficClass, bottomOfStack: $0.bottomOfStack, ttl: $0.ttl) } },
                     unreachable: hop.unreachable.map { UnreachableCode(family: $0.family, code: $0.code) },
                     isDestination: hop.isDestination, clock: hop.clock, echoSent: hop.echoSent, echoReceived: hop.echoReceived)
        }
        return TraceResult(target: target, address: address, method: traceMethod, paris: paris, rounds: rounds,
                           hops: traceHops, stop: traceStop, durationMilliseconds: durationMs)
    }
}

extension ReportTrace.Unreachable {
    init(_ code: UnreachableCode) {
        self.init(family: code.family, code: code.code, mark: code.description)
    }
}
