import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeName {
    /// The ECMP probe (`ProbeEngine.ecmp`): the parallel paths to the target and each one's loss,
    /// run when asked (`isp-checker run --ecmp`).
    public static let ecmp = "ecmp"
}

extension ProbeMeasurement {
    /// What the ECMP probe found (details `paths`, `flows_probed`, `complete`, `branching`,
    /// `loss_spread`, `lossy_hop`, `lossy_hop_ip`, `lossy_paths`, `lossy_loss_percent`,
    /// `lossy_sent`, `lossy_received`, `clean_loss_percent`, `clean_path_ips`, `path_summaries`).
    public struct ECMP: Sendable, Equatable {
        /// Where loss sits among the paths: `none`, `some` (some parallel paths only) or `all`.
        public enum Spread: String, Sendable {
            case clean = "none", partial = "some", every = "all"
        }

        public var paths: Int?
        public var flowsProbed: Int?
        /// True when the MDA stopping rule (95 %) was met at every hop before the flow cap.
        public var complete: Bool
        public var spread: Spread?
        /// The TTL where the first lossy path branches off, and its address there.
        public var lossyHop: Int?
        public var lossyHopAddress: String?
        public var lossyPaths: Int?
        public var lossyLossPercent: Double?
        public var lossySent: Int?
        public var lossyReceived: Int?
        public var cleanLossPercent: Double?
        /// The clean paths' addresses at the lossy branch's TTL.
        public var cleanPathAddresses: [String]
        /// One line a path: its branch addresses, flows, loss and RTT.
        public var pathSummaries: [String]

        public init(paths: Int? = nil, flowsProbed: Int? = nil, complete: Bool = false, spread: Spread? = nil, lossyHop: Int? = nil,
                    lossyHopAddress: String? = nil, lossyPaths: Int? = nil, lossyLossPercent: Double? = nil, lossySent: Int? = nil,
                    lossyReceived: Int? = nil, cleanLossPercent: Double? = nil, cleanPathAddresses: [String] = [], pathSummaries: [String] = []) {
            self.paths = paths
            self.flowsProbed = flowsProbed
            self.complete = complete
            self.spread = spread
            self.lossyHop = lossyHop
            self.lossyHopAddress = lossyHopAddress
            self.lossyPaths = lossyPaths
            self.lossyLossPercent = lossyLossPercent
            self.lossySent = lossySent
            self.lossyReceived = lossyReceived
            self.cleanLossPercent = cleanLossPercent
            self.cleanPathAddresses = cleanPathAddresses
            self.pathSummaries = pathSummaries
        }

        /// `warn` when some or all paths lose probes, else `ok`.
        public var status: ProbeStatus {
            switch spread {
            case .partial?, .every?: return .warn
            default: return .ok
            }
        }
    }

    public var ecmp: ECMP? { if case .ecmp(let value) = self { value } else { nil } }
}

extension ProbeReport {
    /// The `ecmp` entry: `ok` when no path loses, `warn` when some or all do.
    public init(ecmp result: ECMPResult) {
        var details: [String: DetailValue] = [
            "target_ip": .string(result.address.description),
            "method": .string(result.method),
            "paths": .int(result.paths.count),
            "flows_probed": .int(result.flowsProbed),
            "complete": .bool(result.complete),
            "duration_ms": .double(result.durationMilliseconds.roundedToMicro),
        ]
        if !result.branching.isEmpty {
            details["branching"] = .strings(result.branching.sorted { $0.key < $1.key }.map { "hop \($0.key): \($0.value) addresses" })
        }
        details["path_summaries"] = .strings(result.paths.enumerated().map { index, path in
            let branch = result.divergence(of: path).map { " via \($0.address) at hop \($0.ttl)" } ?? ""
            let loss = path.lossPercent.map { "\($0.roundedToMicro) % loss (\(path.sent - path.received) of \(path.sent))" } ?? "not measured"
            let rtt = path.avgMilliseconds.map { ", avg RTT \($0.roundedToMicro) ms" } ?? ""
            let hops = path.hops.map { hop in "\(hop.ttl):\(hop.address?.description ?? "*")(\(hop.answered)/\(hop.probed))" }.joined(separator: " ")
            return "path \(index + 1)\(branch): \(loss)\(rtt); flows \(path.flows.map(String.init).joined(separator: ",")); hops \(hops)"
        })
        var error: String?
        switch result.lossSpread() {
        case .none:
            details["loss_spread"] = .string(ProbeMeasurement.ECMP.Spread.clean.rawValue)
        case .allPaths:
            details["loss_spread"] = .string(ProbeMeasurement.ECMP.Spread.every.rawValue)
            error = "every one of the \(result.paths.count) paths loses probes"
        case .someParallelPaths(let lossy, let clean, let ttl, let address):
            details["loss_spread"] = .string(ProbeMeasurement.ECMP.Spread.partial.rawValue)
            details["lossy_hop"] = .int(ttl)
            details["lossy_hop_ip"] = .string(address.description)
            details["lossy_paths"] = .int(lossy.count)
            let lossyPaths = lossy.map { result.paths[$0] }
            let sent = lossyPaths.reduce(0) { $0 + $1.sent }
            let received = lossyPaths.reduce(0) { $0 + $1.received }
            details["lossy_sent"] = .int(sent)
            details["lossy_received"] = .int(received)
            if sent > 0 { details["lossy_loss_percent"] = .double((Double(sent - received) * 100 / Double(sent)).roundedToMicro) }
            let cleanPaths = clean.map { result.paths[$0] }
            let cleanSent = cleanPaths.reduce(0) { $0 + $1.sent }
            let cleanReceived = cleanPaths.reduce(0) { $0 + $1.received }
            if cleanSent > 0 { details["clean_loss_percent"] = .double((Double(cleanSent - cleanReceived) * 100 / Double(cleanSent)).roundedToMicro) }
            details["clean_path_ips"] = .strings(cleanPaths.compactMap { $0.address(at: ttl)?.description })
            error = "loss on \(lossy.count) of \(result.paths.count) parallel paths, branching at hop \(ttl) (\(address))"
        }
        let measured = ProbeMeasurement(name: ProbeName.ecmp, details: details)
        self.init(name: ProbeName.ecmp, status: measured.ecmp?.status ?? .ok, measurement: measured, details: details, error: error)
    }
}
