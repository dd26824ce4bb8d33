import Foundation
import ISPChecker
import TestSupport
import Testing

/// Traceroute through a real four-router chain (and an ECMP variant), every method, both
/// families. Needs root; serialized so the timing checks are not disturbed.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct TraceLabTests {
    static let routers = 4

    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    static let methods: [TraceMethod] = [.udp, .icmp, .tcp(port: 80)]

    @Test(arguments: methods)
    func hopsAreTheRoutersInOrderAndTheDestinationIsDetected(_ method: TraceMethod) async throws {
        // idealised: exact per-hop counts and a < 200 ms duration need every ICMP error answered; RealisticTraceLabTests does this in the realistic lab.
        let lab = try Lab.up("trpath", routers: Self.routers, realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        for v6 in [false, true] {
            let expected = try lab.path(v6: v6)
            #expect(expected.count == Self.routers + 1)
            let result = try await engine.traceroute(v6 ? lab.destination6 : lab.destination4,
                                                     options: TraceOptions(method: method, timeout: .seconds(1)))
            #expect(result.stop == .destinationReached, "\(method) v6=\(v6): \(result.stop)")
            #expect(result.hops.map { $0.addresses.first?.address.description ?? "*" } == expected, "\(method) v6=\(v6)")
            #expect(result.hops.allSatisfy { $0.addresses.count == 1 && $0.received == 1 && $0.sent == 1 })
            #expect(result.hops.last?.isDestination == true)
            #expect(result.hops.dropLast().allSatisfy { !$0.isDestination })
            #expect(result.hops.allSatisfy { $0.clock == .pcap }, "\(method) v6=\(v6): \(result.hops.map(\.clock))")
            // All TTLs in flight at once: the whole trace takes about one path RTT, far below a timeout.
            #expect(result.durationMilliseconds < 200, "\(method) v6=\(v6): \(result.durationMilliseconds) ms")
        }
        #expect(engine.inFlightProbes == 0)
    }

    @Test func aSilentRouterIsASilentHopAndTheTraceGoesOnPastIt() async throws {
        // idealised: the silent hop must be the only missing answer.
        let lab = try Lab.up("trsilent", routers: Self.routers, realistic: false)
        defer { lab.down() }
        try lab.configure("silent", ["--node", "r2"])
        let engine = try engine(in: lab)
        for v6 in [false, true] {
            for wait in [SilentHopWait.default, .fullTimeout] {
                let result = try await engine.traceroute(v6 ? lab.destination6 : lab.destination4,
                                                         options: TraceOptions(method: .udp, timeout: .milliseconds(500), silentHopWait: wait))
                #expect(result.stop == .destinationReached)
                #expect(result.hops.count == Self.routers + 1)
                #expect(result.hops[1].isSilent, "hop 2: \(result.hops[1])")
                #expect(result.hops[1].lossPercent == 100)
                for index in [0, 2, 3, 4] { #expect(result.hops[index].received == 1, "hop \(index + 1)") }
                if wait == .fullTimeout {
                    // The silent hop costs one timeout, not one per hop.
                    #expect(result.durationMilliseconds >= 500 && result.durationMilliseconds < 800, "\(result.durationMilliseconds) ms")
                } else {
                    // Farther hops answered within a millisecond: hop 2 is given up after the
                    // 100 ms minimum instead of the 500 ms timeout.
                    #expect(result.durationMilliseconds >= 100 && result.durationMilliseconds < 300, "\(result.durationMilliseconds) ms")
                }
            }
        }
    }

    @Test func anUnreachableNetworkStopsWithTheRightCode() async throws {
        // idealised: each unreachable code is asserted from a single trace, which the kernel's limit could leave unanswered.
        let lab = try Lab.up("trunreach", routers: Self.routers, realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        let options = TraceOptions(method: .udp, timeout: .milliseconds(500))

        // r1 has no way to 10.66.0.0/16: network unreachable (code 0) from r1, at hop 1.
        let net = try await engine.traceroute("10.66.0.1", options: options)
        #expect(net.stop == .unreachable(UnreachableCode(family: .ipv4, code: 0)))
        #expect(net.hops.count == 1)
        #expect(net.hops[0].addresses.first?.address == IPAddress(lab.router4(1)))
        #expect(net.hops[0].unreachable.map(\.description) == ["!N"])

        // 10.65.0.0/16: host unreachable (code 1) from r1.
        let host = try await engine.traceroute("10.65.0.1", options: options)
        #expect(host.stop == .unreachable(UnreachableCode(family: .ipv4, code: 1)))

        // The last router prohibits 10.67.0.0/16: administratively prohibited (code 13) at hop 4.
        let prohibited = try await engine.traceroute("10.67.0.1", options: options)
        #expect(prohibited.stop == .unreachable(UnreachableCode(family: .ipv4, code: 13)))
        #expect(prohibited.hops.count == Self.routers)
        #expect(prohibited.hops.last?.unreachable.map(\.description) == ["!X"])
        #expect(prohibited.hops.last?.addresses.first?.address == IPAddress(lab.router4(Self.routers)))

        // IPv6: no route (code 0) from r1; administratively prohibited (code 1) from the last router.
        let net6 = try await engine.traceroute("fd00:66::1", options: options)
        #expect(net6.stop == .unreachable(UnreachableCode(family: .ipv6, code: 0)))
        #expect(net6.hops.count == 1)
        let prohibited6 = try await engine.traceroute("fd00:67::1", options: options)
        #expect(prohibited6.stop == .unreachable(UnreachableCode(family: .ipv6, code: 1)))
        #expect(prohibited6.hops.count == Self.routers)
    }

    @Test func lossOnOneLinkShowsFromThatHopToTheDestination() async throws {
        // idealised: 60 back-to-back rounds; per-hop loss must come from the injected loss alone.
        let lab = try Lab.up("trloss", routers: Self.routers, realistic: false)
        defer { lab.down() }
        // r2 drops 30 % of what it forwards toward the destination: probes for TTL ≥ 3.
        try lab.configure("loss", ["--node", "r2", "--percent", "30", "--dir", "forward"])
        let engine = try engine(in: lab)
        let rounds = 60
        let result = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .udp, rounds: rounds, timeout: .milliseconds(150), roundInterval: .zero))
        #expect(result.stop == .destinationReached)
        #expect(result.hops.count == Self.routers + 1)
        #expect(result.hops.allSatisfy { $0.sent == rounds })
        #expect(result.hops[0].lossPercent == 0)
        #expect(result.hops[1].lossPercent == 0)
        // Binomial(60, 0.3): σ ≈ 5.9 points; ±4σ.
        for hop in result.hops[2...] {
            #expect(hop.lossPercent >= 6 && hop.lossPercent <= 54, "hop \(hop.ttl): \(hop.lossPercent) %")
        }
    }

    @Test func rateLimitingOnOneRouterShowsAsLossAtThatHopOnly() async throws {
        // idealised: the nft limit on r2 must be the only rate limit, so loss shows at hop 2 only.
        let lab = try Lab.up("trlimit", routers: Self.routers, realistic: false)
        defer { lab.down() }
        // r2 sends at most one ICMP error per second: its own hop loses answers, later hops do not.
        try lab.configure("ratelimit", ["--node", "r2", "--rate", "1/second", "--burst", "1"])
        let engine = try engine(in: lab)
        let result = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .udp, rounds: 20, timeout: .milliseconds(150), roundInterval: .zero))
        #expect(result.stop == .destinationReached)
        #expect(result.hops[1].lossPercent >= 50, "hop 2: \(result.hops[1].lossPercent) %")
        #expect(result.hops[1].received >= 1)
        for index in [0, 2, 3, 4] {
            #expect(result.hops[index].lossPercent == 0, "hop \(index + 1): \(result.hops[index].lossPercent) %")
        }
    }

    @Test func theDefaultRoundIntervalStaysWithinLinuxDefaultICMPRateLimits() async throws {
        // idealised: nft reproduces the Linux default limits on exactly r2 and d, so the test controls them.
        let lab = try Lab.up("trpace", routers: Self.routers, realistic: false)
        defer { lab.down() }
        // What a Linux router does by default (icmp_ratelimit 1000 ms, burst 6), on r2 and on
        // the destination, which also answers the probes sent past it in the first round.
        try lab.configure("ratelimit", ["--node", "r2", "--rate", "1/second", "--burst", "6"])
        try lab.configure("ratelimit", ["--node", "d", "--rate", "1/second", "--burst", "6"])
        let engine = try engine(in: lab)
        let result = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .udp, rounds: 4, timeout: .milliseconds(500)))
        #expect(result.stop == .destinationReached)
        // mtr's pace (one round a second) shows no loss that only the rate limit would cause.
        for hop in result.hops { #expect(hop.lossPercent == 0, "hop \(hop.ttl): \(hop.lossPercent) %") }
    }

    @Test func parisKeepsOneConsistentPathAcrossEqualCostLinks() async throws {
        // idealised: 24 back-to-back rounds must each get every hop's answer.
        let lab = try Lab.up("trecmp", routers: 3, extra: ["--ecmp"], realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        let expectedHop2 = Set(try lab.path(v6: false)[1].split(separator: " ").map(String.init))
        #expect(expectedHop2.count == 2)

        let paris = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .udp, rounds: 24, timeout: .milliseconds(500), roundInterval: .zero))
        #expect(paris.stop == .destinationReached)
        #expect(paris.hops.allSatisfy { $0.addresses.count == 1 }, "\(paris.hops.map { $0.addresses.map(\.address.description) })")
        #expect(paris.hops[1].addresses.first.map { expectedHop2.contains($0.address.description) } == true)

        // Classic mode walks the destination port, so the load balancer spreads the probes.
        let classic = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .udp, rounds: 24, timeout: .milliseconds(500), roundInterval: .zero, paris: false))
        #expect(Set(classic.hops[1].addresses.map(\.address.description)) == expectedHop2)
    }

    @Test func hopRoundTripTimesComeFromTheKernelClock() async throws {
        // idealised: 5 back-to-back ICMP rounds must each get every hop's answer.
        let lab = try Lab.up("trrtt", routers: Self.routers, realistic: false)
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab)
        let result = try await engine.traceroute(lab.destination4, options: TraceOptions(method: .icmp, rounds: 5, timeout: .seconds(1), roundInterval: .zero))
        #expect(result.stop == .destinationReached)
        for hop in result.hops {
            #expect(hop.clock == .pcap)
            let avg = try #require(hop.avgMilliseconds)
            if hop.ttl <= 1 {
                #expect(avg < 5, "hop \(hop.ttl): \(avg) ms")
            } else {
                // At least the relay's 40 ms; a little more when the busy relay holds a frame longer.
                #expect(avg >= 40 && avg <= 41.5, "hop \(hop.ttl): \(avg) ms")
            }
        }
        // About one path RTT per round.
        #expect(result.durationMilliseconds < 5 * 80, "\(result.durationMilliseconds) ms")
    }

    @Test func theUpdateStreamEndsWithTheSameResult() async throws {
        // idealised: exact update counts (3 rounds x every hop answered).
        let lab = try Lab.up("trstream", routers: Self.routers, realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        var hopUpdates = 0
        var rounds: [Int] = []
        var final: TraceResult?
        for try await update in engine.traceUpdates(lab.destination6, options: TraceOptions(method: .icmp, rounds: 3, roundInterval: .zero)) {
            switch update {
            case .hop(let hop, _): hopUpdates += 1; #expect(hop.ttl >= 1 && hop.ttl <= Self.routers + 1)
            case .roundFinished(let round, let hops): rounds.append(round); #expect(hops.count == Self.routers + 1)
            case .finished(let result): final = result
            }
        }
        #expect(rounds == [1, 2, 3])
        #expect(hopUpdates == 3 * (Self.routers + 1))
        let result = try #require(final)
        #expect(result.hops.allSatisfy { $0.sent == 3 && $0.received == 3 })
        #expect(engine.inFlightProbes == 0)
    }

    @Test func cancellingATraceStopsItAndFreesItsProbes() async throws {
        // idealised: about cancellation, not the network.
        let lab = try Lab.up("trcancel", routers: Self.routers, realistic: false)
        defer { lab.down() }
        try lab.configure("silent", ["--node", "r3"])
        let engine = try engine(in: lab)
        let destination = lab.destination4
        let task = Task { try await engine.traceroute(destination, options: TraceOptions(rounds: 100, timeout: .seconds(2), roundInterval: .zero)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(engine.inFlightProbes > 0)
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: ProbeError.cancelled) { _ = try await task.value }
        #expect(ContinuousClock.now - cancelledAt < .milliseconds(100))
        #expect(engine.inFlightProbes == 0)
    }

    @Test func badTraceOptionsAreTypedErrors() async throws {
        // idealised: typed option errors only, no packet matters.
        let lab = try Lab.up("tropts", routers: 1, realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        for options in [TraceOptions(maxHops: 0), TraceOptions(firstHop: 5, maxHops: 3), TraceOptions(rounds: 0),
                        TraceOptions(timeout: .zero), TraceOptions(method: .tcp(port: 0)), TraceOptions(probesPerSecond: 0)] {
            await #expect(throws: ProbeError.self) { _ = try await engine.traceroute(lab.destination4, options: options) }
        }
        await #expect(throws: ProbeError.emptyTarget) { _ = try await engine.traceroute("") }
    }
}

extension TraceMethod: CustomTestStringConvertible {
    public var testDescription: String { description }
}
