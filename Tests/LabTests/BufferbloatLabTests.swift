import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, item 2, on real packets in the realistic lab: a bulk TCP flow to the destination's
/// bulk server, upload then download, while echo requests go to every hop. One lab for both
/// tests: the clean path first, then r1's uplink made a 10 Mbit/s bottleneck behind a 200 ms
/// FIFO (`lab.sh bottleneck`); and `isp-checker lab --scenario bufferbloat` end to end.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct BufferbloatLabTests {
    /// 2 s each way, half a second of warm-up: enough for TCP to fill a 200 ms FIFO at 10 Mbit/s.
    static func options(_ lab: Lab) -> BufferbloatOptions {
        BufferbloatOptions(server: "\(lab.destination4):9000", flowDuration: .seconds(2), warmUp: .milliseconds(500),
                           networkNamespace: lab.client)
    }

    func hops(_ engine: ProbeEngine, _ target: String) async throws -> [BufferbloatResult.PathHop] {
        let trace = try await engine.traceroute(target, options: TraceOptions(rounds: 1))
        return trace.hops.compactMap { hop in
            hop.isDestination ? nil : hop.addresses.first.map { BufferbloatResult.PathHop(ttl: hop.ttl, address: $0.address) }
        }
    }

    func analyzed(_ result: BufferbloatResult, target: String) -> RunReport {
        HealthAnalyzer().analyze(target: target, probes: [ProbeReport(bufferbloat: result)], trace: nil, history: [], timestamp: Date())
    }

    @Test func aCleanPathHasNoQueueAndABottleneckOnR1NamesHop1() async throws {
        // realistic: the users' paths keep their ICMP limits and offloads; echo replies are not
        // rate-limited, so every hop answers under load.
        let lab = try Lab.up("bloat", realistic: true)
        defer { lab.down() }
        try lab.configure("bulk-server", ["--node", "d", "--port", "9000"])
        let engine = try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
        let target = lab.destination4
        let path = try await hops(engine, target)
        #expect(path.map(\.ttl) == [1, 2, 3], "\(path)")

        let clean = try await engine.bufferbloat(target, hops: path, options: Self.options(lab))
        #expect(clean.flows.allSatisfy { $0.error == nil && $0.bytes > 0 }, "\(clean.flows)")
        #expect(clean.hops.count == 4 && clean.destination?.address.description == target)
        let cleanEntry = ProbeReport(bufferbloat: clean)
        #expect(cleanEntry.status == .ok, "\(cleanEntry.details)")
        #expect(analyzed(clean, target: target).faults.isEmpty)

        try lab.configure("bottleneck", ["--node", "r1", "--side", "right", "--kbit", "10000", "--queue-ms", "200"])
        let bloated = try await engine.bufferbloat(target, hops: path, options: Self.options(lab))
        #expect(bloated.flows.allSatisfy { $0.error == nil }, "\(bloated.flows)")
        for direction in BufferbloatResult.Direction.allCases {
            let queue = try #require(bloated.queue(direction, minimumMilliseconds: 30))
            // TCP keeps the 200 ms FIFO between ~30 % and full: the median sits well above 60 ms.
            #expect(queue.increaseMilliseconds >= 60 && queue.increaseMilliseconds <= 260, "\(direction): \(bloated.hops)")
            #expect(queue.riseHop?.ttl == 2 && queue.riseHop?.address.description == lab.router4(2), "\(direction): \(bloated.hops)")
            #expect(queue.queueHop == 1)
        }
        // Hop 1 is before the bottleneck: its RTT does not rise.
        let hop1 = try #require(bloated.hops.first { $0.ttl == 1 })
        #expect((hop1.increaseMilliseconds(.upload) ?? 99) < 10 && (hop1.increaseMilliseconds(.download) ?? 99) < 10, "\(hop1)")
        let rate = try #require(bloated.flows.first { $0.direction == .download }?.kilobitsPerSecond)
        #expect(rate > 5000 && rate < 11_000, "a 10 Mbit/s line: \(rate) kbit/s")
        let rpm = try #require(bloated.responsivenessRPM)
        #expect(rpm < 1000, "60000 / ≥ 60 ms: \(rpm)")

        let fault = try #require(analyzed(bloated, target: target).faults.first)
        #expect(fault.component == "Local Network" && fault.hop == 1, "\(fault)")
        #expect(fault.explanation.contains("at hop 1 (\(lab.router4(1))): your router's queue"), "\(fault.explanation)")
        #expect(fault.suggestedAction.contains("SQM"))
    }

    @Test func theBufferbloatScenarioIsAFaultAtHop1() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-h6-bloat-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run(cliPath, ["lab", "--scenario", "bufferbloat", "--json", "--output", file], check: false)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try ReportSchema.violations(ofJSON: Data(json.utf8)) == [])
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8))
        #expect(result.status == 1, "a warn: \(report.probes.map { "\($0.name)=\($0.status)" })")
        let fault = try #require(report.faults.first)
        #expect(fault.component == "Local Network" && fault.hop == 1, "\(report.diagnosis)")
        #expect(fault.explanation.contains("your router's queue"), "\(fault.explanation)")
        let entry = try #require(report.probe("bufferbloat"))
        #expect(entry.details["queue_hop"] == .int(1) && entry.details["rise_hop"] == .int(2), "\(entry.details)")
        #expect(report.probe("ping")?.status == .ok, "the load runs after ping and traceroute, which see a clean path")
    }
}
