import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerResults

/// Issue 20, item 7: ECMP. The MDA stopping rule, the grouping of flows into paths, and the
/// verdict "loss on one of two parallel paths at hop 2" against loss on every path.
@Suite struct ECMPDiagnosisTests {
    static let destination = IPAddress(Fixture.target)!
    static let branchA = IPAddress("10.99.2.2")!
    static let branchB = IPAddress("10.99.102.2")!

    // MARK: The stopping rule

    @Test func theStoppingRuleIsTheMDATableAt95Percent() {
        #expect(MDAStoppingRule.flowsNeeded(seen: 1) == 6)
        #expect(MDAStoppingRule.flowsNeeded(seen: 2) == 11)
        #expect(MDAStoppingRule.flowsNeeded(seen: 3) == 16)
        #expect(MDAStoppingRule.flowsNeeded(seen: 10) == 57)
        #expect(MDAStoppingRule.flowsNeeded(seen: 11) == 63, "past the table it grows by about 6 a next hop")
        #expect(MDAStoppingRule.flowsNeeded(seen: 0) == 6, "a hop that showed nothing yet needs n(1)")
        #expect(!MDAStoppingRule.isComplete(seen: 2, answered: 10))
        #expect(MDAStoppingRule.isComplete(seen: 2, answered: 11))
    }

    /// A flow's one-round Paris trace: hops 1, 2 (`branch`, or silent when nil: a router's ICMP
    /// limit), 3, 4 and the destination.
    func flowTrace(_ branch: IPAddress?) -> TraceResult {
        let hops = (1...5).map { ttl -> TraceHop in
            if ttl == 2 {
                guard let branch else { return Fixture.hop(2, ms: nil, sent: 1) }
                var hop = Fixture.hop(2, ms: 1, sent: 1)
                hop.addresses = [HopAddress(address: branch, replies: 1, name: nil)]
                return hop
            }
            return Fixture.hop(ttl, ms: Double(ttl) * 0.5, sent: 1, destination: ttl == 5)
        }
        return Fixture.trace(hops)
    }

    @Test func enumerationStopsOnlyOnceTheBranchingHopHasItsElevenFlows() {
        // Six flows all through one branch: n(1) = 6 at every hop, done (one path).
        #expect(ProbeEngine.enumerated((0..<6).map { _ in flowTrace(Self.branchA) }))
        #expect(!ProbeEngine.enumerated((0..<5).map { _ in flowTrace(Self.branchA) }))
        // Two branches at hop 2: n(2) = 11 flows must answer there.
        let alternating = (0..<10).map { flowTrace($0 % 2 == 0 ? Self.branchA : Self.branchB) }
        #expect(!ProbeEngine.enumerated(alternating))
        #expect(ProbeEngine.enumerated(alternating + [flowTrace(Self.branchB)]))
        // A flow hop 2 did not answer (rate limited) is no evidence there.
        #expect(!ProbeEngine.enumerated(alternating + [flowTrace(nil)]))
    }

    @Test func flowsAreGroupedIntoPathsAndASilentBranchIsUnknownNotAPath() {
        var flows: [(port: UInt16, trace: TraceResult)] = []
        for index in 0..<8 { flows.append((UInt16(33434 + index), flowTrace(index % 2 == 0 ? Self.branchA : Self.branchB))) }
        flows.append((33442, flowTrace(nil)))
        let paths = ProbeEngine.paths(flows)
        #expect(paths.count == 2)
        #expect(paths[0].flows == [33434, 33436, 33438, 33440], "the flow whose hop 2 stayed silent fits both paths: it joins none")
        #expect(paths[0].address(at: 2) == Self.branchA && paths[1].address(at: 2) == Self.branchB)
        #expect(paths[0].hops.first { $0.ttl == 2 }?.answered == 4)
        #expect(ProbeEngine.branching(flows.map { $0.trace }) == [2: 2])
    }

    // MARK: Loss per path

