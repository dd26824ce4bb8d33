import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// Issue 20, items 1 and 5: a path MTU black hole is a fault located at the hop large packets do
/// not reach; a carrier-grade NAT (a hop in 100.64.0.0/10 past the gateway) is a note.
@Suite struct PathMTUAndNATDiagnosisTests {
    static let destination = IPAddress(Fixture.target)!

    func mtuResult(pathMTU: Int? = 1400, lost: Int? = 1401, reported: Int? = nil, lastReached: Int? = 2, firstLost: Int? = 3) -> PathMTUResult {
        PathMTUResult(target: Fixture.target, address: Self.destination, pathMTU: pathMTU, localMTU: 1500, smallestLostSize: lost,
                      reportedMTU: reported, lastHopReached: lastReached.map { .init(ttl: $0, address: IPAddress("10.99.\($0).2")!) },
                      firstHopLost: firstLost.map { .init(ttl: $0, address: IPAddress("10.99.\($0).2")!) },
                      probes: [.init(bytes: 1500, crossed: false), .init(bytes: 1400, crossed: true)], durationMilliseconds: 2000)
    }

    /// A clean trace whose hop `ttl` answers from `address`.
    func trace(_ addresses: [Int: String]) -> TraceResult {
        var trace = Fixture.cleanTrace()
        for index in trace.hops.indices {
            if let text = addresses[trace.hops[index].ttl] {
                trace.hops[index].addresses = [HopAddress(address: IPAddress(text)!, replies: 10, name: nil)]
            }
        }
        return trace
    }

    @Test func aBlackHoleIsAFaultAtTheFirstHopLargePacketsDoNotReach() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(pathMTU: mtuResult())], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.ispAccess)
        #expect(fault.hop == 3)
        #expect(abs(fault.confidence - 0.9) < 0.001)
        #expect(fault.explanation.contains("hop 3 (10.99.3.2)") && fault.explanation.contains("1400 bytes"), "\(fault.explanation)")
        #expect(fault.evidence.first?.detail == "1401-byte packets reach hop 2 (10.99.2.2) but not hop 3 (10.99.3.2), which answers small pings")
        #expect(fault.suggestedAction.contains("MSS 1360"))
        #expect(report.probe(ProbeName.pathMTU)?.status == .crit)
        #expect(report.score >= 40, "a crit probe: \(report.score)")
    }

    @Test func aBlackHoleAtTheGatewaysLinkIsTheLocalNetworksToFix() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(pathMTU: mtuResult(lastReached: nil, firstLost: 1))], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.localNetwork)
        #expect(fault.suggestedAction.contains("WAN link"))
        #expect(fault.evidence.first?.detail.contains("reach the client but not hop 1") == true, "\(fault.evidence)")
    }

    @Test func anUnlocatedBlackHoleIsUpstreamWithLessConfidence() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(pathMTU: mtuResult(lastReached: nil, firstLost: nil))], trace: nil)
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.upstream)
        #expect(abs(fault.confidence - 0.7) < 0.001)
        #expect(fault.hop == nil)
    }

    @Test func aSmallerMTUThatRoutersReportIsNoFault() throws {
        let result = mtuResult(lost: 1401, reported: 1400, lastReached: nil, firstLost: nil)
        #expect(!result.isBlackHole)
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(pathMTU: result)], trace: Fixture.cleanTrace())
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        #expect(report.probe(ProbeName.pathMTU)?.status == .ok)
        #expect(report.score == 0)
    }

    @Test func aPathThatCarries1500BytesIsNoFault() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(pathMTU: mtuResult(pathMTU: 1500, lost: nil, lastReached: nil, firstLost: nil))],
                                     trace: Fixture.cleanTrace())
        #expect(report.faults.isEmpty)
        #expect(report.probe(ProbeName.pathMTU)?.details["path_mtu"] == .int(1500))
    }

    @Test func aTargetThatAnswersNoSizeLeavesThePathMTUUnknownNotABlackHole() throws {
        let result = mtuResult(pathMTU: nil, lost: 576, lastReached: nil, firstLost: nil)
        #expect(!result.isBlackHole)
        let entry = ProbeReport(pathMTU: result)
        #expect(entry.status == .warn)
        #expect(Fixture.analyze([Fixture.ping(), entry], trace: Fixture.cleanTrace()).faults.isEmpty)
    }

    @Test func thePathMTUEntryReadsBackFromItsDetails() throws {
        let entry = ProbeReport(pathMTU: mtuResult())
        let decoded = try RunReport.decoder.decode(ProbeReport.self, from: RunReport.encoder.encode(entry))
        #expect(decoded.measurement == entry.measurement)
        #expect(decoded.measurement.pathMTU?.firstHopLostAddress == "10.99.3.2")
        #expect(decoded.measurement.pathMTU?.blackHole == true)
    }

    @Test func aHopInTheSharedAddressSpaceBehindAPrivateGatewayIsDoubleNAT() throws {
        let report = Fixture.analyze([Fixture.ping()], trace: trace([2: "100.64.2.1"]))
        #expect(report.faults.isEmpty, "a note, not a fault: \(report.diagnosis)")
        let note = try #require(report.notes.first { $0.component == DiagnosisComponent.carrierGradeNAT })
        #expect(note.hop == 2)
        #expect(note.explanation.hasPrefix("Double NAT"), "\(note.explanation)")
        #expect(note.evidence.count == 2)
        #expect(report.score == 0)
    }

    @Test func aSharedAddressBehindAPublicGatewayIsCarrierGradeNATAlone() throws {
        let report = Fixture.analyze([Fixture.ping()], trace: trace([1: "192.0.2.1", 3: "100.127.255.254"]))
        let note = try #require(report.notes.first { $0.component == DiagnosisComponent.carrierGradeNAT })
        #expect(note.hop == 3)
        #expect(note.explanation.hasPrefix("Carrier-grade NAT at hop 3 (100.127.255.254)"), "\(note.explanation)")
    }

    @Test func addressesJustOutsideTheSharedSpaceOrAtTheGatewayAreNotCGNAT() throws {
        for addresses in [[2: "100.63.255.255"], [2: "100.128.0.1"], [1: "100.64.0.1"]] {
            let report = Fixture.analyze([Fixture.ping()], trace: trace(addresses))
            #expect(!report.diagnosis.contains { $0.component == DiagnosisComponent.carrierGradeNAT }, "\(addresses)")
        }
    }

    @Test func privateAddressRangesFollowRFC1918() {
        for text in ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1"] { #expect(IPAddress(text)!.isPrivateIPv4, "\(text)") }
        for text in ["172.32.0.1", "172.15.255.255", "192.169.0.1", "100.64.0.1", "fd00::1"] { #expect(!IPAddress(text)!.isPrivateIPv4, "\(text)") }
    }
}
