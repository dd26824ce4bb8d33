import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, item 6: `isp-checker run` on a name with IPv4 and IPv6 addresses (`dual.lab`, the
/// lab's /etc/hosts) checks both families at once and gives one verdict each; a router that
/// forwards no IPv6 (`lab.sh family-drop --family 6`) is "IPv6 broken beyond hop N" while IPv4
/// stays fine. Realistic lab (the routers' ICMP limits, checksum offload).
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
final class FamilyLabTests {
    let lab: Lab

    init() throws { lab = try Lab.up("fam", realistic: true) }
    deinit { lab.down() }

    /// `run --target dual.lab` in the client namespace (no DNS probe: the resolvers it would ask
    /// are outside the lab): exit status, the report it wrote, and the text it printed.
    func check() throws -> (status: Int32, report: RunReport, text: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-fam-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run("/usr/sbin/ip", ["netns", "exec", lab.client, cliPath, "run", "--target", "dual.lab", "--no-dns",
                                              "--output", file], check: false)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        let violations = try ReportSchema.violations(ofJSON: Data(json.utf8))
        #expect(violations.isEmpty, "\(violations)")
        return (result.status, try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8)), result.stdout)
    }

    @Test func aHealthyDualStackTargetIsFineInBothFamilies() throws {
        let (status, report, text) = try check()
        #expect(status == 0, "\(text)")
        let families = try #require(report.families, "no families in the report: \(text)")
        #expect(families.map(\.family) == [.ipv4, .ipv6])
        #expect(families.map(\.address) == [lab.destination4, lab.destination6])
        #expect(families.allSatisfy { $0.faults.isEmpty && $0.destinationReached == true }, "\(families)")
        #expect(families[0].summary.hasPrefix("IPv4: fine") && families[1].summary.hasPrefix("IPv6: fine"), "\(families.map(\.summary))")
        #expect(text.contains("Families ("), "\(text)")
        #expect(report.diagnosis.filter { !$0.informational }.isEmpty, "\(report.diagnosis)")
    }

    @Test func aRouterThatForwardsNoIPv6IsIPv6BrokenBeyondItsHopWhileIPv4IsFine() throws {
        try lab.configure("family-drop", ["--node", "r2", "--family", "6"])
        let (status, report, text) = try check()
        #expect(status != 0, "a broken family is a fault: \(text)")
        let families = try #require(report.families, "no families in the report: \(text)")
        #expect(families.map(\.family) == [.ipv4, .ipv6])
        #expect(families[0].faults.isEmpty && families[0].destinationReached == true, "\(families[0])")
        #expect(families[0].summary.hasPrefix("IPv4: fine"), "\(families[0].summary)")
        #expect(families[1].destinationReached == false && families[1].lastAnsweringHop == 2, "\(families[1])")
        #expect(families[1].summary.hasPrefix("IPv6: broken beyond hop 2"), "\(families[1].summary)")
        #expect(text.contains("IPv6: broken beyond hop 2"), "\(text)")
        let first = try #require(report.diagnosis.first { !$0.informational })
        #expect(first.explanation.hasPrefix("IPv6: "), "\(report.diagnosis)")
        #expect(report.score == families[1].score && report.score > families[0].score, "\(report.score) \(families)")
    }
}
