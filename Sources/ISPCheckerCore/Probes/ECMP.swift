import ISPCheckerPrimitives
import ISPCheckerResults

/// How the ECMP probe enumerates the parallel paths to a target and measures each.
public struct ECMPOptions: Sendable {
    /// The first flow's destination port; flow i uses `basePort + i`. TCP SYNs to closed ports
    /// are answered by RST, which no ICMP rate limit holds back.
    public var basePort: UInt16
    /// Most flows traced before giving up on the stopping rule: 16 confirms up to 2 paths at a hop
    /// (n(2) = 11) and sees a third.
    public var maxFlows: Int
    /// Fewest flows traced: n(2) = 11 of the stopping rule, not n(1) = 6. After 6 flows that all
    /// took one next hop, a two-way balancer is still hidden 1 time in 32 (2 × 2⁻⁶, the 95 %
    /// rule's own error); after 11, 1 time in 1,000, for 1 s more on a path without balancing.
    public var minFlows: Int
    /// Time between the starts of two flows' traces: every router answers each flow once, and
    /// Linux routers send a burst of 6 ICMP errors, then one a second, per destination.
    public var flowInterval: Duration
    /// Probes sent to the target on each path (one of its flows) for loss and RTT.
    public var probesPerPath: Int
    /// Time between two of a path's probes.
    public var probeInterval: Duration
    /// How long a trace probe waits for its answer.
    public var timeout: Duration
    public var maxHops: Int
    public var family: FamilyPreference

    public init(basePort: UInt16 = 33434, maxFlows: Int = 16, minFlows: Int = 11, flowInterval: Duration = .milliseconds(200),
                probesPerPath: Int = 40, probeInterval: Duration = .milliseconds(40), timeout: Duration = .seconds(1),
                maxHops: Int = 30, family: FamilyPreference = .any) {
        self.basePort = basePort
        self.maxFlows = maxFlows
        self.minFlows = minFlows
        self.flowInterval = flowInterval
        self.probesPerPath = probesPerPath
        self.probeInterval = probeInterval
        self.timeout = timeout
        self.maxHops = maxHops
        self.family = family
    }

    /// - Throws: `.invalidArgument` naming the option and its range.
    public func validate() throws(ProbeError) {
        guard (1...64).contains(minFlows), (minFlows...256).contains(maxFlows) else {
            throw .invalidArgument(name: "ECMP flows", reason: "need 1 ≤ minimum ≤ 64 and minimum ≤ maximum ≤ 256")
        }
        guard Int(basePort) + maxFlows <= 65535, basePort > 0 else {
            throw .invalidArgument(name: "ECMP base port", reason: "base port + flows must stay within 1 ... 65535")
        }
        guard (1...1000).contains(probesPerPath) else { throw .invalidArgument(name: "ECMP probes per path", reason: "must be 1 ... 1000") }
        guard flowInterval >= .zero, probeInterval >= .zero, timeout.isPositive else {
            throw .invalidArgument(name: "ECMP timing", reason: "intervals must be ≥ 0 and the timeout > 0")
        }
    }
}

extension ProbeEngine {
    /// Enumerates the parallel paths to `target` (MDA-lite: Paris traces of flows that differ in
    /// their destination port, one flow after another, until every hop has been reached by
    /// `MDAStoppingRule.flowsNeeded` flows for the addresses it showed, or `maxFlows`), then
    /// sends `probesPerPath` probes to the target along each path (one of its flows) for its
    /// loss and RTT. Probes are TCP SYNs: the target's RST or SYN-ACK is not rate limited like
    /// ICMP errors, so a path's loss is measured, not the target's limit.
    ///
    /// A hop a flow got no answer from is unknown for that flow (a router's ICMP limit), never loss.
    /// - Throws: `ProbeError` for bad options, an unresolvable target, no raw sockets, or `.cancelled`.
    public func ecmp(_ target: String, options: ECMPOptions = ECMPOptions()) async throws(ProbeError) -> ECMPResult {
        try options.validate()
        let started = ContinuousClock.now
        let address = try await TargetResolver.resolve(target, preference: options.family)
        let family: FamilyPreference = address.family == .ipv4 ? .ipv4 : .ipv6
        var flows: [(port: UInt16, trace: TraceResult)] = []
        var complete = false
        var next = ContinuousClock.now
        for index in 0..<options.maxFlows {
            if index > 0 {
                do { try await Task.sleep(until: next, clock: .continuous) } catch { throw .cancelled }
            }
            next = ContinuousClock.now.advanced(by: options.flowInterval)
            let port = options.basePort + UInt16(index)
            let trace = try await traceroute(address.description, options: TraceOptions(
                method: .tcp(port: port), maxHops: options.maxHops, rounds: 1, timeout: options.timeout, paris: true, family: family))
            flows.append((port, trace))
            if flows.count >= options.minFlows && Self.enumerated(flows.map { $0.trace }) {
                complete = true
                break
            }
        }
        var paths = Self.paths(flows)
        // Each path's loss and RTT: probes at the target's distance on one of its flows, all
        // paths at once (the target's answers are not rate limited; routers see none of them).
        let slowest = flows.flatMap { $0.trace.hops.compactMap(\.worstMilliseconds) }.max() ?? 0
        let wait = Duration.milliseconds(Int64(min(1000, max(200, slowest * 4))))
        let measured = await withTaskGroup(of: (Int, TraceHop?).self) { group in
            for (index, path) in paths.enumerated() {
                guard let port = path.flows.first, let distance = path.hops.last(where: { $0.answered > 0 && $0.address == address })?.ttl else { continue }
                let options = TraceOptions(method: .tcp(port: port), firstHop: distance, maxHops: distance, rounds: options.probesPerPath,
                                           timeout: wait, roundInterval: options.probeInterval, paris: true, family: family,
                                           silentHopWait: .fullTimeout)
                group.addTask {
                    let trace = try? await self.traceroute(address.description, options: options)
                    return (index, trace?.hops.last)
                }
            }
            var results: [Int: TraceHop] = [:]
            for await (index, hop) in group { if let hop { results[index] = hop } }
            return results
        }
        if Task.isCancelled { throw .cancelled }
        for (index, hop) in measured {
            paths[index].sent = hop.sent
            paths[index].received = hop.received
            paths[index].minMilliseconds = hop.bestMilliseconds
            paths[index].avgMilliseconds = hop.avgMilliseconds
            paths[index].maxMilliseconds = hop.worstMilliseconds
        }
        return ECMPResult(target: target, address: address, method: "tcp", flowsProbed: flows.count, complete: complete,
                          branching: Self.branching(flows.map { $0.trace }), paths: paths,
                          durationMilliseconds: (ContinuousClock.now - started).inMilliseconds)
    }

