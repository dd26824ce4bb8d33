import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// Issue 20, item 6: a check over both families gives one verdict per family, and the report's
/// score and first fault are the broken family's.
@Suite struct FamilyVerdictTests {
    static let v4 = IPAddress("10.99.5.2")!
    static let v6 = IPAddress("fd00:99:5::2")!

    /// The healthy IPv4 run, and an IPv6 run whose trace ends after hop 2 with all its pings lost.
    func reports() -> (RunReport, RunReport) {
        let healthy = Fixture.analyze([Fixture.ping()], trace: Fixture.cleanTrace())
        let broken = Fixture.trace([Fixture.hop(1, ms: 0.5), Fixture.hop(2, ms: 1), Fixture.hop(3, ms: nil), Fixture.hop(4, ms: nil)])
        let v6 = Fixture.analyze([Fixture.ping(loss: 100)], trace: broken)
        return (healthy, v6)
    }

    @Test func theBrokenFamilyIsNamedBeyondItsLastHopAndScoresTheRun() throws {
        let (healthy, broken) = reports()
        #expect(healthy.diagnosis.filter { !$0.informational }.isEmpty, "\(healthy.diagnosis)")
        let brokenFaults = broken.diagnosis.filter { !$0.informational }
        try #require(!brokenFaults.isEmpty, "the IPv6 fixture must have a fault: \(broken.diagnosis)")

        let combined = RunReport.combiningFamilies(primary: healthy, primaryAddress: Self.v4, other: broken, otherAddress: Self.v6)
        #expect(combined.score == broken.score && combined.score > healthy.score)
        #expect(combined.severity == Severity(score: broken.score))
        #expect(combined.probes == healthy.probes, "the probes stay the preferred family's")
        let families = try #require(combined.families)
        #expect(families.map(\.family) == [.ipv4, .ipv6])
        #expect(families[0].summary == "IPv4: fine (score \(DiagnosisEngine.format(healthy.score)))", "\(families[0].summary)")
        #expect(families[0].faults.isEmpty && families[0].address == "10.99.5.2" && families[0].destinationReached == true)
        #expect(families[1].summary.hasPrefix("IPv6: broken beyond hop 2 ("), "\(families[1].summary)")
        #expect(families[1].lastAnsweringHop == 2 && families[1].destinationReached == false)
        #expect(families[1].faults.count == brokenFaults.count)
        // The broken family's faults come first, each explanation led by its family.
        let first = try #require(combined.diagnosis.first { !$0.informational })
        #expect(first.explanation.hasPrefix("IPv6: "), "\(first.explanation)")
        #expect(first.component == brokenFaults[0].component)
        #expect(combined.diagnosis.filter { !$0.informational }.allSatisfy { $0.explanation.hasPrefix("IPv6: ") })
    }

    /// The preferred family (IPv6 here) also ran HTTP, whose URL went out over IPv4 and loaded:
    /// IPv6's verdict is its ping and trace alone, not "reachable, the hops filter probes".
    @Test func aPageLoadedOverTheOtherFamilyDoesNotVouchForThisOne() throws {
        let (healthy, _) = reports()
        let broken = Fixture.trace([Fixture.hop(1, ms: 0.5), Fixture.hop(2, ms: 1), Fixture.hop(3, ms: nil), Fixture.hop(4, ms: nil)])
        let full = Fixture.analyze([Fixture.ping(loss: 100), Fixture.http()], trace: broken)
        let pathOnly = Fixture.analyze([Fixture.ping(loss: 100)], trace: broken)
        let pathFaults = pathOnly.diagnosis.filter { !$0.informational }
        try #require(!pathFaults.isEmpty)
        let combined = RunReport.combiningFamilies(primary: full, primaryAddress: Self.v6, primaryPathOnly: pathOnly,
                                                   other: healthy, otherAddress: Self.v4)
        let families = try #require(combined.families)
        #expect(families[1].family == .ipv6 && families[1].summary.hasPrefix("IPv6: broken beyond hop 2"), "\(families[1].summary)")
        #expect(families[1].faults.count == pathFaults.count)
        let first = try #require(combined.diagnosis.first { !$0.informational })
        #expect(first.explanation == "IPv6: \(pathFaults[0].explanation)")
        #expect(combined.score >= pathOnly.score && combined.score >= full.score)
        #expect(combined.probes.map(\.name) == full.probes.map(\.name), "the report keeps every probe the preferred family ran")
    }

    @Test func theOrderOfTheChecksDoesNotChangeTheVerdicts() throws {
        let (healthy, broken) = reports()
        let a = RunReport.combiningFamilies(primary: healthy, primaryAddress: Self.v4, other: broken, otherAddress: Self.v6)
        let b = RunReport.combiningFamilies(primary: broken, primaryAddress: Self.v6, other: healthy, otherAddress: Self.v4)
        #expect(a.families == b.families)
        #expect(a.score == b.score)
        #expect(b.probes == broken.probes)
    }

    @Test func familiesRoundTripThroughTheReportsJSON() throws {
        let (healthy, broken) = reports()
        let combined = RunReport.combiningFamilies(primary: healthy, primaryAddress: Self.v4, other: broken, otherAddress: Self.v6)
        let json = try RunReport.encoder.encode(combined)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"last_answering_hop\" : 2") && text.contains("\"destination_reached\" : false"), "\(text)")
        let decoded = try RunReport.decoder.decode(RunReport.self, from: json)
        #expect(decoded.families == combined.families)
        // One family: no key at all.
        #expect(!String(decoding: try RunReport.encoder.encode(healthy), as: UTF8.self).contains("\"families\""))
    }

    @Test func aCraftedFamiliesListIsRefusedNamingTheField() throws {
        let (healthy, broken) = reports()
        var combined = RunReport.combiningFamilies(primary: healthy, primaryAddress: Self.v4, other: broken, otherAddress: Self.v6)
        func refusal(_ report: RunReport) -> String? {
            do {
                _ = try RunReport.decoder.decode(RunReport.self, from: RunReport.encoder.encode(report))
                return nil
            } catch { return "\(error)" }
        }
        let families = try #require(combined.families)
        combined.families = families + [families[0]]
        #expect(refusal(combined)?.contains("families.count") == true)
        combined.families = [families[1], families[1]]
        #expect(refusal(combined)?.contains("one verdict per family") == true)
        var outOfRange = families
        outOfRange[1].score = 250
        combined.families = outOfRange
        #expect(refusal(combined)?.contains("families[1].score") == true)
        outOfRange = families
        outOfRange[1].lastAnsweringHop = 100_000
        combined.families = outOfRange
        #expect(refusal(combined)?.contains("families[1].last_answering_hop") == true)
    }
}
