import ISPCheckerPrimitives

/// Accumulates one TTL's answers over the rounds of a trace (mtr's per-hop columns).
package struct HopStatistics {
    package let ttl: Int
    var sent = 0
    package var rttsMilliseconds: [Double] = []
    var addressCounts: [IPAddress: Int] = [:]
    var addressOrder: [IPAddress] = []
    var mplsStacks: [[MPLSLabel]] = []
    var unreachable: [UnreachableCode] = []
    var isDestination = false
    var weakestClock: ClockSource?

    package init(ttl: Int) { self.ttl = ttl }

    package mutating func recordSent() { sent += 1 }

    /// A label stack seen another way than in the answer's RFC 4950 extension (a replayed
    /// capture's MPLS header in front of the answer), kept with the hop's other stacks.
    package mutating func noteLabels(_ stack: [MPLSLabel]) {
        if !stack.isEmpty && !mplsStacks.contains(stack) { mplsStacks.append(stack) }
    }

    package mutating func record(from address: IPAddress, rttNanoseconds: Int64, clock: ClockSource, mpls: [MPLSLabel], unreachableCode: UnreachableCode?, isDestination: Bool) {
        rttsMilliseconds.append(Double(rttNanoseconds) / 1_000_000)
        if addressCounts[address] == nil { addressOrder.append(address) }
        addressCounts[address, default: 0] += 1
        if !mpls.isEmpty && !mplsStacks.contains(mpls) { mplsStacks.append(mpls) }
        if let unreachableCode, !unreachable.contains(unreachableCode) { unreachable.append(unreachableCode) }
        self.isDestination = self.isDestination || isDestination
        weakestClock = max(weakestClock ?? clock, clock)
    }

    package var snapshot: TraceHop {
        let received = rttsMilliseconds.count
        let addresses = addressOrder
            .map { HopAddress(address: $0, replies: addressCounts[$0] ?? 0, name: nil) }
            .sorted { $0.replies > $1.replies }
        var hop = TraceHop(
            ttl: ttl, addresses: addresses, sent: sent, received: received,
            lossPercent: sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent),
            mplsStacks: mplsStacks, unreachable: unreachable, isDestination: isDestination, clock: weakestClock)
        guard received > 0 else { return hop }
        let mean = rttsMilliseconds.reduce(0, +) / Double(received)
        let variance = rttsMilliseconds.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(received)
        hop.lastMilliseconds = rttsMilliseconds.last
        hop.avgMilliseconds = mean
        hop.bestMilliseconds = rttsMilliseconds.min()
        hop.worstMilliseconds = rttsMilliseconds.max()
        hop.stdevMilliseconds = variance.squareRoot()
        return hop
    }
}
