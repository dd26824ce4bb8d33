import ISPCheckerResults

/// Builds a trace from individual probes and replies (scamper, RIPE Atlas), TTL by TTL, as the
/// live trace's hop statistics do: sent, replies with their RTTs, addresses by count, MPLS stacks,
/// unreachable codes. Several results for one target add up as rounds.
struct TraceAccumulator {
    struct Hop {
        var sent = 0
        var rttsMilliseconds: [Double] = []
        var addressCounts: [IPAddress: Int] = [:]
        var addressOrder: [IPAddress] = []
        var mplsStacks: [[MPLSLabel]] = []
        var unreachable: [UnreachableCode] = []
        var isDestination = false
    }

    /// By TTL, 1 ... 255.
    private(set) var hops: [Int: Hop] = [:]
    var rounds = 0
    var durationMilliseconds = 0.0

    mutating func sent(ttl: Int, count: Int = 1) {
        hops[ttl, default: Hop()].sent += count
    }

    /// A reply at `ttl`; `from` nil when the tool gave no address. A distinct MPLS stack, an
    /// unreachable code, is kept once.
    mutating func reply(ttl: Int, from address: IPAddress?, rttMilliseconds: Double, mpls: [MPLSLabel] = [],
                        unreachable: UnreachableCode? = nil, isDestination: Bool) {
        var hop = hops[ttl, default: Hop()]
        hop.rttsMilliseconds.append(rttMilliseconds)
        if let address {
            if hop.addressCounts[address] == nil, hop.addressOrder.count < ImportLimits.maximumAddressesPerHop { hop.addressOrder.append(address) }
            hop.addressCounts[address, default: 0] += 1
        }
        if !mpls.isEmpty, !hop.mplsStacks.contains(mpls), hop.mplsStacks.count < 64 { hop.mplsStacks.append(mpls) }
        if let unreachable, !hop.unreachable.contains(unreachable) { hop.unreachable.append(unreachable) }
        hop.isDestination = hop.isDestination || isDestination
        hops[ttl] = hop
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
            traceHops.append(Self.snapshot(ttl: ttl, hops[ttl] ?? Hop()))
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

    static func snapshot(ttl: Int, _ hop: Hop) -> TraceHop {
        let received = hop.rttsMilliseconds.count
        // A duplicate or late reply the tool did not count as a probe must not make loss negative.
        let sent = min(max(hop.sent, received), Int(ImportLimits.count.upperBound))
        let addresses = hop.addressOrder
            .map { HopAddress(address: $0, replies: min(hop.addressCounts[$0] ?? 0, Int(ImportLimits.count.upperBound))) }
            .sorted { $0.replies > $1.replies }
        var result = TraceHop(ttl: ttl, addresses: addresses, sent: sent, received: min(received, sent),
                              lossPercent: sent == 0 ? 0 : Double(sent - min(received, sent)) * 100 / Double(sent),
                              mplsStacks: hop.mplsStacks, unreachable: hop.unreachable, isDestination: hop.isDestination)
        guard received > 0 else { return result }
        let rtts = hop.rttsMilliseconds
        let mean = rtts.reduce(0, +) / Double(received)
        let variance = rtts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(received)
        result.lastMilliseconds = rtts.last
        result.avgMilliseconds = mean
        result.bestMilliseconds = rtts.min()
        result.worstMilliseconds = rtts.max()
        result.stdevMilliseconds = min(variance.squareRoot(), ImportLimits.milliseconds.upperBound)
        return result
    }
}
