import Foundation
import ISPChecker
import ISPCheckerResults
import TestSupport
import Testing

/// The CLI's text report of a run whose trace crossed an MPLS tunnel: each label under its hop
/// as `mtr --mpls` prints them, and the fault's evidence placing it inside the tunnel. Read back
/// from a saved report (`run --mode replay --input REPORT.json`), so no lab is needed.
@Suite struct MPLSTextTests {
    static func hop(_ ttl: Int, lost: Int, labels: [MPLSLabel] = []) -> TraceHop {
        let received = 10 - lost
        return TraceHop(ttl: ttl, addresses: [HopAddress(address: IPAddress("10.99.\(ttl).2")!, replies: received, name: nil)],
                        sent: 10, received: received, lossPercent: Double(lost * 10), lastMilliseconds: Double(ttl),
                        avgMilliseconds: Double(ttl), bestMilliseconds: Double(ttl), worstMilliseconds: Double(ttl), stdevMilliseconds: 0,
                        mplsStacks: labels.isEmpty ? [] : [labels], unreachable: [], isDestination: ttl == 6, clock: .kernelSocket)
    }

    @Test func labelsShowUnderTheirHopAndTheFaultIsPlacedInsideTheTunnel() throws {
        let labels = [MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: false, ttl: 1),
                      MPLSLabel(label: 24, trafficClass: 5, bottomOfStack: true, ttl: 1)]
        let hops = (1...6).map { ttl in Self.hop(ttl, lost: ttl >= 4 ? 3 : 0, labels: ttl == 4 || ttl == 5 ? labels : []) }
        let trace = TraceResult(target: "10.99.6.2", address: IPAddress("10.99.6.2")!, method: .udp, paris: true, rounds: 10,
                                hops: hops, stop: .destinationReached, durationMilliseconds: 100)
        let ping = ProbeReport(name: "ping", status: .ok,
                               details: ["target_ip": .string("10.99.6.2"), "packets_sent": .int(10), "packets_received": .int(7),
                                         "packet_loss": .double(30), "latency_avg_ms": .double(6)])
        let report = HealthAnalyzer().analyze(target: "10.99.6.2", probes: [ping, ProbeReport(trace: trace)], trace: trace)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-mpls-report-\(getpid()).json").path
        try RunReport.encoder.encode(report).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }

        let replay = try run(cliPath, ["run", "--mode", "replay", "--input", file], check: false)
        let lines = replay.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let hop4 = try #require(lines.firstIndex { $0.hasPrefix("  4  10.99.4.2") }, "\(replay.stdout)")
        #expect(lines[hop4 + 1] == "     [MPLS: Lbl 16001 TC 0 S 0 TTL 1]")
        #expect(lines[hop4 + 2] == "     [MPLS: Lbl 24 TC 5 S 1 TTL 1]")
        #expect(lines[hop4 + 3].hasPrefix("  5  10.99.5.2"))
        #expect(lines[hop4 + 4] == "     [MPLS: Lbl 16001 TC 0 S 0 TTL 1]")
        #expect(!lines[hop4 - 1].contains("MPLS"), "hop 3 carries no labels")
        #expect(replay.stdout.contains("evidence: traceroute hop 4: hop 4 is inside an MPLS tunnel (labels 16001/24)"), "\(replay.stdout)")
    }
}