    /// The address a flow's trace got at each TTL (its first, for a flow that saw two), the
    /// target's answers left out: the target ends every path, wherever a lost probe made it
    /// answer a farther TTL, and is no next hop to enumerate.
    static func answers(_ trace: TraceResult) -> [Int: IPAddress] {
        var out: [Int: IPAddress] = [:]
        for hop in trace.hops {
            if let first = hop.addresses.first, first.address != trace.address { out[hop.ttl] = first.address }
        }
        return out
    }

    /// Distinct addresses at each TTL where the flows saw more than one.
    static func branching(_ traces: [TraceResult]) -> [Int: Int] {
        var seen: [Int: Set<IPAddress>] = [:]
        for trace in traces { for (ttl, address) in answers(trace) { seen[ttl, default: []].insert(address) } }
        return seen.filter { $0.value.count > 1 }.mapValues(\.count)
    }

    /// The MDA stopping rule over every TTL the flows reached: each TTL answered by at least
    /// n(k) flows for the k addresses it showed. A TTL past the target (which only the target
    /// answers) counts like any other.
    static func enumerated(_ traces: [TraceResult]) -> Bool {
        var seen: [Int: Set<IPAddress>] = [:]
        var answered: [Int: Int] = [:]
        for trace in traces {
            for (ttl, address) in answers(trace) {
                seen[ttl, default: []].insert(address)
                answered[ttl, default: 0] += 1
            }
        }
        guard !seen.isEmpty else { return false }
        return seen.allSatisfy { ttl, addresses in MDAStoppingRule.isComplete(seen: addresses.count, answered: answered[ttl] ?? 0) }
    }

    /// The flows grouped into paths by their addresses at the branching TTLs. A flow with no
    /// answer at a branching TTL joins the one path its other answers fit, or none.
    static func paths(_ flows: [(port: UInt16, trace: TraceResult)]) -> [ECMPResult.Path] {
        let branchTTLs = branching(flows.map { $0.trace }).keys.sorted()
        var groups: [(key: [IPAddress], flows: [(port: UInt16, trace: TraceResult)])] = []
        var partial: [(port: UInt16, trace: TraceResult)] = []
        for flow in flows {
            let got = answers(flow.trace)
            let key = branchTTLs.compactMap { got[$0] }
            guard key.count == branchTTLs.count else { partial.append(flow); continue }
            if let index = groups.firstIndex(where: { $0.key == key }) { groups[index].flows.append(flow) } else { groups.append((key, [flow])) }
        }
        for flow in partial {
            let got = answers(flow.trace)
            let fits = groups.indices.filter { index in
                zip(branchTTLs, groups[index].key).allSatisfy { ttl, address in got[ttl].map { $0 == address } ?? true }
            }
            if fits.count == 1 { groups[fits[0]].flows.append(flow) }
        }
        return groups.map { group in
            // Up to the nearest TTL the target answered at (a flow whose probe there was lost
            // got its answer a TTL farther).
            let reached = group.flows.compactMap { flow in flow.trace.hops.first { hop in hop.addresses.contains { $0.address == flow.trace.address } }?.ttl }
            let maxTTL = reached.min() ?? group.flows.flatMap { $0.trace.hops.map(\.ttl) }.max() ?? 0
            let hops: [ECMPResult.Hop] = maxTTL < 1 ? [] : (1...maxTTL).compactMap { ttl in
                let probes = group.flows.compactMap { flow in flow.trace.hops.first { $0.ttl == ttl } }
                guard !probes.isEmpty else { return nil }
                let answered = probes.filter { $0.received > 0 }
                var counts: [IPAddress: Int] = [:]
                for hop in answered { if let first = hop.addresses.first { counts[first.address, default: 0] += 1 } }
                let address = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key.description > $1.key.description) }?.key
                let rtts = answered.compactMap(\.avgMilliseconds)
                return ECMPResult.Hop(ttl: ttl, address: address, probed: probes.count, answered: answered.count,
                                      avgMilliseconds: rtts.isEmpty ? nil : rtts.reduce(0, +) / Double(rtts.count))
            }
            return ECMPResult.Path(hops: hops, flows: group.flows.map { $0.port })
        }
    }
}
