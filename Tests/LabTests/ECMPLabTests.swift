import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, item 7, on real packets in the realistic lab built with `--ecmp`: r1 balances flows
/// (by their five-tuple) over two parallel routers at hop 2, r2a (10.99.2.2) and r2b
/// (10.99.102.2). Every node keeps the kernel's ICMP error limit (a burst of 6, then one a
/// second per destination), so a flow's hop may stay silent: unknown, not loss.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct ECMPLabTests {
    static let branches: Set<String> = ["10.99.2.2", "10.99.102.2"]

    func analyzed(_ result: ECMPResult, target: String) -> RunReport {
        HealthAnalyzer().analyze(target: target, probes: [ProbeReport(ecmp: result)], trace: nil, history: [], timestamp: Date())
    }

    /// Both paths at hop 2 and no fault on the clean lab; with r2a dropping 30 % of what it
    /// forwards, the loss is the r2a path's alone, located at hop 2; then `isp-checker run --ecmp`
    /// says so as its verdict, with the trace and ping of the same run in the report.
    @Test func twoPathsAtHop2AndLossOnTheR2aPathOnly() async throws {
        let lab = try Lab.up("ecmp", extra: ["--ecmp"], realistic: true)
        defer { lab.down() }
        let target = lab.destination4
        let engine = try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))

        let clean = try await engine.ecmp(target)
        #expect(clean.paths.count == 2, "\(clean.paths)")
        #expect(Set(clean.paths.compactMap { $0.address(at: 2)?.description }) == Self.branches, "\(clean.paths)")
        #expect(clean.branching == [2: 2], "only hop 2 branches: \(clean.branching)")
        #expect(clean.flowsProbed >= 11, "n(2) = 11 flows before two next hops are taken as all: \(clean.flowsProbed)")
        #expect(clean.paths.allSatisfy { $0.sent == 40 && $0.received == 40 }, "\(clean.paths.map { "\($0.received)/\($0.sent)" })")
        #expect(clean.lossSpread() == .none)
        #expect(analyzed(clean, target: target).faults.isEmpty)

        try lab.configure("loss", ["--node", "r2a", "--percent", "30", "--dir", "forward"])
        // The routers' ICMP budgets refill (one a second, up to 6) before the flows are traced again.
        try await Task.sleep(for: .seconds(6))
        let lossy = try await engine.ecmp(target)
        #expect(lossy.paths.count == 2, "\(lossy.paths)")
        let r2a = try #require(lossy.paths.first { $0.address(at: 2)?.description == "10.99.2.2" })
        let r2b = try #require(lossy.paths.first { $0.address(at: 2)?.description == "10.99.102.2" })
        #expect((r2a.lossPercent ?? 0) >= 10, "30 % of 40: \(r2a.received)/\(r2a.sent)")
        #expect(r2b.received == r2b.sent, "\(r2b.received)/\(r2b.sent)")
        guard case .someParallelPaths(_, _, let ttl, let address) = lossy.lossSpread() else {
            Issue.record("loss on one path expected: \(lossy.lossSpread())")
            return
        }
        #expect(ttl == 2 && address.description == "10.99.2.2")
        let fault = try #require(analyzed(lossy, target: target).faults.first)
        #expect(fault.component == "ISP Access" && fault.hop == 2, "\(fault)")
        #expect(fault.explanation.hasPrefix("Loss on one of 2 parallel paths at hop 2 (10.99.2.2)"), "\(fault.explanation)")

        // The whole check: ping, trace and the ECMP probe; the verdict is the per-path one.
        try await Task.sleep(for: .seconds(6))
        let output = try lab.exec("c", [cliPath, "run", "--target", target, "--no-dns", "--ecmp", "--json"], check: false)
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(output.stdout.utf8))
        #expect(try ReportSchema.violations(ofJSON: Data(output.stdout.utf8)) == [])
        let verdict = try #require(report.faults.first, "\(report.diagnosis)")
        #expect(verdict.component == "ISP Access" && verdict.hop == 2, "\(report.diagnosis)")
        #expect(report.probe("ecmp")?.details["lossy_hop_ip"] == .string("10.99.2.2"), "\(report.probe("ecmp")?.details ?? [:])")
    }
}
