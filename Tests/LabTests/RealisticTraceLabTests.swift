import Foundation
import ISPChecker
import TestSupport
import Testing

/// Traces where users run them (issue 14): the realistic lab keeps the kernel's default ICMP
/// rate limits in every node (per destination: IPv4 1 error per 1000 ms after a burst of 6, IPv6
/// 1 per 100 ms; per namespace: 1000 a second, burst 50) and tx checksum/TSO/GSO offload on every
/// veth, as in every container and pod. Every trace here uses the library's defaults, as a user
/// would. Needs root; serialized so the timing checks are not disturbed.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct RealisticTraceLabTests {
    static let routers = 4

    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    func path(_ result: TraceResult) -> [String] {
        result.hops.map { $0.addresses.first?.address.description ?? "*" }
    }

    /// The destination, named and detected, with every hop before it named in order.
    func expectEveryHopNamed(_ result: TraceResult, _ expected: [String], _ context: String) {
        #expect(result.stop == .destinationReached, "\(context): \(result.stop), \(path(result)), \(result.durationMilliseconds) ms")
        #expect(path(result) == expected, "\(context): \(result.durationMilliseconds) ms")
        #expect(result.hops.last?.isDestination == true, "\(context)")
    }

    static let methods: [TraceMethod] = [.udp, .icmp, .tcp(port: 80)]

    /// With offload on, a UDP probe crosses the client's veth with a partial checksum, and the
    /// first router quotes that partial value in its time-exceeded (lab-facts, 2026-12-06).
    /// Nothing listens on the destination's port 80: its answer to TCP is a RST.
    @Test(arguments: methods)
    func oneTraceNamesEveryHopAndReachesTheDestination(_ method: TraceMethod) async throws {
        // realistic: what this suite is about.
        let lab = try Lab.up("rlpath", routers: Self.routers, realistic: true)
        defer { lab.down() }
        let engine = try engine(in: lab)
        for v6 in [false, true] {
            let expected = try lab.path(v6: v6)
            #expect(expected.count == Self.routers + 1)
            let result = try await engine.traceroute(v6 ? lab.destination6 : lab.destination4, options: TraceOptions(method: method))
            expectEveryHopNamed(result, expected, "\(method) v6=\(v6)")
        }
        #expect(engine.inFlightProbes == 0)
    }

    /// Ten default traces, started 0.5 s apart: the destination and every router must keep
    /// enough of their ICMP budget for each trace (a trace that sends ~27 probes to the
    /// destination drains its burst of 6 at once).
    @Test(arguments: [false, true])
    func tenTracesHalfASecondApartEachNameEveryHop(v6: Bool) async throws {
        // realistic: the kernel's default limits are what the traces must live with.
        let lab = try Lab.up("rlrepeat", routers: Self.routers, realistic: true)
        defer { lab.down() }
        let engine = try engine(in: lab)
        let expected = try lab.path(v6: v6)
        let target = v6 ? lab.destination6 : lab.destination4
        let start = ContinuousClock.now
        // Each trace starts at its own slot, whether or not the one before has ended.
        let results = try await withThrowingTaskGroup(of: (Int, TraceResult).self) { group in
            for index in 0..<10 {
                group.addTask {
                    try await Task.sleep(until: start + .milliseconds(500 * index), clock: .continuous)
                    return (index, try await engine.traceroute(target, options: .default))
                }
            }
            var results: [(Int, TraceResult)] = []
            for try await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        #expect(results.count == 10)
        for (index, result) in results.enumerated() {
            expectEveryHopNamed(result, expected, "trace \(index + 1) of 10, v6=\(v6)")
        }
        #expect(engine.inFlightProbes == 0)
    }

    /// A cold trace (nothing remembered about the destination) right after something else spent
    /// the destination's ICMP budget: its first round probes TTLs 1-5, the destination (hop 4)
    /// stays mute to 4 and 5, and the echo estimator says 4. The round asks TTL 4 once more after
    /// the timeout, when the budget has a token again, instead of growing to 6 and placing the
    /// destination two hops too far behind two silent hops (what Benchmarks/trace-speed's cold
    /// runs showed, 2026-12-07).
    @Test(arguments: [false, true])
    func aColdTraceAfterTheDestinationsBudgetIsSpentPlacesItAtItsHop(v6: Bool) async throws {
        // realistic: the destination's rate limit is the subject.
        let lab = try Lab.up("rlspent", routers: 3, realistic: true)
        defer { lab.down() }
        let expected = try lab.path(v6: v6)
        #expect(expected.count == 4)
        let target = v6 ? lab.destination6 : lab.destination4
        let spend = """
            import socket, sys
            family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
            s = socket.socket(family, socket.SOCK_DGRAM)
            for port in range(33434, 33454):
                s.sendto(b"x", (sys.argv[1], port))
            """
        for attempt in 1...3 {
            // 20 datagrams to closed ports: the destination answers its burst of 6, then one a
            // second (IPv6: one per 100 ms) to this client.
            _ = try lab.exec("c", ["python3", "-c", spend, target])
            let engine = try engine(in: lab)
            let result = try await engine.traceroute(target, options: .default)
            expectEveryHopNamed(result, expected, "attempt \(attempt), v6=\(v6)")
            #expect(engine.inFlightProbes == 0)
            try await Task.sleep(for: .seconds(2))
        }
    }

    /// The engine's goal: when every hop answers, one trace takes about one path RTT, not a
    /// timeout (≤ 1.5 × the median RTT of a ping over the same path).
    @Test func oneTraceOnA26MillisecondPathTakesAtMostOneAndAHalfRoundTrips() async throws {
        // realistic: the duration must hold under the kernel's limits and with offload on.
        let lab = try Lab.up("rlrtt", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // 13 ms each way on the link into r2: a 26 ms path from hop 2 on.
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "13"])
        let engine = try engine(in: lab)
        let ping = try await engine.ping(lab.destination4, count: 11, interval: .milliseconds(50), timeout: .seconds(1))
        let rtts = ping.probes.compactMap(\.rttMilliseconds).sorted()
        #expect(rtts.count == 11)
        let median = try #require(rtts.isEmpty ? nil : rtts[rtts.count / 2])
        #expect(median >= 26 && median < 28, "path RTT \(median) ms")

        let result = try await engine.traceroute(lab.destination4, options: .default)
        expectEveryHopNamed(result, try lab.path(v6: false), "26 ms path")
        #expect(result.durationMilliseconds <= 1.5 * median,
                "trace took \(result.durationMilliseconds) ms, path RTT \(median) ms (limit \(1.5 * median) ms)")
    }
}
