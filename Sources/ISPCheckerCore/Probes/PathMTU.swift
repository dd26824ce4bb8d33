import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

/// How a path MTU probe runs (`ProbeEngine.pathMTU`).
public struct PathMTUOptions: Sendable {
    /// How long each echo request waits for its reply. Every round of sizes that loses one
    /// waits this long, so a black hole costs about four of them.
    public var timeout: Duration
    /// Echo requests per size, sent at once: a size counts as crossing when one is answered,
    /// so one lost packet does not lower the path MTU.
    public var attempts: Int
    public var family: FamilyPreference

    public init(timeout: Duration = .seconds(1), attempts: Int = 2, family: FamilyPreference = .any) {
        self.timeout = timeout
        self.attempts = attempts
        self.family = family
    }

    public static let `default` = PathMTUOptions()

    func validate() throws(ProbeError) {
        guard timeout > .zero, timeout <= .seconds(60) else {
            throw .invalidArgument(name: "timeout", reason: "must be positive and at most 60 seconds, got \(timeout)")
        }
        guard (1...10).contains(attempts) else {
            throw .invalidArgument(name: "attempts", reason: "must be 1 … 10, got \(attempts)")
        }
    }
}

extension ProbeEngine {
    /// Finds the largest packet that crosses the path to `target`, tracepath- and scamper-style:
    /// ICMP echo requests that may not be fragmented (Linux sets DF on them; IPv6 routers never
    /// fragment), first at the sizes links commonly have (1500, 1492 PPPoE, 1480, 1460, 1420,
    /// 1400, 1380, 1280, 1024, 576), then halving the gap between the largest that crossed and
    /// the smallest that did not. Each round sends its sizes at once and waits at most one
    /// `timeout`. When a size is lost and the kernel learnt nothing from a "fragmentation
    /// needed" / "packet too big" meanwhile, the path is a black hole: each hop of `hops` (a
    /// trace's, TTL and address) is then pinged at that size and at the smallest size to tell
    /// where large packets die. Echo replies are not held back by the ICMP error limits routers
    /// keep, so the answer does not depend on them.
    ///
    /// Costs one round trip on a path that carries 1500-byte packets, and about four timeouts
    /// on one that does not (`docs/runbook.md`).
    /// - Throws: `ProbeError` for bad options or targets, a family without an ICMP socket, or
    ///   `.cancelled`.
    public func pathMTU(_ target: String, hops: [PathMTUResult.Hop] = [], options: PathMTUOptions = .default) async throws(ProbeError) -> PathMTUResult {
        try options.validate()
        if core.isShutDown { throw .engineShutDown }
        let started = ContinuousClock.now
        let address = try await TargetResolver.resolve(target, preference: options.family)
        let socket = try socket(for: address.family)
        let headers = address.family == .ipv4 ? 28 : 48
        let floor = address.family == .ipv4 ? 576 : 1280 // RFC 791 / RFC 8200 §5: every link carries these
        let ceiling = min(1500, headers + Int(CP_ECHO_MAX_PAYLOAD))
        let before = await kernelPathMTU(address)
        let localMTU = min(ceiling, max(floor, before ?? ceiling))
        let core = self.core

        /// Which of `sizes` get an answer from `destination`, all sent at once.
        @Sendable func crossing(_ sizes: [Int], to destination: IPAddress) async -> [Int: Bool] {
            await withTaskGroup(of: (Int, Bool).self) { group in
                for size in sizes {
                    for _ in 0..<options.attempts {
                        group.addTask {
                            let outcome = await core.echo(to: destination, socket: socket, timeout: options.timeout, payloadSize: size - headers)
                            return (size, outcome.status == .received)
                        }
                    }
                }
                var crossed: [Int: Bool] = [:]
                for await (size, answered) in group { crossed[size] = (crossed[size] ?? false) || answered }
                return crossed
            }
        }

        var probes: [PathMTUResult.SizeProbe] = []
        var largest: Int?
        var smallestLost: Int?
        func record(_ results: [Int: Bool]) {
            for size in results.keys.sorted(by: >) {
                let crossed = results[size] ?? false
                probes.append(.init(bytes: size, crossed: crossed))
                if crossed { largest = max(largest ?? size, size) }
            }
            // The smallest lost size above the largest that crossed (a lost smaller one was bad luck).
            smallestLost = probes.filter { !$0.crossed && $0.bytes > (largest ?? 0) }.map(\.bytes).min()
        }
        let common = [1500, 1492, 1480, 1460, 1420, 1400, 1380, 1280, 1024, 576]
        record(await crossing(Array(Set([localMTU] + common.filter { $0 < localMTU && $0 >= floor })), to: address))
        // Halve the gap with up to 7 sizes a round: from 120 bytes apart to 1 in three rounds.
        while let lost = smallestLost, let crossed = largest, lost - crossed > 1 {
            if Task.isCancelled { throw .cancelled }
            let step = max(1, (lost - crossed) / 8)
            let sizes = Array(stride(from: crossed + step, to: lost, by: step).prefix(7))
            guard !sizes.isEmpty else { break }
            record(await crossing(sizes, to: address))
        }
        if Task.isCancelled { throw .cancelled }

        let after = await kernelPathMTU(address)
        let reported = after.flatMap { learnt in learnt < (before ?? Int.max) ? learnt : nil }
        var lastReached: PathMTUResult.Hop?
        var firstLost: PathMTUResult.Hop?
        if let lost = smallestLost, reported == nil, largest != nil {
            // The destination's own hop too: a black hole on the last link leaves it the first lost.
            (lastReached, firstLost) = await Self.locate(lost: lost, small: floor, hops: hops, crossing: crossing)
        }
        if Task.isCancelled { throw .cancelled }
        // A router that said "too big" taught the kernel the path MTU; larger sizes then crossed
        // only because the kernel fragmented them itself.
        let pathMTU = reported.map { min($0, largest ?? $0) } ?? largest
        return PathMTUResult(target: target, address: address, pathMTU: pathMTU, localMTU: localMTU,
                             smallestLostSize: smallestLost, reportedMTU: reported, lastHopReached: lastReached,
                             firstHopLost: firstLost, probes: probes,
                             durationMilliseconds: (ContinuousClock.now - started).inMilliseconds)
    }