    func result(lostA: Int, lostB: Int, sent: Int = 40) -> ECMPResult {
        func path(_ branch: IPAddress, ports: [UInt16], lost: Int) -> ECMPResult.Path {
            let hops = [ECMPResult.Hop(ttl: 1, address: IPAddress("10.99.1.2"), probed: 6, answered: 6, avgMilliseconds: 0.5),
                        ECMPResult.Hop(ttl: 2, address: branch, probed: 6, answered: 5, avgMilliseconds: 1),
                        ECMPResult.Hop(ttl: 3, address: IPAddress("10.99.3.2"), probed: 6, answered: 6, avgMilliseconds: 1.5),
                        ECMPResult.Hop(ttl: 4, address: IPAddress("10.99.4.2"), probed: 6, answered: 6, avgMilliseconds: 2),
                        ECMPResult.Hop(ttl: 5, address: Self.destination, probed: 6, answered: 6, avgMilliseconds: 2.5)]
            return ECMPResult.Path(hops: hops, flows: ports, sent: sent, received: sent - lost, minMilliseconds: 2, avgMilliseconds: 2.5, maxMilliseconds: 3)
        }
        return ECMPResult(target: Fixture.target, address: Self.destination, method: "tcp", flowsProbed: 12, complete: true, branching: [2: 2],
                          paths: [path(Self.branchA, ports: [33434, 33436], lost: lostA), path(Self.branchB, ports: [33435, 33437], lost: lostB)],
                          durationMilliseconds: 4000)
    }

    @Test func lossOnOnePathIsPlacedWhereThatPathBranchesOff() {
        #expect(result(lostA: 14, lostB: 0).lossSpread() == .someParallelPaths(lossy: [0], clean: [1], ttl: 2, address: Self.branchA))
        #expect(result(lostA: 0, lostB: 9).lossSpread() == .someParallelPaths(lossy: [1], clean: [0], ttl: 2, address: Self.branchB))
        #expect(result(lostA: 14, lostB: 12).lossSpread() == .allPaths)
        #expect(result(lostA: 0, lostB: 1).lossSpread() == .none, "one probe in 40 is not loss")
        #expect(result(lostA: 2, lostB: 0).lossSpread() == .none, "fewer than 3 lost is not enough to blame a path")
    }

    @Test func lossOnOneOfTwoPathsIsTheVerdictAtTheBranchHop() throws {
        // The trace's flow took the lossy path (loss from hop 3) and so did ping: the per-path
        // measurement says the loss is on one path only, located at hop 2.
        let trace = Fixture.trace((1...5).map { ttl in Fixture.hop(ttl, ms: Double(ttl) * 0.5, loss: ttl >= 3 ? 40 : 0, destination: ttl == 5) })
        let report = Fixture.analyze([Fixture.ping(loss: 40), ProbeReport(ecmp: result(lostA: 16, lostB: 0))], trace: trace)
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.ispAccess)
        #expect(fault.hop == 2)
        #expect(fault.explanation.hasPrefix("Loss on one of 2 parallel paths at hop 2 (10.99.2.2)"), "\(fault.explanation)")
        #expect(fault.explanation.contains("40 %") && fault.explanation.contains("10.99.102.2"), "\(fault.explanation)")
        #expect(fault.suggestedAction.contains("ECMP"), "\(fault.suggestedAction)")
        #expect(fault.evidence.contains { $0.detail.contains("16 of 40 probes") }, "\(fault.evidence)")
        #expect(report.faults.count == 1, "the single-path loss rule is replaced, not repeated at hop 3: \(report.faults)")
        let probe = try #require(report.probe(ProbeName.ecmp))
        #expect(probe.status == .warn)
        #expect(probe.details["lossy_hop"] == .int(2) && probe.details["lossy_hop_ip"] == .string("10.99.2.2"))
        #expect(probe.details["paths"] == .int(2))
    }

    @Test func lossOnEveryPathIsLeftToThePathLossRule() throws {
        let trace = Fixture.trace((1...5).map { ttl in Fixture.hop(ttl, ms: Double(ttl) * 0.5, loss: ttl >= 4 ? 40 : 0, destination: ttl == 5) })
        let report = Fixture.analyze([Fixture.ping(loss: 40), ProbeReport(ecmp: result(lostA: 15, lostB: 17))], trace: trace)
        let fault = try #require(report.faults.first)
        #expect(fault.hop == 4, "\(report.faults)")
        #expect(!fault.explanation.contains("parallel"))
        #expect(report.probe(ProbeName.ecmp)?.details["loss_spread"] == .string("all"))
    }

    @Test func twoCleanPathsAreNoFault() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(ecmp: result(lostA: 0, lostB: 0))], trace: Fixture.cleanTrace())
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        let probe = try #require(report.probe(ProbeName.ecmp))
        #expect(probe.status == .ok)
        #expect(probe.details["branching"] == .strings(["hop 2: 2 addresses"]))
        // The saved report reads back the same (the details are the entry's measurement).
        #expect(ProbeMeasurement(name: ProbeName.ecmp, details: probe.details) == probe.measurement)
    }
}
