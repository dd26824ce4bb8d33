import ISPChecker
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The engine's whole path, sockets to results, over loopback (127.0.0.1, nothing leaves the
/// host): ping, traceroute and sweep running at once on one engine. scripts/test.sh runs this
/// suite under ThreadSanitizer with the rest of the unit tests, so the engine thread, the
/// receive loop and concurrent callers are checked for data races, not only the results.
@Suite(.serialized, .enabled(if: getuid() == 0, "raw sockets and capture need root"))
struct LoopbackEngineTests {
    @Test func pingTraceAndSweepShareOneEngineConcurrently() async throws {
        let engine = try ProbeEngine(configuration: EngineConfiguration(capabilities: .keep))
        defer { engine.shutdown() }
        async let ping = engine.ping("127.0.0.1", count: 20, interval: .milliseconds(5), timeout: .milliseconds(500))
        async let trace = engine.traceroute("127.0.0.1", options: TraceOptions(method: .udp, rounds: 2, timeout: .milliseconds(300), roundInterval: .milliseconds(50)))
        // 127.0.0.0/8 is all local: every address answers.
        let targets = (1...32).map { "127.0.0.\($0)" }
        var swept: [SweepResult] = []
        for try await result in try engine.sweep(targets, options: SweepOptions(probesPerTarget: 2, packetsPerSecond: 2000, timeout: .milliseconds(500))) {
            swept.append(result)
        }
        let (pinged, traced) = try await (ping, trace)
        #expect(pinged.received == 20, "\(pinged.probes.map(\.status))")
        #expect(traced.destinationReached, "\(traced.stop)")
        #expect(swept.count == 32 && swept.allSatisfy { $0.received == 2 }, "\(swept.map(\.received))")
        #expect(engine.inFlightProbes == 0)
    }

    /// An engine opened for ICMP traces only (what `trace -M icmp` opens): its ICMP traces are
    /// matched by the echo identifier alone, with and without the capture, and a UDP or TCP
    /// trace is refused with the reason instead of finding no sockets.
    @Test(arguments: [EngineConfiguration.Capture.disabled, .interface("lo")])
    func anICMPOnlyEngineTracesWithICMPAndRefusesTheOtherMethods(capture: EngineConfiguration.Capture) async throws {
        let engine = try ProbeEngine(configuration: EngineConfiguration(capture: capture, capabilities: .keep, icmpTracesOnly: true, families: [.ipv4]))
        defer { engine.shutdown() }
        let traced = try await engine.traceroute("127.0.0.1", options: TraceOptions(method: .icmp, rounds: 2, timeout: .milliseconds(300), roundInterval: .milliseconds(50)))
        #expect(traced.destinationReached, "\(traced.stop)")
        #expect(traced.hops.last?.received == 2, "\(traced.hops)")
        for method in [TraceMethod.udp, .tcp(port: 443)] {
            do {
                _ = try await engine.traceroute("127.0.0.1", options: TraceOptions(method: method, rounds: 1, timeout: .milliseconds(300)))
                Issue.record("a \(method) trace ran on an ICMP-only engine")
            } catch {
                guard case .invalidArgument(_, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(reason.contains("ICMP traces only"), "\(reason)")
            }
        }
        #expect(engine.inFlightProbes == 0)
    }
}
