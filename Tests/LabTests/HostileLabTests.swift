import Foundation
import ISPChecker
import TestSupport
import Testing

/// Hostile traffic at the client while it probes: a process in r1 answers every probe at once
/// with forgeries that carry the right addresses but the wrong tokens (echo replies with a
/// corrupted token, time-exceeded messages quoting other ports, sequence numbers or probe ids
/// from a router that is not on the path, SYN-ACKs that answer a TCP probe exactly but carry a
/// damaged checksum), and floods echo replies. None may count as ours.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct HostileLabTests {
    static let fakeRouter = IPAddress("10.99.250.1")!

    /// Starts lab/hostile.py in r1; returns it and the file it writes its count to.
    func startForger(_ lab: Lab) async throws -> (Subprocess, String) {
        let countFile = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-hostile-\(getpid()).count").path
        let script = repositoryRoot.appendingPathComponent("lab/hostile.py").path
        let forger = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.namespace("r1"), "python3", "-u", script,
                                                     "--client", "10.99.1.1", "--count-file", countFile])
        for _ in 0..<300 where !forger.stdout.contains("hostile: ready") {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(forger.isRunning, "\(forger.stderr)")
        return (forger, countFile)
    }

    func stop(_ forger: Subprocess, countFile: String) throws -> Int {
        forger.terminate()
        forger.wait()
        defer { unlink(countFile) }
        return Int(try String(contentsOfFile: countFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    @Test func forgedAnswersAndAFloodChangeNoResult() async throws {
        // idealised: every trace round must get every hop's answer (received == sent), which the kernel's limits would thin.
        let lab = try Lab.up("hostile", realistic: false)
        defer { lab.down() }
        // 5 ms each way behind r1: a real answer from r2 on takes ≥ 10 ms, a forgery from r1 < 1 ms.
        try lab.configure("delay", ["--node", "r2", "--side", "left", "--ms", "5"])
        let expected = try run("/bin/bash", [Lab.script, "path", "--prefix", lab.prefix]).stdout.split(separator: "\n").map(String.init)
        let engine = try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
        let (forger, countFile) = try await startForger(lab)
        defer { forger.terminate() }

        async let ping = engine.ping(lab.destination4, count: 100, interval: .milliseconds(10), timeout: .seconds(1))
        var traces: [TraceResult] = []
        for method in [TraceMethod.udp, .icmp, .tcp(port: 80)] {
            traces.append(try await engine.traceroute(lab.destination4, options: TraceOptions(method: method, rounds: 3, timeout: .milliseconds(500), roundInterval: .milliseconds(100))))
        }
        let pinged = try await ping
        let forgeries = try stop(forger, countFile: countFile)

        #expect(forgeries > 500, "the forger must have been busy: \(forgeries)")
        #expect(pinged.received == 100, "\(pinged.lossPercent) % loss")
        let rtts = pinged.probes.compactMap(\.rttMilliseconds)
        #expect(rtts.allSatisfy { $0 >= 10 }, "a forged reply was taken for ours: min \(rtts.min() ?? 0) ms")
        for trace in traces {
            #expect(trace.stop == .destinationReached, "\(trace.method): \(trace.stop)")
            #expect(trace.hops.map { $0.addresses.first?.address.description ?? "*" } == expected, "\(trace.method)")
            #expect(trace.hops.allSatisfy { $0.addresses.count == 1 && $0.received == $0.sent }, "\(trace.method): \(trace.hops)")
            #expect(!trace.hops.contains { $0.addresses.contains { $0.address == Self.fakeRouter } }, "\(trace.method)")
            // Hops behind the delayed link answer after ≥ 10 ms; a forged answer would be faster.
            for hop in trace.hops.dropFirst() {
                #expect((hop.bestMilliseconds ?? 0) >= 10, "\(trace.method) hop \(hop.ttl): \(hop.bestMilliseconds ?? 0) ms")
            }
        }
        #expect(engine.inFlightProbes == 0)
    }
}
