import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, items 1 and 5, on real packets in the realistic lab (kernel ICMP limits, checksum
/// offload): the path MTU probe on a clean path, through a black hole and through a smaller link
/// whose routers say "too big"; and `isp-checker lab` with the two new scenarios.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct PathMTULabTests {
    static let options = PathMTUOptions(timeout: .milliseconds(300))

    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    /// The hops of a default trace, as `run` hands them to the probe.
    func hops(_ engine: ProbeEngine, _ target: String) async throws -> [PathMTUResult.Hop] {
        let trace = try await engine.traceroute(target, options: TraceOptions(rounds: 1))
        return trace.hops.compactMap { hop in hop.addresses.first.map { PathMTUResult.Hop(ttl: hop.ttl, address: $0.address) } }
    }

    @Test func aCleanPathCarries1500BytePacketsInOneRound() async throws {
        // realistic: the lab users' paths are.
        let lab = try Lab.up("mtuok", realistic: true)
        defer { lab.down() }
        let engine = try engine(in: lab)
        for target in [lab.destination4, lab.destination6] {
            let result = try await engine.pathMTU(target, options: Self.options)
            #expect(result.pathMTU == 1500, "\(target): \(result.probes)")
            #expect(result.smallestLostSize == nil && !result.isBlackHole, "\(target)")
            #expect(!result.probes.contains { !$0.crossed }, "\(target): \(result.probes)")
        }
    }

    @Test func aBlackHoleGivesTheExactPathMTUAndTheHopLargePacketsDoNotReach() async throws {
        // realistic, with the black hole on top: r2's link to r3 carries 1400 bytes and neither
        // end sends "fragmentation needed" / "packet too big".
        let lab = try Lab.up("mtubh", realistic: true)
        defer { lab.down() }
        try lab.configure("mtu", ["--node", "r2", "--mtu", "1400", "--blackhole"])
        let engine = try engine(in: lab)
        for (target, v6) in [(lab.destination4, false), (lab.destination6, true)] {
            let result = try await engine.pathMTU(target, hops: try await hops(engine, target), options: Self.options)
            #expect(result.isBlackHole, "v6=\(v6): \(result.probes)")
            #expect(result.pathMTU == 1400 && result.smallestLostSize == 1401, "v6=\(v6): \(result.probes)")
            #expect(result.reportedMTU == nil)
            #expect(result.lastHopReached?.ttl == 2 && result.lastHopReached?.address.description == (v6 ? lab.router6(2) : lab.router4(2)))
            #expect(result.firstHopLost?.ttl == 3 && result.firstHopLost?.address.description == (v6 ? lab.router6(3) : lab.router4(3)))
        }
    }

    @Test func aSmallerLinkWhoseRoutersSayTooBigIsNoBlackHole() async throws {
        // realistic: the routers' "fragmentation needed" / "packet too big" are subject to the
        // kernel's ICMP limits, as on real routers.
        let lab = try Lab.up("mtuptb", realistic: true)
        defer { lab.down() }
        try lab.configure("mtu", ["--node", "r2", "--mtu", "1400"])
        let engine = try engine(in: lab)
        for target in [lab.destination4, lab.destination6] {
            let result = try await engine.pathMTU(target, options: Self.options)
            #expect(!result.isBlackHole, "\(target): \(result.probes)")
            #expect(result.reportedMTU == 1400 && result.pathMTU == 1400, "\(target): \(result)")
        }
    }

    func labReport(_ scenario: String) throws -> (status: Int32, report: RunReport) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-h4-\(scenario)-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run(cliPath, ["lab", "--scenario", scenario, "--json", "--output", file], check: false)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try ReportSchema.violations(ofJSON: Data(json.utf8)) == [], "\(scenario)")
        return (result.status, try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8)))
    }

    @Test func theMTUBlackHoleScenarioIsAFaultAtHop3() throws {
        let (status, report) = try labReport("mtu-black-hole")
        #expect(status == 2)
        let fault = try #require(report.faults.first)
        #expect(fault.component == "ISP Access" && fault.hop == 3, "\(report.diagnosis)")
        #expect(fault.explanation.contains("1400 bytes"), "\(fault.explanation)")
        #expect(report.probe("path_mtu")?.details["path_mtu"] == .int(1400))
        #expect(report.probe("http")?.status == .ok, "a small page crosses a black hole")
    }

    @Test func theCGNATScenarioIsADoubleNATNoteAndNoFault() throws {
        let (status, report) = try labReport("cgnat")
        #expect(status == 0)
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        let note = try #require(report.notes.first { $0.component == "CGNAT" })
        #expect(note.hop == 2 && note.explanation.contains("100.64.2.1") && note.explanation.hasPrefix("Double NAT"), "\(note)")
        #expect(report.probe("path_mtu") == nil, "no symptom, no path MTU probe")
    }
}
