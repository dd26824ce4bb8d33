import FoundationEssentials
import ISPCheckerResults
#if canImport(Glibc)
import Glibc
#endif

/// What a traceroute says about the path, read the way an experienced engineer reads mtr:
/// loss counts only when it starts at a hop and persists to the end; loss at one hop that later
/// hops do not share is that router limiting the ICMP errors it sends.
struct PathAnalysis: Sendable, Equatable {
    /// Loss that begins at `startTTL` and persists to the last hop.
    struct PersistentLoss: Sendable, Equatable {
        var startTTL: Int
        /// Loss at the start hop, percent.
        var startLossPercent: Double
        /// Loss at the last hop, percent.
        var lastLossPercent: Double
        /// Nothing answered from `startTTL` on (a black hole, not partial loss).
        var total: Bool
        /// Located by the echo requests to each hop (`TraceHop.echoSent`), not by the trace's
        /// own answers, which routers' ICMP error limits thin out.
        var byEcho = false
    }

    /// An RTT rise between two answering hops that every later hop keeps.
    struct LatencyStep: Sendable, Equatable {
        /// The hop where the RTT rises.
        var ttl: Int
        /// The hop before it that answered (0 = the client itself).
        var previousTTL: Int
        var fromMilliseconds: Double
        var toMilliseconds: Double
        var riseMilliseconds: Double { toMilliseconds - fromMilliseconds }
    }

    var hops: [TraceHop]
    var persistentLoss: PersistentLoss?
    /// Lossy or silent hops before the persistent loss (or anywhere, when there is none) whose
    /// loss later hops do not share.
    var nonPersistentLossHops: [TraceHop]
    var latencyStep: LatencyStep?
    /// The farthest hop that answered at least once.
    var farthestAnsweringTTL: Int?
    var gatewayAnswered: Bool
    /// The trace ended with a destination-unreachable from a router (not the destination's
    /// port unreachable): that router's hop and code.
    var unreachable: (ttl: Int, code: UnreachableCode)?

    static func == (lhs: PathAnalysis, rhs: PathAnalysis) -> Bool {
        lhs.hops == rhs.hops && lhs.persistentLoss == rhs.persistentLoss && lhs.latencyStep == rhs.latencyStep
            && lhs.nonPersistentLossHops == rhs.nonPersistentLossHops && lhs.farthestAnsweringTTL == rhs.farthestAnsweringTTL
            && lhs.gatewayAnswered == rhs.gatewayAnswered && lhs.unreachable?.ttl == rhs.unreachable?.ttl
            && lhs.unreachable?.code == rhs.unreachable?.code
    }

    init(trace: TraceResult, thresholds: HealthThresholds.Path) {
        hops = trace.hops
        let lossy = { (hop: TraceHop) in hop.lossPercent >= thresholds.hopLossPercent }

        var start = hops.endIndex
        if let located = Self.echoLocatedLoss(hops) {
            start = located.index
            persistentLoss = located.loss
        } else {
            // Without echoes: the longest run of lossy hops that ends at the last hop.
            while start > hops.startIndex && lossy(hops[start - 1]) { start -= 1 }
            if start < hops.endIndex, let first = hops[start...].first, let last = hops.last {
                persistentLoss = PersistentLoss(startTTL: first.ttl, startLossPercent: first.lossPercent,
                                                lastLossPercent: last.lossPercent,
                                                total: hops[start...].allSatisfy { $0.received == 0 })
            }
        }
        nonPersistentLossHops = hops[..<start].filter(lossy)
        farthestAnsweringTTL = hops.last(where: { $0.received > 0 })?.ttl
        gatewayAnswered = hops.first.map { $0.ttl == 1 && $0.received > 0 } ?? false
        if case .unreachable(let code) = trace.stop, let last = hops.last { unreachable = (last.ttl, code) }
        latencyStep = Self.largestKeptStep(hops, threshold: thresholds.latencyStepMilliseconds)
    }

