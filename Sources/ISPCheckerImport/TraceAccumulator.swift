import ISPCheckerResults

/// Builds a trace from individual probes and replies (scamper, RIPE Atlas), TTL by TTL, as the
/// live trace's hop statistics do: sent, replies with their RTTs, addresses by count, MPLS stacks,
/// unreachable codes. Several results for one target add up as rounds.
struct TraceAccumulator {
    /// By TTL, 1 ... 255: the live trace's own per-hop statistics.
    private(set) var hops: [Int: HopStatistics] = [:]
    var rounds = 0
    var durationMilliseconds = 0.0

    mutating func sent(ttl: Int, count: Int = 1) {
        hops[ttl, default: HopStatistics(ttl: ttl)].recordSent(count: count)
    }

    /// A reply at `ttl`; `from` nil when the tool gave no address. A distinct MPLS stack, an
    /// unreachable code, is kept once; addresses and stacks are bounded (`ImportLimits`).
    mutating func reply(ttl: Int, from address: IPAddress?, rttMilliseconds: Double, mpls: [MPLSLabel] = [],
                        unreachable: UnreachableCode? = nil, isDestination: Bool) {
        hops[ttl, default: HopStatistics(ttl: ttl)].record(
            from: address, rttMilliseconds: rttMilliseconds, clock: nil, mpls: mpls, unreachableCode: unreachable,
            isDestination: isDestination, maximumAddresses: ImportLimits.maximumAddressesPerHop, maximumStacks: 64)
    }

    /// The trace: one hop a TTL from `firstTTL` to the destination's (or the unreachable one's, or
    /// the last probed), the silent ones included; nil when no TTL was probed.
    func result(target: String, address: IPAddress, method: TraceMethod, paris: Bool, firstTTL: Int = 1) -> TraceResult? {
        guard let probedLast = hops.keys.max() else { return nil }
        let first = max(1, min(firstTTL, hops.keys.min() ?? 1))
        // The trace ends where it ended live: at the nearest TTL the destination answered, else at
        // the nearest unreachable, else at the last TTL probed.
        let destinationTTL = hops.filter { $0.value.isDestination }.keys.min()
        let unreachableTTL = hops.filter { !$0.value.unreachable.isEmpty && !$0.value.isDestination }.keys.min()
        let last = destinationTTL ?? unreachableTTL ?? probedLast
        var traceHops: [TraceHop] = []
        for ttl in first...last {
            traceHops.append(Self.bounded((hops[ttl] ?? HopStatistics(ttl: ttl)).snapshot))
        }
        let stop: TraceStop
        if destinationTTL != nil {
            stop = .destinationReached
        } else if let unreachableTTL, let code = hops[unreachableTTL]?.unreachable.first {
            stop = .unreachable(code)
        } else {
            stop = .maxHopsReached
        }
        return TraceResult(target: target, address: address, method: method, paris: paris,
                           rounds: min(max(rounds, 1), Int(ImportLimits.rounds.upperBound)), hops: traceHops, stop: stop,
                           durationMilliseconds: min(max(durationMilliseconds, 0), ImportLimits.milliseconds.upperBound))
    }

    /// A hop as HopStatistics sums it up, held to what a report may carry: another tool's
    /// duplicate or late reply it did not count as a probe must not make loss negative, and
    /// counts and times stay in the report's ranges.
    static func bounded(_ hop: TraceHop) -> TraceHop {
        var hop = hop
        let countLimit = Int(ImportLimits.count.upperBound)
        let sent = min(max(hop.sent, hop.received), countLimit)
        let received = min(hop.received, sent)
        hop.sent = sent
        hop.received = received
        hop.lossPercent = sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent)
        hop.addresses = hop.addresses.map { HopAddress(address: $0.address, replies: min($0.replies, countLimit), name: $0.name) }
        hop.stdevMilliseconds = hop.stdevMilliseconds.map { min($0, ImportLimits.milliseconds.upperBound) }
        return hop
    }
}
