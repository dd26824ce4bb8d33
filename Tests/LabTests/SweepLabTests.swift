import Foundation
import ISPChecker
import TestSupport
import Testing

/// Sweeps of the lab's destination range (10.77.128.0/20 and fd00:77::/64 answer from the
/// destination namespace), checked against exact per-address loss set with `lab.sh echo-drop`.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct SweepLabTests {
    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    func drop(_ lab: Lab, _ target: String, _ drop: Int, every: Int) throws {
        try lab.configure("echo-drop", ["--node", "d", "--to", target, "--drop", "\(drop)", "--every", "\(every)"])
    }

    func collect(_ stream: AsyncThrowingStream<SweepResult, any Error>) async throws -> [SweepResult] {
        var results: [SweepResult] = []
        for try await result in stream { results.append(result) }
        return results
    }

    @Test func tenThousandInFlightProbesEachGetTheirAddressesExactLoss() async throws {
        // idealised: exact per-address loss from echo-drop; echo replies are never rate limited, so the lab's ICMP limits are no part of what a sweep measures.
        let lab = try Lab.up("swloss", realistic: false)
        defer { lab.down() }
        // 2,048 addresses never answer: their 5 probes each (10,240) all wait at once for the
        // timeout, since the whole sweep is sent in well under it.
        try drop(lab, "10.77.136.0/21", 1, every: 1)
        let partial: [String: Int] = ["10.77.128.9": 1, "10.77.129.77": 2, "10.77.131.200": 3, "10.77.135.255": 4]
        for (address, dropped) in partial { try drop(lab, address, dropped, every: 5) }
        let engine = try engine(in: lab)

        // Foreign echo traffic to a swept address at the same time: iputils ping's replies reach
        // our raw socket too, and must never count.
        let foreign = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "ping", "-q", "-c", "200", "-i", "0.005", "10.77.128.50"])
        defer { foreign.terminate(); foreign.wait() }

        let options = SweepOptions(probesPerTarget: 5, packetsPerSecond: 50_000, timeout: .seconds(3))
        let stream = try engine.sweep(["10.77.128.0/20"], options: options)
        // A ping of the same engine meanwhile: its own identifier, untouched by the sweep.
        async let ping = engine.ping(lab.destination4, count: 10, interval: .milliseconds(20), timeout: .seconds(1))
        let results = try await collect(stream)
        let pinged = try await ping

        #expect(results.count == 4096)
        #expect(Set(results.map(\.index)) == Set(0..<4096))
        #expect(engine.peakSweepInFlightProbes >= 10_000)
        #expect(pinged.received == 10)
        var wrong: [String] = []
        for result in results {
            let text = result.address.description
            let expected = result.address.bytes[2] >= 136 ? 0 : 5 - (partial[text] ?? 0)
            if result.received != expected || result.sent != 5 || result.rttNanoseconds.count != 5 {
                wrong.append("\(text): \(result.received)/\(result.sent), expected \(expected)/5")
            }
        }
        #expect(wrong.count == 0, "\(wrong.prefix(20))")
        let partialResults = results.filter { partial[$0.address.description] != nil }
        #expect(partialResults.map(\.lossPercent).sorted() == [20, 40, 60, 80])
        #expect(results.filter { $0.received > 0 }.allSatisfy { $0.clockSource == .pcap })
        #expect(engine.inFlightProbes == 0)
    }

    @Test func ipv6SweepMatchesPerAddressLoss() async throws {
        // idealised: exact per-address counts; echo replies are not rate limited in either mode.
        let lab = try Lab.up("swv6", realistic: false)
        defer { lab.down() }
        try drop(lab, "fd00:77::5", 1, every: 2)
        try drop(lab, "fd00:77::80/121", 1, every: 1)
        let engine = try engine(in: lab)
        let results = try await collect(try engine.sweep(["fd00:77::/120"], options: SweepOptions(probesPerTarget: 4, packetsPerSecond: 20_000, timeout: .seconds(1))))
        #expect(results.count == 256)
        for result in results {
            let last = result.address.bytes[15]
            let expected = last == 5 ? 2 : last >= 0x80 ? 0 : 4
            #expect(result.received == expected, "\(result.address)")
        }
    }

    @Test func batchesCarryEveryTargetOnceWithItsLoss() async throws {
        // idealised: exact per-address counts; echo replies are not rate limited in either mode.
        let lab = try Lab.up("swbatch", realistic: false)
        defer { lab.down() }
        try drop(lab, "10.77.128.7", 1, every: 2)
        let engine = try engine(in: lab)
        var batches = 0
        var results: [SweepResult] = []
        for try await batch in try engine.sweepBatches(["10.77.128.0/22"], options: SweepOptions(probesPerTarget: 2, packetsPerSecond: 20_000, timeout: .seconds(1))) {
            #expect(!batch.isEmpty)
            batches += 1
            results += batch
        }
        #expect(results.map(\.index).sorted() == Array(0..<1024))
        #expect(batches < results.count)
        #expect(results.filter { $0.received != 2 }.map(\.address.description) == ["10.77.128.7"])
    }

    @Test func cancellingTheConsumerStopsTheSweepAndFreesItsProbes() async throws {
        // idealised: about cancellation, not the network; echo replies are not rate limited in either mode.
        let lab = try Lab.up("swcancel", realistic: false)
        defer { lab.down() }
        try drop(lab, "10.77.128.0/20", 1, every: 1)
        let engine = try engine(in: lab)
        let stream = try engine.sweep(["10.77.128.0/20"], options: SweepOptions(probesPerTarget: 3, packetsPerSecond: 5_000, timeout: .seconds(30)))
        let consumer = Task { try await collect(stream) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(engine.inFlightProbes > 500)
        consumer.cancel()
        let partial = try await consumer.value
        #expect(partial.isEmpty)
        // Freed at the engine's next loop turn, long before the 30 s timeout.
        var waited = 0
        while engine.inFlightProbes > 0 && waited < 200 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(engine.inFlightProbes == 0)
        // Nothing more is sent: the peak stays where it was.
        let peak = engine.peakSweepInFlightProbes
        try await Task.sleep(for: .milliseconds(200))
        #expect(engine.peakSweepInFlightProbes == peak)
        #expect(peak < 4096 * 3)
    }

    @Test func badSweepInputIsATypedError() throws {
        // idealised: typed input errors only, no packet matters.
        let lab = try Lab.up("swinput", realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        #expect(throws: ProbeError.invalidArgument(name: "targets", reason: "the list is empty; give at least one address")) {
            try engine.sweep([IPAddress](), options: .default)
        }
        for bad in [[], ["10.77.128.0/33"], ["10.77.128.0/"], ["not-an-address"], ["10.0.0.0/8"]] {
            #expect(performing: { try engine.sweep(bad, options: .default) }, throws: { error in
                guard case ProbeError.invalidArgument(name: "targets", _) = error else { return false }
                return true
            })
        }
        for options in [SweepOptions(packetsPerSecond: 0), SweepOptions(probesPerTarget: 0), SweepOptions(timeout: .zero), SweepOptions(maxInFlight: 65_537)] {
            #expect(performing: { try engine.sweep(["10.77.128.1"], options: options) }, throws: { error in
                guard case ProbeError.invalidArgument = error else { return false }
                return true
            })
        }
        let rateZero = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "--rate", "0"], check: false)
        #expect(rateZero.status == 64, "usage errors exit 64 (ExitStatus)")
        #expect(rateZero.stderr.contains("--rate must be 1 ... 10000000 packets per second"), "\(rateZero.stderr)")
        let badPrefix = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/33"], check: false)
        #expect(badPrefix.status == 64)
        #expect(badPrefix.stderr.contains("prefix length"))
    }

    struct Report: Decodable {
        struct Summary: Decodable { var targets: Int; var sent: Int; var received: Int; var targetsWithoutReply: Int }
        struct Result: Decodable { var address: String; var received: Int; var lossPercent: Double; var clockSource: String? }
        var summary: Summary
        var results: [Result]
    }

    @Test func cliSweepsAPrefixAndATargetsFileAsJSON() throws {
        // idealised: exact per-address counts in the CLI's JSON; echo replies are not rate limited in either mode.
        let lab = try Lab.up("swcli", realistic: false)
        defer { lab.down() }
        try drop(lab, "10.77.128.3", 1, every: 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-sweep-\(getpid()).txt").path
        try "# lab targets\n10.77.129.1\n\nfd00:77::9  # v6\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let output = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "--targets", file, "-c", "2", "--rate", "2000", "-W", "0.5", "--json"], check: false)
        #expect(output.status == 1, "one target never answers: \(output.stderr)")
        #expect(try JSONSchema.violations(of: output, schema: "sweep", lines: true) == [])
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let report = try decoder.decode(Report.self, from: Data(output.stdout.utf8))
        #expect(report.summary.targets == 6)
        #expect(report.summary.sent == 12)
        #expect(report.summary.received == 10)
        #expect(report.summary.targetsWithoutReply == 1)
        #expect(report.results.map(\.address) == ["10.77.128.0", "10.77.128.1", "10.77.128.2", "10.77.128.3", "10.77.129.1", "fd00:77::9"])
        #expect(report.results.first { $0.address == "10.77.128.3" }?.lossPercent == 100)
        // Socket timestamps by default, as trace; the capture's clock with --capture.
        let answered = report.results.filter { $0.received > 0 }
        #expect(answered.count == 5 && answered.allSatisfy { $0.clockSource == "kernel_socket" }, "\(answered)")
        let captured = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "-c", "2", "--rate", "2000", "-W", "0.5", "--json", "--capture"], check: false)
        let capturedReport = try decoder.decode(Report.self, from: Data(captured.stdout.utf8))
        let capturedAnswered = capturedReport.results.filter { $0.received > 0 }
        #expect(capturedAnswered.count == 3 && capturedAnswered.allSatisfy { $0.clockSource == "pcap" }, "\(capturedReport.results)")
    }
}
