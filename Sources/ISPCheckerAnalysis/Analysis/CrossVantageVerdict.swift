import FoundationEssentials
import ISPCheckerResults

/// "Is it me or everyone?": the newest run of one target from each vantage, combined
/// (`GET /api/v1/targets/{target}/verdict`, docs/scaling.md).
///
/// - A fault seen from one vantage only (the others healthy) is that vantage's access network
///   or its upstream: the place its own diagnosis names ("only office-berlin sees 30 % loss,
///   from its hop 2").
/// - A fault seen from every vantage is the destination or a transit they share. The hops their
///   traces have in common name where: the hop every vantage's fault starts at when they agree,
///   else the first hop where their paths join (the fault is there or beyond).
/// - Some but not all of three or more vantages: those vantages' networks (or a transit only
///   they use).
/// - One vantage only: nothing to compare; its own diagnosis stands (informational verdict).
///
/// A vantage "sees a fault" when its run has a fault diagnosis or a probe that is not `ok`.
/// Pure: the same runs give the same verdict.
public struct CrossVantageVerdict: Sendable, Codable, Equatable {
    public enum Scope: String, Sendable, Codable {
        /// No vantage sees a fault.
        case noFault = "no_fault"
        /// Exactly one of two or more vantages sees it.
        case oneVantage = "one_vantage"
        /// Several but not all vantages see it.
        case someVantages = "some_vantages"
        /// Every vantage (two or more) sees it.
        case allVantages = "all_vantages"
        /// Runs from one vantage only: nothing to compare.
        case singleVantage = "single_vantage"
    }

    /// One vantage's newest run as the verdict read it.
    public struct VantageRun: Sendable, Codable, Equatable {
        public var vantage: String
        public var runID: String
        public var timestamp: Date
        public var score: Double
        public var severity: Severity
        /// Whether this vantage sees a fault (a fault diagnosis or a probe not `ok`).
        public var faulty: Bool
        /// The ping's loss to the target, percent, when a ping ran.
        public var lossPercent: Double?
        /// The hop the vantage's first located fault names (its TTL from this vantage).
        public var faultHop: Int?
        /// The address(es) that answered at `faultHop` in this vantage's trace, `|`-separated.
        public var faultAddress: String?
        /// The vantage's first fault, `Component: explanation`.
        public var fault: String?

        enum CodingKeys: String, CodingKey {
            case vantage, timestamp, score, severity, faulty, fault
            case runID = "run_id"
            case lossPercent = "loss_percent"
            case faultHop = "fault_hop"
            case faultAddress = "fault_address"
        }
    }

    /// A router the vantages' paths share, with its hop (TTL) from each vantage.
    public struct SharedHop: Sendable, Codable, Equatable {
        public var address: String
        /// Vantage → TTL of the address in that vantage's trace.
        public var hops: [String: Int]
        /// Whether every faulty vantage's fault starts at this hop (else the paths only join here).
        public var faultStartsHere: Bool

        enum CodingKeys: String, CodingKey {
            case address, hops
            case faultStartsHere = "fault_starts_here"
        }
    }

    public var target: String
    public var scope: Scope
    /// The vantages that see a fault, and those that do not, by name.
    public var faultyVantages: [String]
    public var healthyVantages: [String]
    /// For a fault seen from all: where on their common path it is (nil without traces in common).
    public var sharedHop: SharedHop?
    /// Component, confidence, explanation, action and evidence, as every diagnosis.
    public var diagnosis: Diagnosis
    /// Every vantage's newest run, by vantage name.
    public var vantages: [VantageRun]

    enum CodingKeys: String, CodingKey {
        case target, scope, diagnosis, vantages
        case faultyVantages = "faulty_vantages"
        case healthyVantages = "healthy_vantages"
        case sharedHop = "shared_hop"
    }

    /// The vantage name of a run that names none (stored before vantages, or from the CLI).
    public static let unnamedVantage = "unnamed"

