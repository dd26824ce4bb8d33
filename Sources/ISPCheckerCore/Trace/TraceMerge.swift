import ISPCheckerPrimitives
import ISPCheckerResults

extension TraceResult {
    /// This trace and a later one of the same target as one trace of both traces' rounds: per TTL
    /// the probes and answers add up, RTT statistics pool (mean and population deviation over
    /// every reply), addresses, MPLS stacks and unreachable codes are the union.
    ///
    /// More rounds is what tells loss that persists from a hop to the destination from a hop that
    /// by chance answered every probe of a short trace; ``HealthChecker`` traces again and merges
    /// when ping sees loss.
    ///
    /// The hop list ends where the merged trace ends: at the first TTL where the destination
    /// answered in either trace (a round whose probe at that TTL was lost may have reached the
    /// destination one TTL further), else at the longer list.
    public func merged(with later: TraceResult) -> TraceResult {
        var byTTL: [Int: TraceHop] = Dictionary(hops.map { ($0.ttl, $0) }, uniquingKeysWith: { first, _ in first })
        for hop in later.hops {
            byTTL[hop.ttl] = byTTL[hop.ttl].map { $0.merged(with: hop) } ?? hop
        }
        var merged = byTTL.values.sorted { $0.ttl < $1.ttl }
        if let destinationTTL = merged.first(where: \.isDestination)?.ttl {
            merged.removeAll { $0.ttl > destinationTTL }
        }
        var result = self
        result.rounds = rounds + later.rounds
        result.hops = merged
        result.durationMilliseconds = durationMilliseconds + later.durationMilliseconds
        if destinationReached || later.destinationReached {
            result.stop = .destinationReached
        } else if case .unreachable = later.stop, case .maxHopsReached = stop {
            result.stop = later.stop
        }
        return result
    }
}

extension TraceHop {
    /// Both hops' rounds as one hop's (see ``TraceResult/merged(with:)``).
    func merged(with later: TraceHop) -> TraceHop {
        var hop = self
        hop.sent = sent + later.sent
        hop.received = received + later.received
        hop.lossPercent = hop.sent == 0 ? 0 : Double(hop.sent - hop.received) * 100 / Double(hop.sent)
        for address in later.addresses {
            if let index = hop.addresses.firstIndex(where: { $0.address == address.address }) {
                hop.addresses[index].replies += address.replies
                hop.addresses[index].name = hop.addresses[index].name ?? address.name
            } else {
                hop.addresses.append(address)
            }
        }
        hop.addresses.sort { $0.replies > $1.replies }
        hop.mplsStacks += later.mplsStacks.filter { !mplsStacks.contains($0) }
        hop.unreachable += later.unreachable.filter { !unreachable.contains($0) }
        hop.isDestination = isDestination || later.isDestination
        hop.clock = [clock, later.clock].compactMap { $0 }.max()
        hop.lastMilliseconds = later.lastMilliseconds ?? lastMilliseconds
        hop.bestMilliseconds = [bestMilliseconds, later.bestMilliseconds].compactMap { $0 }.min()
        hop.worstMilliseconds = [worstMilliseconds, later.worstMilliseconds].compactMap { $0 }.max()
        switch (avgMilliseconds, later.avgMilliseconds) {
        case let (mean1?, mean2?):
            let (n1, n2) = (Double(received), Double(later.received))
            let mean = (n1 * mean1 + n2 * mean2) / (n1 + n2)
            let (var1, var2) = (pow2(stdevMilliseconds ?? 0), pow2(later.stdevMilliseconds ?? 0))
            let variance = (n1 * (var1 + pow2(mean1 - mean)) + n2 * (var2 + pow2(mean2 - mean))) / (n1 + n2)
            hop.avgMilliseconds = mean
            hop.stdevMilliseconds = variance.squareRoot()
        case (nil, _?):
            hop.avgMilliseconds = later.avgMilliseconds
            hop.stdevMilliseconds = later.stdevMilliseconds
        default:
            break
        }
        return hop
    }
}

private func pow2(_ value: Double) -> Double { value * value }
