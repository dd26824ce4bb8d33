import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// A fault inside an MPLS tunnel says so in its evidence, with the labels the routers quoted
/// (RFC 4950): at the faulty hop itself, or at the answering hops on both sides of it.
@Suite struct MPLSDiagnosisTests {
    static let outer = MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: false, ttl: 1)
    static let inner = MPLSLabel(label: 24, trafficClass: 5, bottomOfStack: true, ttl: 1)

    /// Hops 1…6 (destination at 6), `loss` percent from `lossFrom` on, `extra` ms from `slowFrom`
    /// on, and the given label stacks per hop.
    func path(lossFrom: Int = 99, loss: Double = 0, slowFrom: Int = 99, extra: Double = 0,
              labels: [Int: [[MPLSLabel]]]) -> TraceResult {
        Fixture.trace((1...6).map { ttl in
            var hop = Fixture.hop(ttl, ms: Double(ttl) * 0.5 + (ttl >= slowFrom ? extra : 0),
                                  loss: ttl >= lossFrom ? loss : 0, destination: ttl == 6)
            hop.mplsStacks = labels[ttl] ?? []
            return hop
        })
    }

    func tunnelEvidence(_ diagnosis: Diagnosis) -> [Evidence] {
        diagnosis.evidence.filter { $0.detail.contains("MPLS") }
    }

    @Test func lossAtAHopWhoseRepliesCarryLabelsIsInsideATunnel() throws {
        let trace = path(lossFrom: 4, loss: 30, labels: [4: [[Self.outer, Self.inner]]])
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: trace)
        let fault = try #require(report.faults.first)
        #expect(fault.hop == 4)
        #expect(tunnelEvidence(fault) == [Evidence(probe: "traceroute", hop: 4, detail: "hop 4 is inside an MPLS tunnel (labels 16001/24)")])
        // The rest of the diagnosis is what it is without labels.
        let plain = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 4, loss: 30, labels: [:]))
        #expect(plain.faults.first?.evidence == Array(fault.evidence.dropLast()))
        #expect(plain.faults.first?.explanation == fault.explanation)
        #expect(plain.score == report.score)
    }

    @Test func aLatencyStepBetweenLabelledNeighboursIsInsideATunnel() throws {
        // Hop 4 answers without an extension (it does not implement RFC 4950), hops 3 and 5 quote theirs.
        let labels = [3: [[MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: true, ttl: 1)]],
                      5: [[MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: true, ttl: 3)]]]
        let report = Fixture.analyze([Fixture.ping(avg: 160)], trace: path(slowFrom: 4, extra: 150, labels: labels))
        let fault = try #require(report.faults.first)
        #expect(fault.hop == 4)
        #expect(tunnelEvidence(fault).map(\.detail) == ["hop 4 is inside an MPLS tunnel (labels 16001 at hop 3, 16001 at hop 5)"])
    }

    @Test func everyStackSeenAtTheHopIsListed() throws {
        let other = MPLSLabel(label: 16002, trafficClass: 0, bottomOfStack: false, ttl: 1)
        let report = Fixture.analyze([Fixture.ping(loss: 30)],
                                     trace: path(lossFrom: 4, loss: 30, labels: [4: [[Self.outer, Self.inner], [other, Self.inner]]]))
        let fault = try #require(report.faults.first)
        #expect(tunnelEvidence(fault).map(\.detail) == ["hop 4 is inside an MPLS tunnel (labels 16001/24 or 16002/24)"])
    }

    @Test func labelsOnOneSideOnlyDoNotPutTheFaultInATunnel() throws {
        // The tunnel ends before the faulty hop: hop 3 is its last, hop 5 is plain IP.
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 4, loss: 30, labels: [2: [[Self.inner]], 3: [[Self.inner]]]))
        let fault = try #require(report.faults.first)
        #expect(fault.hop == 4)
        #expect(tunnelEvidence(fault).isEmpty)
    }

    @Test func notesAreNotTunnelled() {
        // Hop 3 alone loses answers: rate limiting, a note; it carries labels all the same.
        let trace = Fixture.trace((1...6).map { ttl in
            var hop = Fixture.hop(ttl, ms: Double(ttl), loss: ttl == 3 ? 40 : 0, destination: ttl == 6)
            hop.mplsStacks = ttl == 3 ? [[Self.inner]] : []
            return hop
        })
        let report = Fixture.analyze([Fixture.ping()], trace: trace)
        #expect(report.faults.isEmpty)
        #expect(!report.notes.isEmpty)
        #expect(report.notes.allSatisfy { tunnelEvidence($0).isEmpty })
    }

    @Test func theReportJSONCarriesTheStacksAndTheTunnelEvidence() throws {
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 4, loss: 30, labels: [4: [[Self.outer, Self.inner]]]))
        let json = try JSONSerialization.jsonObject(with: try RunReport.encoder.encode(report)) as? [String: Any]
        let hops = try #require((json?["trace"] as? [String: Any])?["hops"] as? [[String: Any]])
        let stacks = try #require(hops[3]["mpls_stacks"] as? [[[String: Any]]])
        #expect(stacks.count == 1)
        #expect(stacks[0].map { $0["label"] as? Int } == [16001, 24])
        #expect(stacks[0].map { $0["traffic_class"] as? Int } == [0, 5])
        #expect(stacks[0].map { $0["bottom_of_stack"] as? Bool } == [false, true])
        #expect(stacks[0].map { $0["ttl"] as? Int } == [1, 1])
        let diagnosis = try #require(json?["diagnosis"] as? [[String: Any]])
        let evidence = try #require(diagnosis.first?["evidence"] as? [[String: Any]])
        #expect(evidence.contains { ($0["detail"] as? String) == "hop 4 is inside an MPLS tunnel (labels 16001/24)" && ($0["hop"] as? Int) == 4 })
        // And decodes back to the same labels.
        let decoded = try RunReport.decoder.decode(RunReport.self, from: try RunReport.encoder.encode(report))
        #expect(decoded.trace?.hops[3].mplsStacks == [[Self.outer, Self.inner]])
    }
}