    /// Combines `runs` of `target` (any order, several per vantage allowed: the newest of each
    /// vantage counts).
    public static func combine(target: String, runs: [RunReport]) -> CrossVantageVerdict {
        var newest: [String: RunReport] = [:]
        for run in runs where run.target == target {
            let vantage = run.vantage ?? unnamedVantage
            if let kept = newest[vantage], kept.timestamp >= run.timestamp { continue }
            newest[vantage] = run
        }
        let ordered = newest.keys.sorted().map { ($0, newest[$0]!) }
        let views = ordered.map { view(vantage: $0.0, run: $0.1) }
        let faulty = views.filter(\.faulty).map(\.vantage)
        let healthy = views.filter { !$0.faulty }.map(\.vantage)
        var verdict = CrossVantageVerdict(target: target, scope: .noFault, faultyVantages: faulty, healthyVantages: healthy,
                                          sharedHop: nil, diagnosis: Diagnosis(component: DiagnosisComponent.measurement, confidence: 0,
                                                                               explanation: "", suggestedAction: ""),
                                          vantages: views)
        let paths = Dictionary(uniqueKeysWithValues: ordered.compactMap { vantage, run in
            run.pathFingerprint.map { (vantage, $0) }
        })
        let evidence = views.map(evidenceLine)
        switch (views.count, faulty.count) {
        case (0, _):
            verdict.scope = .singleVantage
            verdict.diagnosis = Diagnosis(component: DiagnosisComponent.measurement, confidence: 0,
                                          explanation: "No run of \(target) from any vantage",
                                          suggestedAction: "Wait for the monitors' first checks of the target", informational: true)
        case (1, _):
            verdict.scope = .singleVantage
            let only = views[0]
            verdict.diagnosis = Diagnosis(
                component: DiagnosisComponent.measurement, confidence: 0.3,
                explanation: "Only \(only.vantage) checks \(target)" + (only.faulty ? " and sees \(only.fault ?? "a fault")" : ", and sees no fault")
                    + ": with one vantage it cannot be told whether others see the same",
                suggestedAction: "Run a monitor at a second vantage (docs/scaling.md) to tell a local fault from the destination's",
                evidence: evidence, informational: true)
        case (_, 0):
            verdict.scope = .noFault
            verdict.diagnosis = Diagnosis(
                component: DiagnosisComponent.measurement, confidence: 0.9,
                explanation: "No vantage sees a fault: \(views.map(\.vantage).joined(separator: ", ")) all reach \(target) cleanly",
                suggestedAction: "Nothing to do", evidence: evidence, informational: true)
        case (let all, let seen) where seen == all:
            verdict.scope = .allVantages
            let shared = sharedHop(views: views, paths: paths)
            verdict.sharedHop = shared
            verdict.diagnosis = everywhere(target: target, views: views, shared: shared, runs: ordered.map { $0.1 }, evidence: evidence)
        case (_, 1):
            verdict.scope = .oneVantage
            let view = views.first(where: \.faulty)!
            verdict.diagnosis = Diagnosis(
                component: view.faultHop == 1 ? DiagnosisComponent.localNetwork : DiagnosisComponent.ispAccess,
                confidence: 0.85,
                explanation: "Only \(view.vantage) sees \(symptom(view))\(where_(view)); "
                    + "\(healthy.joined(separator: ", ")) reach\(healthy.count == 1 ? "es" : "") \(target) cleanly: "
                    + "the fault is in \(view.vantage)'s access network or its upstream, not at the destination",
                suggestedAction: "Check \(view.vantage)'s own link and its provider"
                    + (view.faultHop.map { " from hop \($0)" } ?? "") + "; the destination and shared transit are fine",
                evidence: evidence)
        default:
            verdict.scope = .someVantages
            let seen = views.filter(\.faulty)
            verdict.diagnosis = Diagnosis(
                component: DiagnosisComponent.ispAccess, confidence: 0.6,
                explanation: "\(faulty.joined(separator: ", ")) see faults (" + seen.map { "\($0.vantage): \(symptom($0))\(where_($0))" }.joined(separator: "; ")
                    + "); \(healthy.joined(separator: ", ")) reach \(target) cleanly: the fault is in the networks of those vantages or a transit only they use",
                suggestedAction: "Compare the paths of \(faulty.joined(separator: ", ")) (GET /api/v1/runs?target=\(target)&vantage=…) for a provider they share",
                evidence: evidence)
        }
        return verdict
    }

    /// The diagnosis of a fault every vantage sees.
    private static func everywhere(target: String, views: [VantageRun], shared: SharedHop?, runs: [RunReport],
                                   evidence: [Evidence]) -> Diagnosis {
        let names = views.map(\.vantage).joined(separator: ", ")
        let destinationAddresses = Set(runs.compactMap { $0.trace?.address.description })
        guard let shared else {
            return Diagnosis(
                component: DiagnosisComponent.destination, confidence: 0.6,
                explanation: "Every vantage (\(names)) sees a fault: the destination or a transit they all use; their traces share no hop to place it",
                suggestedAction: "Check the destination \(target) and its provider; run traces from the vantages to find their common path",
                evidence: evidence)
        }
        let place = shared.hops.sorted { $0.key < $1.key }.map { "hop \($0.value) from \($0.key)" }.joined(separator: ", ")
        let isDestination = destinationAddresses.contains(shared.address)
        let component = isDestination ? DiagnosisComponent.destination : DiagnosisComponent.peeringTransit
        if shared.faultStartsHere {
            return Diagnosis(
                component: component, confidence: 0.85,
                explanation: "Every vantage (\(names)) sees a fault, and from all of them it starts at the shared hop \(shared.address) (\(place))"
                    + (isDestination ? ": the destination itself" : ": the transit they share, not any vantage's own network"),
                suggestedAction: isDestination ? "Check the destination \(target) itself (host, service, its uplink)"
                    : "Report it to the operator of \(shared.address) and the path beyond it; the vantages' own links are fine",
                evidence: evidence + [Evidence(probe: ProbeName.traceroute, hop: shared.hops.values.min(),
                                               detail: "shared hop \(shared.address) at \(place): where every vantage's fault starts")])
        }
        return Diagnosis(
            component: component, confidence: 0.7,
            explanation: "Every vantage (\(names)) sees a fault; their paths join at \(shared.address) (\(place)): "
                + "the fault is there or beyond it, in the transit they share or at the destination",
            suggestedAction: "Check \(shared.address), the path from it to \(target), and the destination",
            evidence: evidence + [Evidence(probe: ProbeName.traceroute, hop: shared.hops.values.min(),
                                           detail: "the vantages' paths join at \(shared.address) (\(place))")])
    }