    /// Pings every hop at the lost size and at the smallest: the farthest hop that answers large
    /// pings, and the nearest one past it that answers only small ones (a hop that answers no
    /// ping at all says nothing).
    private static func locate(lost: Int, small: Int, hops: [PathMTUResult.Hop],
                               crossing: @escaping @Sendable ([Int], IPAddress) async -> [Int: Bool]) async -> (PathMTUResult.Hop?, PathMTUResult.Hop?) {
        let answers = await withTaskGroup(of: (PathMTUResult.Hop, [Int: Bool]).self) { group in
            for hop in hops {
                group.addTask { (hop, await crossing([small, lost], hop.address)) }
            }
            var all: [(PathMTUResult.Hop, [Int: Bool])] = []
            for await answer in group { all.append(answer) }
            return all.sorted { $0.0.ttl < $1.0.ttl }
        }
        let firstLost = answers.first { $0.1[small] == true && $0.1[lost] != true }?.0
        let lastReached = answers.last { $0.1[lost] == true && $0.0.ttl < (firstLost?.ttl ?? Int.max) }?.0
        return (lastReached, firstLost)
    }

    /// The path MTU the kernel knows for `address` (`cp_route_mtu`), nil when it cannot say.
    /// Asked on the engine's thread: the engine's network namespace is that thread's.
    func kernelPathMTU(_ address: IPAddress) async -> Int? {
        await core.onEngineThread { () -> Int? in
            var raw = address.raw
            var mtu: UInt32 = 0
            return cp_route_mtu(&raw, &mtu) == 0 ? Int(mtu) : nil
        } ?? nil
    }
}
