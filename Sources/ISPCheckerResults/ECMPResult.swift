/// The multipath detection algorithm's stopping rule (MDA: Augustin, Friedman and Teixeira,
/// "Measured Load Balancing in the Wild", IMC 2006; Veitch et al., "Failure Control in
/// Multipath Route Tracing", INFOCOM 2009; MDA-lite: Vermeulen et al., "Multilevel MDA-Lite
/// Paris Traceroute", IMC 2018): after `k` distinct next hops have been seen at a hop, `n(k)`
/// flows must have reached it without a new one before the hop is taken to have no more, at 95 %
/// confidence over the whole trace (uniform per-flow load balancing assumed).
public enum MDAStoppingRule {
    /// n(k) for k = 1 ... 10 next hops seen, 95 % confidence (the MDA papers' table; a load
    /// balancer over k + 1 paths would have shown a new one with probability ≥ 95 % by then).
    public static let probes95: [Int] = [6, 11, 16, 21, 27, 33, 38, 44, 51, 57]

    /// The flows that must have answered at a hop where `seen` distinct next hops appeared,
    /// before the hop is taken to have no more (seen ≥ 1; past the table, the table's growth of
    /// about 6 a hop goes on).
    public static func flowsNeeded(seen: Int) -> Int {
        let k = max(1, seen)
        if k <= probes95.count { return probes95[k - 1] }
        return probes95[probes95.count - 1] + 6 * (k - probes95.count)
    }

    /// Whether a hop is enumerated: `answered` flows reached it and showed `seen` addresses.
    public static func isComplete(seen: Int, answered: Int) -> Bool {
        answered >= flowsNeeded(seen: seen)
    }
}

/// The paths per-flow load balancing (ECMP) spreads the flows to a target over, as the MDA
/// probe found them, and the loss and round-trip time of each.
///
/// Flows are told apart by their destination port (the source port and addresses fixed): every
/// probe of one flow keeps its five-tuple, so routers hash it onto one path (Paris traceroute);
/// flows with other ports may take other paths. A hop a flow got no answer from is unknown for
/// that flow — routers limit the ICMP errors they send (Linux: a burst of 6, then one a second
/// per destination), so a missing answer is not loss. Loss per path is measured end to end, with
/// probes the target answers without such a limit (TCP SYN answered by SYN-ACK or RST).
public struct ECMPResult: Sendable, Equatable, Codable {
    /// One hop of one path.
    public struct Hop: Sendable, Equatable, Codable {
        public var ttl: Int
        /// The address this path's flows got answers from; nil when none answered.
        public var address: IPAddress?
        /// Flows of this path probed at this TTL, and how many got an answer (a missing one is
        /// unknown: a router's ICMP rate limit, not loss).
        public var probed: Int
        public var answered: Int
        /// Mean RTT of the answers, ms.
        public var avgMilliseconds: Double?

        public init(ttl: Int, address: IPAddress?, probed: Int, answered: Int, avgMilliseconds: Double?) {
            self.ttl = ttl
            self.address = address
            self.probed = probed
            self.answered = answered
            self.avgMilliseconds = avgMilliseconds
        }
    }

    /// One path: the hops its flows crossed and its end-to-end loss and RTT.
    public struct Path: Sendable, Equatable, Codable {
        public var hops: [Hop]
        /// The flows (destination ports) that took it.
        public var flows: [UInt16]
        /// Probes sent to the target on this path (one of its flows), and answered.
        public var sent: Int
        public var received: Int
        public var minMilliseconds: Double?
        public var avgMilliseconds: Double?
        public var maxMilliseconds: Double?

        public init(hops: [Hop], flows: [UInt16], sent: Int = 0, received: Int = 0, minMilliseconds: Double? = nil,
                    avgMilliseconds: Double? = nil, maxMilliseconds: Double? = nil) {
            self.hops = hops
            self.flows = flows
            self.sent = sent
            self.received = received
            self.minMilliseconds = minMilliseconds
            self.avgMilliseconds = avgMilliseconds
            self.maxMilliseconds = maxMilliseconds
        }

        /// Percent of the probes to the target that got no answer; nil when none was sent.
        public var lossPercent: Double? {
            sent > 0 ? Double(sent - received) * 100 / Double(sent) : nil
        }

        public func address(at ttl: Int) -> IPAddress? {
            hops.first { $0.ttl == ttl }?.address
        }
    }

    public var target: String
    public var address: IPAddress
    /// How the flows' probes travel ("tcp" by default).
    public var method: String
    /// Flows traced to enumerate the paths.
    public var flowsProbed: Int
    /// True when every hop met the MDA stopping rule (95 %) before the flow cap.
    public var complete: Bool
    /// Distinct addresses seen at each TTL where there was more than one.
    public var branching: [Int: Int]
    public var paths: [Path]
    public var durationMilliseconds: Double

    public init(target: String, address: IPAddress, method: String, flowsProbed: Int, complete: Bool, branching: [Int: Int],
                paths: [Path], durationMilliseconds: Double) {
        self.target = target
        self.address = address
        self.method = method
        self.flowsProbed = flowsProbed
        self.complete = complete
        self.branching = branching
        self.paths = paths
        self.durationMilliseconds = durationMilliseconds
    }

    /// The first TTL at which `path` differs from another path (its own branch there), nil when
    /// it is the only path.
    public func divergence(of path: Path) -> (ttl: Int, address: IPAddress)? {
        let others = paths.filter { $0 != path }
        guard !others.isEmpty else { return nil }
        for hop in path.hops {
            guard let address = hop.address else { continue }
            if others.contains(where: { other in other.address(at: hop.ttl).map { $0 != address } ?? false }) {
                return (hop.ttl, address)
            }
        }
        return nil
    }

    /// How loss is spread over the paths.
    public enum LossSpread: Sendable, Equatable {
        /// No path loses (or nothing was measured).
        case none
        /// Some paths lose, at least one does not: the branch of the first lossy path is where.
        case someParallelPaths(lossy: [Int], clean: [Int], ttl: Int, address: IPAddress)
        /// Every measured path loses: the loss is not the load balancing's.
        case allPaths
    }

    /// Whether the loss is on some parallel paths only. A path is lossy with at least
    /// `minimumLost` probes and `lossPercent` % lost, clean with at most one probe lost and under
    /// half of `lossPercent`; a path that is neither, or that no probe reached at all (the
    /// target does not answer these probes), is undecided and does not count.
    public func lossSpread(lossPercent: Double = 5, minimumLost: Int = 3) -> LossSpread {
        var lossy: [Int] = []
        var clean: [Int] = []
        for (index, path) in paths.enumerated() {
            guard let loss = path.lossPercent, path.received > 0 else { continue }
            let lost = path.sent - path.received
            if lost >= minimumLost && loss >= lossPercent { lossy.append(index) }
            else if lost <= 1 && loss < lossPercent / 2 { clean.append(index) }
        }
        guard !lossy.isEmpty else { return .none }
        guard !clean.isEmpty else { return .allPaths }
        guard let branch = divergence(of: paths[lossy[0]]) else { return .allPaths }
        return .someParallelPaths(lossy: lossy, clean: clean, ttl: branch.ttl, address: branch.address)
    }
}
