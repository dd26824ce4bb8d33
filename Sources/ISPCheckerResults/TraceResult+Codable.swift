import ISPCheckerPrimitives

/// A trace's JSON is the run report's `trace` object (docs/report.schema.json, `$defs/trace`),
/// wherever it is written: `isp-checker trace --json`, `sweep --trace --json` and the run report
/// itself. snake_case keys with units in the names, the method and the stop as plain strings.
extension TraceResult {
    enum CodingKeys: String, CodingKey {
        case target, address, method, port, paris, rounds, stop, hops
        case stopUnreachable = "stop_unreachable"
        case durationMilliseconds = "duration_ms"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(address, forKey: .address)
        switch method {
        case .udp: try container.encode("udp", forKey: .method)
        case .icmp: try container.encode("icmp", forKey: .method)
        case .tcp(let port):
            try container.encode("tcp", forKey: .method)
            try container.encode(port, forKey: .port)
        }
        try container.encode(paris, forKey: .paris)
        try container.encode(rounds, forKey: .rounds)
        switch stop {
        case .destinationReached: try container.encode("destination_reached", forKey: .stop)
        case .maxHopsReached: try container.encode("max_hops_reached", forKey: .stop)
        case .unreachable(let code):
            try container.encode("unreachable", forKey: .stop)
            try container.encode(code, forKey: .stopUnreachable)
        }
        try container.encode(durationMilliseconds, forKey: .durationMilliseconds)
        try container.encode(hops, forKey: .hops)
    }

    /// - Throws: `DecodingError` when `method` is not udp, icmp or tcp (with `port`), or `stop`
    ///   is not destination_reached, max_hops_reached or unreachable (with `stop_unreachable`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let method: TraceMethod
        switch try container.decode(String.self, forKey: .method) {
        case "udp": method = .udp
        case "icmp": method = .icmp
        case "tcp": method = .tcp(port: try container.decode(UInt16.self, forKey: .port))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .method, in: container, debugDescription: "trace method must be udp, icmp or tcp, got \(other)")
        }
        let stop: TraceStop
        switch try container.decode(String.self, forKey: .stop) {
        case "destination_reached": stop = .destinationReached
        case "max_hops_reached": stop = .maxHopsReached
        case "unreachable": stop = .unreachable(try container.decode(UnreachableCode.self, forKey: .stopUnreachable))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .stop, in: container,
                                                   debugDescription: "trace stop must be destination_reached, max_hops_reached or unreachable, got \(other)")
        }
        self.init(target: try container.decode(String.self, forKey: .target), address: try container.decode(IPAddress.self, forKey: .address),
                  method: method, paris: try container.decode(Bool.self, forKey: .paris), rounds: try container.decode(Int.self, forKey: .rounds),
                  hops: try container.decode([TraceHop].self, forKey: .hops), stop: stop,
                  durationMilliseconds: try container.decode(Double.self, forKey: .durationMilliseconds))
    }
}

/// `{"family": "ipv4", "code": 0, "mark": "!N"}`: the mark (traceroute's notation, `description`)
/// is for people reading the JSON; decoding ignores it.
extension UnreachableCode {
    enum CodingKeys: String, CodingKey {
        case family, code, mark
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(family, forKey: .family)
        try container.encode(code, forKey: .code)
        try container.encode(description, forKey: .mark)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(family: try container.decode(IPFamily.self, forKey: .family), code: try container.decode(Int.self, forKey: .code))
    }
}
