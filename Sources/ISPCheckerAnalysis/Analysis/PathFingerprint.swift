import FoundationEssentials
import ISPCheckerResults

/// The path a run's packets took: for each TTL of its trace, the addresses that answered there.
/// The monitor keeps one per run and records a `PathChange` when a run's path leaves the one
/// before (docs/monitor.md, "Path changes").
///
/// Two paths are compared hop by hop, on what both traces saw:
/// - a silent hop (`*`, no answer in any round: a router that sends no ICMP errors, or one that
///   rate-limited every probe of this run) matches anything: silence is not a new router;
/// - a hop that answered from several addresses (ECMP alternates, or per-packet balancing) is a
///   set, and two hops are the same when their sets share an address: a run that goes through
///   one of the routers seen there before has not changed path;
/// - hops past the end of the shorter trace are not compared (a trace cut short is not a new
///   path; a destination now farther away shows as a router where it used to answer).
/// A change is the first TTL where both traces answered and their sets share no address.
public struct PathFingerprint: Sendable, Equatable, Hashable {
    /// The first hop's TTL.
    public var firstTTL: Int
    /// One entry per TTL from `firstTTL`: the answering addresses in text form, sorted; empty
    /// for a silent hop.
    public var hops: [[String]]

    public init(firstTTL: Int = 1, hops: [[String]]) {
        self.firstTTL = firstTTL
        self.hops = hops.map { Array(Set($0)).sorted() }
    }

    /// The fingerprint of `trace`, or nil when no hop answered (nothing to compare).
    public init?(trace: TraceResult) {
        guard let first = trace.hops.first, trace.hops.contains(where: { !$0.isSilent && !$0.addresses.isEmpty }) else { return nil }
        var hops: [[String]] = []
        for hop in trace.hops {
            // TTLs are consecutive in a trace; a gap (none in practice) counts as silent hops.
            while first.ttl + hops.count < hop.ttl { hops.append([]) }
            hops.append(hop.addresses.map(\.address.description))
        }
        self.init(firstTTL: first.ttl, hops: hops)
    }

    /// The storage form: hops separated by a space, alternates by `|`, a silent hop `*`, after
    /// the first TTL and `:` (`1:192.168.1.1 * 10.0.1.1|10.0.2.1 203.0.113.9`).
    public var text: String {
        "\(firstTTL):" + hops.map { $0.isEmpty ? "*" : $0.joined(separator: "|") }.joined(separator: " ")
    }

    /// Reads `text`; nil when it is not that form.
    public init?(text: String) {
        guard let colon = text.firstIndex(of: ":"), let first = Int(text[..<colon]), first >= 1 else { return nil }
        let body = text[text.index(after: colon)...]
        let hops = body.split(separator: " ", omittingEmptySubsequences: true).map { hop -> [String] in
            hop == "*" ? [] : hop.split(separator: "|").map(String.init)
        }
        guard !hops.isEmpty else { return nil }
        self.init(firstTTL: first, hops: hops)
    }

    /// The addresses that answered at `ttl` (empty: silent, or outside the trace).
    public func addresses(at ttl: Int) -> [String] {
        let index = ttl - firstTTL
        return hops.indices.contains(index) ? hops[index] : []
    }

    /// This run's path as the reference the next run is compared with: where this run's hop
    /// was silent, the addresses `previous` (the reference before it, which it did not leave)
    /// had there. So a hop silent in one run is not forgotten, and a change behind it is still
    /// seen at the next run that gets an answer there.
    public func filling(silentHopsFrom previous: PathFingerprint) -> PathFingerprint {
        var filled = self
        for index in filled.hops.indices where filled.hops[index].isEmpty {
            filled.hops[index] = previous.addresses(at: firstTTL + index)
        }
        return filled
    }

    /// The reference after a run with path `current` whose previous reference was `previous`:
    /// the change, if it left it, and the reference for the next run (the run's own path after
    /// a change, with silent hops filled from `previous` when not).
    public static func next(previous: PathFingerprint?, current: PathFingerprint) -> (change: PathChange?, reference: PathFingerprint) {
        guard let previous else { return (nil, current) }
        if let change = previous.change(to: current) { return (change, current) }
        return (nil, current.filling(silentHopsFrom: previous))
    }

    /// Where `newer` leaves this path: the first TTL at which both answered and no address is
    /// common; nil when the paths agree on every hop both saw.
    public func change(to newer: PathFingerprint) -> PathChange? {
        let start = max(firstTTL, newer.firstTTL)
        let end = min(firstTTL + hops.count, newer.firstTTL + newer.hops.count)
        guard start < end else { return nil }
        for ttl in start..<end {
            let before = addresses(at: ttl), after = newer.addresses(at: ttl)
            if !before.isEmpty, !after.isEmpty, Set(before).isDisjoint(with: after) {
                return PathChange(hop: ttl, from: before, to: after)
            }
        }
        return nil
    }
}

/// A run whose path left the previous run's: the first hop that differs, and its addresses
/// before and after.
public struct PathChange: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The TTL of the first differing hop.
    public var hop: Int
    /// The addresses that answered there in the earlier run.
    public var from: [String]
    /// The addresses that answer there now.
    public var to: [String]

    public init(hop: Int, from: [String], to: [String]) {
        self.hop = hop
        self.from = from
        self.to = to
    }

    /// `hop 3: 10.0.1.1 → 10.0.2.1` (alternates joined by `|`).
    public var description: String {
        "hop \(hop): \(from.joined(separator: "|")) → \(to.joined(separator: "|"))"
    }
}

extension RunReport {
    /// The path of this run's trace, or nil without a trace or when no hop answered.
    public var pathFingerprint: PathFingerprint? { trace.flatMap(PathFingerprint.init(trace:)) }
}

enum PathChangeEvidence {
    /// When end-to-end loss began at this run (the target's previous run with a trace had
    /// loss under the warn threshold, this one at or above it) and the path changed from that
    /// run's: the evidence that says so, for the loss's diagnoses. Nil otherwise.
    static func lossBeganWithPathChange(_ context: AnalysisContext, timestamp: Date, history: [RunReport]) -> Evidence? {
        guard context.endToEndLossConfirmed, let trace = context.trace, let current = PathFingerprint(trace: trace) else { return nil }
        guard let previous = history.filter({ $0.target == context.target && $0.timestamp < timestamp && $0.trace != nil })
            .max(by: { $0.timestamp < $1.timestamp }),
              let before = previous.pathFingerprint, let change = before.change(to: current) else { return nil }
        let previousLoss = previous.probes.first { $0.name == ProbeName.ping }?.measurement.ping?.lossPercent
        guard let previousLoss, previousLoss < context.thresholds.ping.lossWarnPercent else { return nil }
        return Evidence(probe: ProbeName.traceroute, hop: change.hop,
                        detail: "loss began at the run where the path changed at \(change) (previous run \(previous.id): packet_loss \(DiagnosisEngine.format(previousLoss)))")
    }
}