    /// Where loss starts, from the echo requests to each hop that answers them (echo replies
    /// are not limited like the ICMP errors a trace counts): among "one loss rate for every hop"
    /// and "one rate before hop h, another from h on", the most likely split of the pooled
    /// binomial counts, where a split must gain `splitPenalty` in log-likelihood over one rate
    /// (a hop's 100 echoes at 5 % loss gain about 5 against the hop before; chance gains stay
    /// mostly below 2). Loss counts when at least 3 echoes were lost, and 1 % of those sent from
    /// where it starts (at the last hop only, 5 % is 1 % of all five hops' echoes). Pooling the
    /// hops past the split finds even 5 % loss that one hop's echoes may not show. Nil without
    /// echoes or without loss.
    static func echoLocatedLoss(_ hops: [TraceHop], splitPenalty: Double = 2.5) -> (index: Int, loss: PersistentLoss)? {
        let data = hops.indices.compactMap { index -> (index: Int, sent: Int, lost: Int)? in
            guard let sent = hops[index].echoSent, let received = hops[index].echoReceived, received > 0, sent >= received else { return nil }
            return (index, sent, sent - received)
        }
        guard !data.isEmpty else { return nil }
        func logLikelihood(_ sent: Int, _ lost: Int) -> Double {
            guard sent > 0 else { return 0 }
            let rate = Double(lost) / Double(sent)
            return (lost > 0 ? Double(lost) * log(rate) : 0) + (lost < sent ? Double(sent - lost) * log(1 - rate) : 0)
        }
        let totalSent = data.reduce(0) { $0 + $1.sent }, totalLost = data.reduce(0) { $0 + $1.lost }
        let oneRate = logLikelihood(totalSent, totalLost)
        guard totalLost >= 3 else { return nil }
        var split = 0
        var bestScore = oneRate + splitPenalty
        var sentBefore = data[0].sent, lostBefore = data[0].lost
        for candidate in data.indices.dropFirst() {
            let sentAfter = totalSent - sentBefore, lostAfter = totalLost - lostBefore
            let rateAfter = Double(lostAfter) / Double(sentAfter)
            let rateBefore = Double(lostBefore) / Double(sentBefore)
            let score = logLikelihood(sentBefore, lostBefore) + logLikelihood(sentAfter, lostAfter)
            if rateAfter >= 0.01, rateAfter > rateBefore, score >= bestScore {
                split = candidate
                bestScore = score
            }
            sentBefore += data[candidate].sent
            lostBefore += data[candidate].lost
        }
        // Loss from the first hop on must itself reach 1 %; a split's stretch did above.
        if split == 0 && Double(totalLost) / Double(totalSent) < 0.01 { return nil }
        let first = data[split], last = data[data.count - 1]
        let percent = { (entry: (index: Int, sent: Int, lost: Int)) in Double(entry.lost) * 100 / Double(entry.sent) }
        return (first.index, PersistentLoss(startTTL: hops[first.index].ttl, startLossPercent: percent(first),
                                            lastLossPercent: percent(last), total: false, byEcho: true))
    }

    /// The largest RTT rise from one answering hop to the next that every later answering hop
    /// keeps (its average stays at least `threshold` above the hop before the rise). A router
    /// slow to generate ICMP errors shows a rise at its own hop only, and is not a step.
    private static func largestKeptStep(_ hops: [TraceHop], threshold: Double) -> LatencyStep? {
        let answering = hops.compactMap { hop in hop.avgMilliseconds.map { (ttl: hop.ttl, ms: $0) } }
        guard !answering.isEmpty else { return nil }
        // suffixMinimum[i] = smallest average from answering[i] to the end.
        var suffixMinimum = answering.map(\.ms)
        for index in suffixMinimum.indices.reversed().dropFirst() {
            suffixMinimum[index] = min(suffixMinimum[index], suffixMinimum[index + 1])
        }
        var best: LatencyStep?
        var previous = (ttl: 0, ms: 0.0)
        for (index, hop) in answering.enumerated() {
            let kept = suffixMinimum[index] - previous.ms
            if kept >= threshold, kept > (best.map { $0.toMilliseconds - $0.fromMilliseconds } ?? 0) {
                best = LatencyStep(ttl: hop.ttl, previousTTL: previous.ttl, fromMilliseconds: previous.ms, toMilliseconds: suffixMinimum[index])
            }
            previous = hop
        }
        return best
    }
}

extension TraceResult {
    /// The first TTL of the loss that persists from a hop to the end of the trace, read as
    /// ``HealthChecker`` reads a path: a hop is lossy from `thresholds.hopLossPercent`, and loss
    /// counts only when every later hop shares it (a single silent router is that router limiting
    /// its ICMP errors, not loss). Nil when the last hop answered every probe. For a trace that
    /// did not reach its destination it is where the path goes dark.
    public func persistentLossStartTTL(thresholds: HealthThresholds.Path = .default) -> Int? {
        PathAnalysis(trace: self, thresholds: thresholds).persistentLoss?.startTTL
    }
}
