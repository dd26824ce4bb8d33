import ISPCheckerPrimitives

/// Accumulates one TTL's answers over the rounds of a trace (mtr's per-hop columns).
package struct HopStatistics {
    package let ttl: Int
    var sent = 0
    package var rttsMilliseconds: [Double] = []
    var addressCounts: [IPAddress: Int] = [:]
    var addressOrder: [IPAddress] = []
    var mplsStacks: [[MPLSLabel]] = []
    package private(set) var unreachable: [UnreachableCode] = []
    package private(set) var isDestination = false
    var weakestClock: ClockSource?
    var quoteRewrite: HopQuoteRewrite?

    package init(ttl: Int) { self.ttl = ttl }

    package mutating func recordSent() { sent += 1 }

    /// A label stack seen another way than in the answer's RFC 4950 extension (a replayed
    /// capture's MPLS header in front of the answer), kept with the hop's other stacks.
    package mutating func noteLabels(_ stack: [MPLSLabel]) {
        if !stack.isEmpty && !mplsStacks.contains(stack) { mplsStacks.append(stack) }
    }

    package mutating func record(from address: IPAddress, rttNanoseconds: Int64, clock: ClockSource, mpls: [MPLSLabel], unreachableCode: UnreachableCode?, isDestination: Bool) {
        record(from: address, rttMilliseconds: Double(rttNanoseconds) / 1_000_000, clock: clock, mpls: mpls,
               unreachableCode: unreachableCode, isDestination: isDestination)
    }

    /// One answer: `address` nil when the source (another tool's result) gave none; `clock` nil
    /// when it does not say how the time was taken. Beyond `maximumAddresses` distinct
    /// addresses and `maximumStacks` distinct MPLS stacks (bounds for files made elsewhere), a
    /// new one is counted in the replies but not listed.
    package mutating func record(from address: IPAddress?, rttMilliseconds: Double, clock: ClockSource?, mpls: [MPLSLabel],
                                 unreachableCode: UnreachableCode?, isDestination: Bool,
                                 maximumAddresses: Int = .max, maximumStacks: Int = .max) {
        rttsMilliseconds.append(rttMilliseconds)
        if let address, addressCounts[address] != nil || addressOrder.count < maximumAddresses {
            if addressCounts[address] == nil { addressOrder.append(address) }
            addressCounts[address, default: 0] += 1
        }
        if !mpls.isEmpty && !mplsStacks.contains(mpls) && mplsStacks.count < maximumStacks { mplsStacks.append(mpls) }
        if let unreachableCode, !unreachable.contains(unreachableCode) { unreachable.append(unreachableCode) }
        self.isDestination = self.isDestination || isDestination
        if let clock { weakestClock = max(weakestClock ?? clock, clock) }
    }

    /// How an answer's ICMP error quoted the probe, against what was sent: a quote that differs
    /// is kept (fields merged, the latest quoted source), one that matches changes nothing.
    package mutating func noteQuote(sent: SentProbeHeader, quoted: QuotedProbeHeader, timeExceeded: Bool) {
        let fields = QuoteRewrite.comparing(sent: sent, quoted: quoted, timeExceeded: timeExceeded)
        guard !fields.isEmpty else { return }
        var merged = quoteRewrite ?? HopQuoteRewrite(fields: [], answers: 0, sentSource: sent.source, sentSourcePort: sent.sourcePort,
                                                     quotedSource: quoted.source, quotedSourcePort: quoted.sourcePort)
        merged.fields.formUnion(fields)
        merged.answers += 1
        merged.sentSource = sent.source
        merged.sentSourcePort = sent.sourcePort
        merged.quotedSource = quoted.source
        merged.quotedSourcePort = quoted.sourcePort
        quoteRewrite = merged
    }

    /// Probes another tool counted as sent at this TTL.
    package mutating func recordSent(count: Int) { sent += count }

    package var snapshot: TraceHop {
        let received = rttsMilliseconds.count
        let addresses = addressOrder
            .map { HopAddress(address: $0, replies: addressCounts[$0] ?? 0, name: nil) }
            .sorted { $0.replies > $1.replies }
        var hop = TraceHop(
            ttl: ttl, addresses: addresses, sent: sent, received: received,
            lossPercent: sent == 0 ? 0 : Double(sent - received) * 100 / Double(sent),
            mplsStacks: mplsStacks, unreachable: unreachable, isDestination: isDestination, clock: weakestClock)
        hop.quoteRewrite = quoteRewrite
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
