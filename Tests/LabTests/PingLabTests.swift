import Foundation
import ISPChecker
import TestSupport
import Testing

/// Ping through real namespaces, routers and the delay relay. Needs root; serialized so that
/// timing is not disturbed by the other lab tests.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct PingLabTests {
    func engine(in lab: Lab, capture: EngineConfiguration.Capture = .automatic) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capture: capture, capabilities: .keep))
    }

    /// Runs tcpdump on the client's interface and returns, once stopped, the on-wire RTT of
    /// every echo exchange with `destination` by sequence number: the truth our RTTs are held to.
    final class WireCapture {
        let process: Subprocess

        init(lab: Lab, destination: String) async throws {
            process = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "tcpdump", "-i", "right", "-nn", "-tt", "-l", "--immediate-mode",
                                                      "--time-stamp-precision=nano", "icmp and host \(destination)"])
            for _ in 0..<200 where !process.stderr.contains("listening on") {
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        func stop() async throws -> [UInt16: Double] {
            // Let tcpdump print the last reply before it is stopped.
            try await Task.sleep(for: .milliseconds(300))
            process.terminate()
            process.wait()
            var requests: [UInt16: Double] = [:]
            var rtts: [UInt16: Double] = [:]
            for line in process.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard let time = fields.first.flatMap({ Double($0) }),
                      let seqIndex = fields.firstIndex(where: { $0 == "seq" }), seqIndex + 1 < fields.count,
                      let sequence = UInt16(fields[seqIndex + 1].trimmingCharacters(in: CharacterSet(charactersIn: ",")))
                else { continue }
                if line.contains("echo request") { requests[sequence] = time }
                if line.contains("echo reply"), let sent = requests[sequence] { rtts[sequence] = (time - sent) * 1000 }
            }
            return rtts
        }
    }

    @Test func rttThroughTwentyMillisecondRelayIsFortyMilliseconds() async throws {
        // idealised: RTTs through the relay measured to 0.1 ms; echo is not rate limited in either mode.
        let lab = try Lab.up("rtt", realistic: false)
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab)
        #expect(engine.status.captureDevice == "any")

        let wire = try await WireCapture(lab: lab, destination: lab.destination4)
        let result = try await engine.ping(lab.destination4, count: 30, interval: .milliseconds(50), timeout: .seconds(1))
        let truth = try await wire.stop()
        #expect(result.received == 30)
        #expect(result.clockSource == .pcap)
        let rtts = result.probes.compactMap(\.rttMilliseconds).sorted()
        let median = rtts[rtts.count / 2]
        // The relay holds every frame at least 20 ms; being a userspace process, it may hold one
        // a little longer when the machine is busy. The median is the path's RTT.
        #expect(median >= 40 && median <= 41, "median \(median) ms")
        #expect(rtts.allSatisfy { $0 >= 40 && $0 <= 45 }, "\(rtts)")
        // What the wire saw is the real check of our clock: within 20 µs for every probe.
        #expect(truth.count >= 30)
        for probe in result.probes {
            let rtt = try #require(probe.rttMilliseconds)
            let onWire = try #require(truth[probe.sequence], "seq \(probe.sequence) not on the wire")
            #expect(abs(rtt - onWire) <= 0.020, "seq \(probe.sequence): ours \(rtt) ms, wire \(onWire) ms")
        }
    }

    @Test func aPacedSweepsSocketClockMatchesTheWire() async throws {
        // idealised: RTTs measured to 20 µs; echo is not rate limited in either mode.
        let lab = try Lab.up("swrtt", realistic: false)
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        // No capture: the sweep's clock is the sockets' (the driver's send timestamp, the
        // kernel's receive timestamp). While a paced sweep is the engine's only work, the loop
        // reads answers only when it wakes to send the next probe, up to one interval (here
        // 1 ms) after they came in: the RTTs must not move by that.
        let engine = try engine(in: lab, capture: .disabled)
        let wire = try await WireCapture(lab: lab, destination: lab.destination4)
        var results: [SweepResult] = []
        for try await result in try engine.sweep([lab.destination4], options: SweepOptions(probesPerTarget: 40, packetsPerSecond: 1_000, timeout: .seconds(1))) {
            results.append(result)
        }
        let truth = try await wire.stop()
        let result = try #require(results.first)
        #expect(results.count == 1 && result.received == 40, "\(results)")
        #expect(result.clockSource == .kernelSocket)
        // Held to the wire as sorted lists (the sweep's sequence numbers may wrap): if every
        // probe is within 20 µs of its own exchange, the n-th smallest are too.
        let ours = result.rttNanoseconds.compactMap { $0.map { Double($0) / 1_000_000 } }.sorted()
        let onWire = truth.values.sorted()
        try #require(ours.count == 40 && onWire.count == 40, "ours \(ours), wire \(truth)")
        for (rtt, wireRTT) in zip(ours, onWire) {
            #expect(rtt >= 40 && abs(rtt - wireRTT) <= 0.020, "ours \(rtt) ms, wire \(wireRTT) ms (all ours: \(ours))")
        }
    }

    @Test func injectedLossIsMeasuredWithinStatisticalBounds() async throws {
        // idealised: loss within binomial bounds must come from the injected loss alone.
        let lab = try Lab.up("loss", realistic: false)
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
        // idealised: echo only, not rate limited in either mode; the realistic lab's ping is covered by the CLI and diagnosis tests.
        let lab = try Lab.up("v6", realistic: false)
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
        // idealised: 100 % loss holds in either mode (the gateway's unreachables are not replies); kept as it was.
        let lab = try Lab.up("unreach", realistic: false)
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
        // idealised: exact per-ping counts and RTTs under a flood of echo, which neither mode rate limits; kept as it was.
        let lab = try Lab.up("cross", realistic: false)
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
            // Every reply to the far target took the relayed path (at least 40 ms; the relay may
            // add a little under load); a reply crossed over from the near target would show as
            // well under 5 ms.
            for probe in result.probes {
                let rtt = try #require(probe.rttMilliseconds)
                #expect(rtt >= 40 && rtt < 60, "\(result.target) probe \(probe.index): \(rtt) ms")
            }
        }
        #expect(nearResult.received == 40)
        #expect(nearResult.probes.allSatisfy { ($0.rttMilliseconds ?? 99) < 5 })
        // Replies to the flood never count as ours: each result has exactly its own probes.
        #expect(Set(farResult.probes.map(\.sequence)).count == 40)
        #expect(engine.inFlightProbes == 0)
    }

    @Test func cancellationStopsAPingPromptlyAndFreesItsState() async throws {
        // idealised: about cancellation, not the network.
        let lab = try Lab.up("cancel", realistic: false)
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
        // idealised: compares socket timestamps to the relay's 40 ms; echo is not rate limited in either mode.
        let lab = try Lab.up("nocap", realistic: false)
        defer { lab.down() }
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "20"])
        let engine = try engine(in: lab, capture: .disabled)
        #expect(engine.status.captureDevice == nil)
        let result = try await engine.ping(lab.destination4, count: 5, interval: .milliseconds(50), timeout: .seconds(1))
        #expect(result.received == 5)
        #expect(result.clockSource == .kernelSocket)
        let average = result.avgMilliseconds ?? 0
        #expect(average >= 40 && average <= 41.5, "\(average) ms")
    }
}
