import Foundation
import ISPChecker
import Testing

/// Ping through real namespaces, routers and the delay relay. Needs root; serialized so that
/// timing is not disturbed by the other lab tests.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct PingLabTests {
    func engine(in lab: Lab, capture: EngineConfiguration.Capture = .automatic) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capture: capture, capabilities: .keep))
    }

    @Test func rttThroughTwentyMillisecondRelayIsFortyMilliseconds() async throws {
        let lab = try Lab.up("rtt")
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab)
        #expect(engine.status.captureDevice == "any")

        let result = try await engine.ping(lab.destination4, count: 30, interval: .milliseconds(50), timeout: .seconds(1))
        #expect(result.received == 30)
        #expect(result.clockSource == .pcap)
        for probe in result.probes {
            let rtt = try #require(probe.rttMilliseconds)
            #expect(abs(rtt - 40) <= 1, "probe \(probe.index): \(rtt) ms")
        }
        #expect(abs((result.avgMilliseconds ?? 0) - 40) <= 1)
    }

    @Test func injectedLossIsMeasuredWithinStatisticalBounds() async throws {
        let lab = try Lab.up("loss")
        defer { lab.down() }
        // 20 % of the requests are dropped on their way out; replies pass.
        try lab.configure("loss", ["--node", "r1", "--percent", "20", "--dir", "forward"])
        let engine = try engine(in: lab)
        let probes = 400
        let result = try await engine.ping(lab.destination4, count: probes, interval: .milliseconds(3), timeout: .milliseconds(500))
        // Binomial(400, 0.2): σ = 2 percentage points; ±4σ keeps a false alarm below 1 in 10,000.
        #expect(result.lossPercent >= 12 && result.lossPercent <= 28, "loss \(result.lossPercent) %")
        #expect(result.sent == probes)
        #expect(result.received + result.probes.filter { $0.status == .timedOut }.count == probes)
    }

    @Test func ipv6PingWorks() async throws {
        let lab = try Lab.up("v6")
        defer { lab.down() }
        let engine = try engine(in: lab)
        let result = try await engine.ping(lab.destination6, count: 5, interval: .milliseconds(20), timeout: .seconds(1))
        #expect(result.family == .ipv6)
        #expect(result.received == 5)
        #expect(result.clockSource == .pcap)
        // Three routers between client and destination: hop limit 64 − 3.
        #expect(result.probes.allSatisfy { $0.replyTTL == 61 })
    }

    @Test func unreachableTargetGivesFullLossAndACleanResult() async throws {
        let lab = try Lab.up("unreach")
        defer { lab.down() }
        let engine = try engine(in: lab)
        // r1 holds an `unreachable` route for 10.66.0.0/16.
        let result = try await engine.ping("10.66.0.1", count: 3, interval: .milliseconds(50), timeout: .milliseconds(300))
        #expect(result.lossPercent == 100)
        #expect(result.received == 0)
        #expect(result.minMilliseconds == nil)
        #expect(engine.inFlightProbes == 0)
    }

    @Test func concurrentPingsAndAForeignFloodDoNotCrossReplies() async throws {
        let lab = try Lab.up("cross")
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab)

        // Another process floods the same destination with its own echo requests.
        let flood = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "ping", "-f", "-w", "6", lab.destination4])
        defer { flood.terminate(); flood.wait() }

        async let far = engine.ping(lab.destination4, count: 40, interval: .milliseconds(20), timeout: .seconds(1))
        async let near = engine.ping(lab.router4(1), count: 40, interval: .milliseconds(20), timeout: .seconds(1))
        async let farV6 = engine.ping(lab.destination6, count: 40, interval: .milliseconds(20), timeout: .seconds(1))
        let (farResult, nearResult, farV6Result) = try await (far, near, farV6)
        #expect(flood.isRunning, "the flood must overlap our pings")

        for result in [farResult, farV6Result] {
            #expect(result.received == 40)
            for probe in result.probes {
                let rtt = try #require(probe.rttMilliseconds)
                #expect(abs(rtt - 40) <= 1, "\(result.target) probe \(probe.index): \(rtt) ms")
            }
        }
        #expect(nearResult.received == 40)
        #expect(nearResult.probes.allSatisfy { ($0.rttMilliseconds ?? 99) < 5 })
        // Replies to the flood never count as ours: each result has exactly its own probes.
        #expect(Set(farResult.probes.map(\.sequence)).count == 40)
        #expect(engine.inFlightProbes == 0)
    }

    @Test func cancellationStopsAPingPromptlyAndFreesItsState() async throws {
        let lab = try Lab.up("cancel")
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab)
        let destination = lab.destination4
        let task = Task { try await engine.ping(destination, count: 1000, interval: .milliseconds(10), timeout: .seconds(5)) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(engine.inFlightProbes > 0)
        let cancelledAt = ContinuousClock.now
        task.cancel()
        await #expect(throws: ProbeError.cancelled) { _ = try await task.value }
        #expect(ContinuousClock.now - cancelledAt < .milliseconds(100))
        #expect(engine.inFlightProbes == 0)
    }

    @Test func socketTimestampsAreTheFallbackWithoutCapture() async throws {
        let lab = try Lab.up("nocap")
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab, capture: .disabled)
        #expect(engine.status.captureDevice == nil)
        let result = try await engine.ping(lab.destination4, count: 5, interval: .milliseconds(50), timeout: .seconds(1))
        #expect(result.received == 5)
        #expect(result.clockSource == .kernelReceive)
        #expect(abs((result.avgMilliseconds ?? 0) - 40) <= 1)
    }
}
