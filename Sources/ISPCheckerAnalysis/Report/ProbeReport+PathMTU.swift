import ISPCheckerResults

extension ProbeName {
    /// The path MTU probe (`ProbeEngine.pathMTU`), run when asked or when the run shows a symptom.
    public static let pathMTU = "path_mtu"
}

extension ProbeMeasurement {
    /// What the path MTU probe found (details `path_mtu`, `local_mtu`, `smallest_lost_size`,
    /// `reported_mtu`, `black_hole`, `last_hop_reached`, `first_hop_lost` and their `_ip`).
    public struct PathMTU: Sendable, Equatable {
        /// Bytes; nil when not even the smallest size got an answer.
        public var pathMTU: Int?
        public var localMTU: Int?
        public var smallestLostSize: Int?
        public var reportedMTU: Int?
        public var blackHole: Bool
        public var lastHopReached: Int?
        public var lastHopReachedAddress: String?
        public var firstHopLost: Int?
        public var firstHopLostAddress: String?

        public init(pathMTU: Int?, localMTU: Int? = nil, smallestLostSize: Int? = nil, reportedMTU: Int? = nil, blackHole: Bool,
                    lastHopReached: Int? = nil, lastHopReachedAddress: String? = nil, firstHopLost: Int? = nil,
                    firstHopLostAddress: String? = nil) {
            self.pathMTU = pathMTU
            self.localMTU = localMTU
            self.smallestLostSize = smallestLostSize
            self.reportedMTU = reportedMTU
            self.blackHole = blackHole
            self.lastHopReached = lastHopReached
            self.lastHopReachedAddress = lastHopReachedAddress
            self.firstHopLost = firstHopLost
            self.firstHopLostAddress = firstHopLostAddress
        }
    }

    public var pathMTU: PathMTU? { if case .pathMTU(let value) = self { value } else { nil } }
}

extension ProbeReport {
    /// The `path_mtu` entry: `crit` for a black hole (large packets vanish unexplained: TCP
    /// stalls once a connection sends a full segment), `ok` otherwise, also for a path MTU
    /// below 1500 that routers report as they should; `warn` when the target answered no size.
    public init(pathMTU result: PathMTUResult) {
        var details: [String: DetailValue] = [
            "target_ip": .string(result.address.description),
            "local_mtu": .int(result.localMTU),
            "black_hole": .bool(result.isBlackHole),
            "sizes_probed": .int(result.probes.count),
            "duration_ms": .double(result.durationMilliseconds.roundedToMicro),
        ]
        if let value = result.pathMTU { details["path_mtu"] = .int(value) }
        if let value = result.smallestLostSize { details["smallest_lost_size"] = .int(value) }
        if let value = result.reportedMTU { details["reported_mtu"] = .int(value) }
        if let hop = result.lastHopReached {
            details["last_hop_reached"] = .int(hop.ttl)
            details["last_hop_reached_ip"] = .string(hop.address.description)
        }
        if let hop = result.firstHopLost {
            details["first_hop_lost"] = .int(hop.ttl)
            details["first_hop_lost_ip"] = .string(hop.address.description)
        }
        let measured = ProbeMeasurement(name: ProbeName.pathMTU, details: details)
        var status = ProbeStatus.ok
        var error: String?
        if result.isBlackHole {
            status = .crit
            error = "packets of \(result.smallestLostSize ?? 0) bytes vanish without \"fragmentation needed\"; path MTU \(result.pathMTU ?? 0)"
        } else if result.pathMTU == nil {
            status = .warn
            error = "no echo reply at any size: the path MTU is unknown"
        }
        self.init(name: ProbeName.pathMTU, status: status, measurement: measured, details: details, error: error)
    }
}
