import Foundation
import ISPChecker
import TestSupport
import Testing

/// End to end: real pings and traceroutes through a four-router lab (hop 1 the gateway, hops
/// 2–3 the ISP's access network, hop 4 beyond it, the destination at hop 5), analysed into a run
/// report. Each scenario asserts the component, the hop and a score inside the runbook's band,
/// and that the report's JSON conforms to docs/report.schema.json. Needs root.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct DiagnosisLabTests {
    static let routers = 4
    typealias C = DiagnosisComponent

    /// The health check's own defaults (ten trace rounds half a second apart, which the kernel's
    /// ICMP limits allow; echoes to each hop when something is lost), with the ping a test may
    /// change.
    struct Probing {
        var pingCount = 30
        var pingInterval: Duration = .milliseconds(20)
        var pingTimeout: Duration = .seconds(1)
        var trace = HealthCheckOptions.defaultTrace
    }

    /// Checks `target` from the lab's client as `isp-checker run` does (ping, trace, and the
    /// echoes to each hop when the check calls for them) and analyses the results.
    func check(_ lab: Lab, target: String? = nil, probing: Probing = Probing()) async throws -> RunReport {
        let engine = try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
        let destination = target ?? lab.destination4
        let options = HealthCheckOptions(target: destination, pingCount: probing.pingCount, pingInterval: probing.pingInterval,
                                         pingTimeout: probing.pingTimeout, trace: probing.trace)
        let report = try await HealthChecker(engine: engine).check(options)
        let violations = try ReportSchema.violations(of: report)
        #expect(violations.isEmpty, "schema: \(violations)")
        return report
    }

    func describe(_ report: RunReport) -> String {
        let hops = report.trace?.hops.map { "\($0.ttl):\($0.lossPercent)%/\($0.avgMilliseconds ?? -1)ms" }.joined(separator: " ") ?? "-"
        return "score \(report.score); \(report.diagnosis.map { "\($0.component)@\($0.hop ?? 0) \($0.confidence)" }); hops \(hops); ping \(report.probe("ping")?.details ?? [:])"
    }

    @Test func aHealthyPathHasNoFaultAndScoresP4() async throws {
        // realistic: a diagnosis must hold where users run it (kernel ICMP limits, checksum offload).
        let lab = try Lab.up("dghealthy", routers: Self.routers, realistic: true)
        defer { lab.down() }
        let report = try await check(lab)
        #expect(report.faults.isEmpty, "\(describe(report))")
        #expect(report.score < 20, "\(describe(report))")
        #expect(report.severity == .p4)
        #expect(report.probes.map(\.status) == [.ok, .ok])
    }

    @Test func delayInTransitIsTransitLatencyAtThatHop() async throws {
        // realistic: a diagnosis must hold where users run it (kernel ICMP limits, checksum offload).
        let lab = try Lab.up("dgdelay", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // The link r3 → r4 holds every frame 90 ms each way: hop 4 on sees 180 ms more.
        try lab.configure("delay", ["--node", "r4", "--side", "left", "--ms", "90"])
        var probing = Probing()
        probing.pingInterval = .milliseconds(50)
        probing.trace.timeout = .seconds(1)
        let report = try await check(lab, probing: probing)
        let first = try #require(report.faults.first, "\(describe(report))")
        #expect(first.component == C.transit, "\(describe(report))")
        #expect(first.hop == 4, "\(describe(report))")
        #expect(report.score >= 40 && report.score <= 70, "\(describe(report))")
        #expect(report.probe("ping")?.status == .warn)
    }

    @Test func lossFromHopNToTheDestinationIsPeeringTransitAtHopN() async throws {
        // realistic: a diagnosis must hold where users run it; loss must not be confused with the kernel's ICMP limits.
        let lab = try Lab.up("dgloss", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // r3 drops 30 % of what it forwards toward the destination: probes for TTL ≥ 4 and pings.
        try lab.configure("loss", ["--node", "r3", "--percent", "30", "--dir", "forward"])
        var probing = Probing()
        probing.pingCount = 60
        let report = try await check(lab, probing: probing)
        // Located by the echoes to each hop, which the check sent because ping lost packets.
        #expect(report.trace?.hops.allSatisfy { $0.echoSent == 100 } == true, "\(describe(report))")
        let first = try #require(report.faults.first, "\(describe(report))")
        #expect(first.component == C.peeringTransit, "\(describe(report))")
        #expect(first.hop == 4, "\(describe(report))")
        #expect(report.score >= 30 && report.score <= 80, "\(describe(report))")
        #expect(report.notes.isEmpty, "\(describe(report))")
    }

    @Test func icmpRateLimitingAtAnIntermediateHopIsANoteNotAFault() async throws {
        // realistic: the nft limit on r2 on top of every node's kernel limits, as on a real path.
        let lab = try Lab.up("dglimit", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // r2 sends at most one ICMP error a second; it forwards everything.
        try lab.configure("ratelimit", ["--node", "r2", "--rate", "1/second", "--burst", "1"])
        let report = try await check(lab)
        #expect(report.faults.isEmpty, "\(describe(report))")
        let note = try #require(report.notes.first, "\(describe(report))")
        #expect(note.component == C.icmpRateLimiting)
        #expect(note.hop == 2)
        #expect(report.score < 20, "\(describe(report))")
    }

    @Test func everythingDroppedPastTheGatewayIsACompleteUpstreamOutage() async throws {
        // realistic: a diagnosis must hold where users run it (kernel ICMP limits, checksum offload).
        let lab = try Lab.up("dgoutage", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // The gateway answers for itself but forwards nothing (`lab.sh loss` stops at 99.99 %).
        try lab.exec("r1", ["nft", "add table inet dg_blackhole"])
        try lab.exec("r1", ["nft", "add chain inet dg_blackhole forward { type filter hook forward priority 0; policy drop; }"])
        var probing = Probing()
        probing.pingCount = 5
        probing.pingInterval = .milliseconds(100)
        probing.pingTimeout = .milliseconds(500)
        probing.trace = TraceOptions(method: .udp, maxHops: 8, rounds: 1, timeout: .milliseconds(300))
        let report = try await check(lab, probing: probing)
        let first = try #require(report.faults.first, "\(describe(report))")
        #expect(first.component == C.upstream, "\(describe(report))")
        #expect(first.confidence == 0.98)
        #expect(first.hop == 2, "\(describe(report))")
        #expect(report.score == 100)
        #expect(report.severity == .p1)
    }

    @Test func aGatewayWithNoRouteOnwardIsACompleteUpstreamOutageAtHop1() async throws {
        // realistic: a diagnosis must hold where users run it (kernel ICMP limits, checksum offload).
        let lab = try Lab.up("dgnoroute", routers: Self.routers, realistic: true)
        defer { lab.down() }
        // r1 answers network unreachable (!N) for 10.66.0.0/16.
        var probing = Probing()
        probing.pingCount = 5
        probing.pingInterval = .milliseconds(100)
        probing.pingTimeout = .milliseconds(500)
        let report = try await check(lab, target: "10.66.0.1", probing: probing)
        let first = try #require(report.faults.first, "\(describe(report))")
        #expect(first.component == C.upstream, "\(describe(report))")
        #expect(first.hop == 1, "\(describe(report))")
        #expect(report.score == 100)
    }

    /// Rate limiting and real loss together, silent hops next to a lossy one, a destination that
    /// limits its own answers, loss on the way back only: each in the realistic lab, where every
    /// node also keeps the kernel's ICMP limits. `faults` are lab.sh commands (node, arguments).
    struct Mix: Sendable, CustomTestStringConvertible {
        var name: String
        var faults: [(String, [String])]
        /// The fault's component and hop, or nil for none.
        var expected: (component: String, hop: Int)?
        var testDescription: String { name }
    }

    static let mixes: [Mix] = [
        Mix(name: "rate limiting at hop 2, loss from hop 4",
            faults: [("ratelimit", ["--node", "r2", "--rate", "1/second", "--burst", "1"]), ("loss", ["--node", "r3", "--percent", "30", "--dir", "forward"])],
            expected: (C.peeringTransit, 4)),
        Mix(name: "loss from hop 2, rate limiting at hop 4",
            faults: [("loss", ["--node", "r1", "--percent", "30", "--dir", "forward"]), ("ratelimit", ["--node", "r4", "--rate", "1/second", "--burst", "1"])],
            expected: (C.ispAccess, 2)),
        Mix(name: "rate limiting at hop 3 just before loss from hop 4",
            faults: [("ratelimit", ["--node", "r3", "--vendor"]), ("loss", ["--node", "r3", "--percent", "30", "--dir", "forward"])],
            expected: (C.peeringTransit, 4)),
        Mix(name: "a silent hop 1 before loss from hop 4",
            faults: [("silent", ["--node", "r1"]), ("loss", ["--node", "r3", "--percent", "30", "--dir", "forward"])],
            expected: (C.peeringTransit, 4)),
        Mix(name: "loss from hop 3, a silent hop 4 after it",
            faults: [("loss", ["--node", "r2", "--percent", "30", "--dir", "forward"]), ("silent", ["--node", "r4"])],
            expected: (C.ispAccess, 3)),
        Mix(name: "the destination limits its answers",
            faults: [("ratelimit", ["--node", "d", "--rate", "1/second", "--burst", "1"])],
            expected: nil),
        Mix(name: "loss from hop 4 on the way back only",
            faults: [("loss", ["--node", "r3", "--percent", "30", "--dir", "reverse"])],
            expected: (C.peeringTransit, 4)),
    ]

    @Test(arguments: mixes)
    func lossIsLocatedWhereItStartsWhateverLimitsICMP(_ mix: Mix) async throws {
        // realistic: the point is that the kernel's and the routers' ICMP limits do not move the verdict.
        let lab = try Lab.up("dgmix", routers: Self.routers, realistic: true)
        defer { lab.down() }
        for (command, arguments) in mix.faults { try lab.configure(command, arguments) }
        let report = try await check(lab)
        if let expected = mix.expected {
            let first = try #require(report.faults.first, "\(mix.name): \(describe(report))")
            #expect(first.component == expected.component, "\(mix.name): \(describe(report))")
            #expect(first.hop == expected.hop, "\(mix.name): \(describe(report))")
            #expect(first.explanation.contains("at hop \(expected.hop)"), "\(mix.name): \(first.explanation)")
        } else {
            #expect(report.faults.isEmpty, "\(mix.name): \(describe(report))")
            #expect(report.score < 20, "\(mix.name): \(describe(report))")
        }
    }
}