    /// Where the faults of all vantages are on their common path: the address every faulty
    /// vantage's fault starts at, when they agree and it is on every path; else the first hop
    /// their paths share (the join). Nil when not every vantage has a trace, or they share none.
    static func sharedHop(views: [VantageRun], paths: [String: PathFingerprint]) -> SharedHop? {
        guard views.count >= 2, views.allSatisfy({ paths[$0.vantage] != nil }) else { return nil }
        // Each vantage's first TTL per address.
        var ttls: [String: [String: Int]] = [:]
        for view in views {
            let path = paths[view.vantage]!
            var first: [String: Int] = [:]
            for (index, hop) in path.hops.enumerated() {
                for address in hop where first[address] == nil { first[address] = path.firstTTL + index }
            }
            ttls[view.vantage] = first
        }
        let common = views.dropFirst().reduce(Set(ttls[views[0].vantage]!.keys)) { $0.intersection(ttls[$1.vantage]!.keys) }
        guard !common.isEmpty else { return nil }
        func hops(of address: String) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: views.map { ($0.vantage, ttls[$0.vantage]![address]!) })
        }
        // The fault starts at the same shared address from every vantage.
        let starts = views.map { view -> Set<String> in
            guard let hop = view.faultHop else { return [] }
            return Set(paths[view.vantage]!.addresses(at: hop))
        }
        let agreed = starts.dropFirst().reduce(starts[0]) { $0.intersection($1) }.intersection(common)
        if let address = agreed.sorted().first {
            return SharedHop(address: address, hops: hops(of: address), faultStartsHere: true)
        }
        // The join: the common address nearest to the vantages (smallest TTL sum).
        let join = common.min { lhs, rhs in
            let (l, r) = (hops(of: lhs).values.reduce(0, +), hops(of: rhs).values.reduce(0, +))
            return l != r ? l < r : lhs < rhs
        }!
        return SharedHop(address: join, hops: hops(of: join), faultStartsHere: false)
    }

    static func view(vantage: String, run: RunReport) -> VantageRun {
        let first = run.faults.first
        let located = run.faults.first { $0.hop != nil }
        let hop = located?.hop
        let address = hop.flatMap { hop in run.pathFingerprint.map { $0.addresses(at: hop) } }.flatMap { $0.isEmpty ? nil : $0.joined(separator: "|") }
        var loss: Double?
        if case .ping(let ping)? = run.probe(ProbeName.ping)?.measurement { loss = ping.lossPercent }
        return VantageRun(vantage: vantage, runID: run.id, timestamp: run.timestamp, score: run.score, severity: run.severity,
                          faulty: !run.faults.isEmpty || run.worstStatus != .ok, lossPercent: loss,
                          faultHop: hop, faultAddress: address,
                          fault: first.map { "\($0.component): \($0.explanation)" })
    }

    /// `30 % loss` when the ping lost packets, else the vantage's first fault, else its score.
    static func symptom(_ view: VantageRun) -> String {
        if let loss = view.lossPercent, loss > 0 { return "\(DiagnosisEngine.format(loss)) % loss" }
        if let fault = view.fault { return fault }
        return "a degraded run (score \(DiagnosisEngine.format(view.score)))"
    }

    /// `, from its hop 2 (10.0.1.1)` when the vantage's fault is located.
    static func where_(_ view: VantageRun) -> String {
        guard let hop = view.faultHop else { return "" }
        return ", from its hop \(hop)" + (view.faultAddress.map { " (\($0))" } ?? "")
    }

    static func evidenceLine(_ view: VantageRun) -> Evidence {
        let state = view.faulty ? symptom(view) + where_(view) : "no fault"
        let hopNote = view.faulty ? (view.fault.map { "; \($0)" } ?? "") : ""
        return Evidence(probe: view.lossPercent != nil ? ProbeName.ping : ProbeName.traceroute, hop: view.faultHop,
                        detail: "\(view.vantage): \(state) (run \(view.runID), score \(DiagnosisEngine.format(view.score)))\(hopNote)")
    }
}
