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

/// A live trace through a router that answers like a label switching router (lab/rfc4950_responder.py
/// in r2: ICMP time exceeded with an RFC 4950 label stack object): the labels show under hop 2
/// in the text table and in the JSON, as traceroute -e reads the same replies.
@Suite(.enabled(if: isRoot, "the network lab needs root"))
struct MPLSTraceLabTests {
    @Test func aLiveTraceShowsTheLabelsARouterQuotes() async throws {
        // realistic: kernel ICMP limits and checksum offload as on real hosts; r2's own time-exceeded are replaced by the responder's.
        let lab = try Lab.up("mpls", realistic: true)
        defer { lab.down() }
        let script = repositoryRoot.appendingPathComponent("lab/rfc4950_responder.py").path
        let responder = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.namespace("r2"), "python3", "-u", script,
                                                        "--router", lab.router4(2), "--label", "16001:0:0:1", "--label", "24:5:1:1"])
        defer { responder.terminate() }
        for _ in 0..<300 where !responder.stdout.contains("rfc4950: ready") {
            try await Task.sleep(for: .milliseconds(10))
        }
        try #require(responder.isRunning, "\(responder.stderr)")

        let text = try lab.exec("c", [cliPath, "trace", lab.destination4, "-c", "3"])
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let hop2 = try #require(lines.firstIndex { $0.hasPrefix("  2  \(lab.router4(2))") }, "\(text.stdout)")
        #expect(Array(lines[(hop2 + 1)...(hop2 + 2)]) == ["     [MPLS: Lbl 16001 TC 0 S 0 TTL 1]", "     [MPLS: Lbl 24 TC 5 S 1 TTL 1]"], "\(text.stdout)")
        #expect(lines[hop2 + 3].hasPrefix("  3  \(lab.router4(3))"), "only hop 2 carries labels: \(text.stdout)")
        #expect(!lines[hop2 - 1].contains("MPLS") && !lines[hop2 - 2].contains("MPLS"))

        let json = try lab.exec("c", [cliPath, "trace", lab.destination4, "--json"])
        let result = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let hops = try #require(result?["hops"] as? [[String: Any]], "\(json.stdout)")
        let stacks = try #require(hops[1]["mpls_stacks"] as? [[[String: Any]]])
        #expect(stacks.count == 1)
        let entries = try #require(stacks.first)
        #expect(entries.map { $0["label"] as? Int } == [16001, 24])
        #expect(entries.map { $0["traffic_class"] as? Int } == [0, 5])
        #expect(entries.map { $0["bottom_of_stack"] as? Bool } == [false, true])
        #expect(entries.map { $0["ttl"] as? Int } == [1, 1])
        #expect(hops.enumerated().allSatisfy { index, hop in index == 1 || (hop["mpls_stacks"] as? [Any])?.isEmpty == true })

        // The peer reads the same replies the same way.
        let peer = try lab.exec("c", ["traceroute", "-n", "-e", "-q", "1", lab.destination4])
        #expect(peer.stdout.contains("<MPLS:L=16001,E=0,S=0,T=1/L=24,E=5,S=1,T=1>"), "\(peer.stdout)")
        responder.terminate()
        responder.wait()
        #expect(responder.stdout.contains("rfc4950: answered"), "\(responder.stdout)")
    }
}
