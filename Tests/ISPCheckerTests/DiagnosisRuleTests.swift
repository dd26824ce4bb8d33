import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Every diagnosis rule on hand-written runs: a 4-router path (hop 1 the gateway, hops 2–3 the
/// ISP's access network by default, hop 4 beyond it) to the destination at hop 5.
@Suite struct DiagnosisRuleTests {
    typealias C = DiagnosisComponent

    /// Hops 1…5 with `loss` percent from `lossFrom` on and `extra` ms from `slowFrom` on.
    func path(lossFrom: Int = 99, loss: Double = 0, slowFrom: Int = 99, extra: Double = 0,
              lossAt: [Int: Double] = [:]) -> TraceResult {
        Fixture.trace((1...5).map { ttl in
            Fixture.hop(ttl, ms: Double(ttl) * 0.5 + (ttl >= slowFrom ? extra : 0),
                        loss: lossAt[ttl] ?? (ttl >= lossFrom ? loss : 0), destination: ttl == 5)
        })
    }

    @Test func aHealthyPathHasNoDiagnosis() {
        let report = Fixture.analyze([Fixture.ping(), Fixture.dns(outcome: "ok"), Fixture.http()], trace: path())
        #expect(report.diagnosis.isEmpty)
    }

    @Test func aSilentGatewayWithNothingBeyondIsTheLocalNetwork() throws {
        let dark = Fixture.trace((1...6).map { Fixture.hop($0, ms: nil) })
        let report = Fixture.analyze([Fixture.ping(loss: 100)], trace: dark)
        let first = try #require(report.faults.first)
        #expect(first.component == C.localNetwork)
        #expect(first.hop == 1)
        #expect(report.faults.count == 1)
        // Nothing works at all: a complete outage, located at home.
        #expect(report.score == 100)
    }

    @Test func lossStartingAtTheGatewayIsTheLocalNetwork() throws {
        let report = Fixture.analyze([Fixture.ping(loss: 20)], trace: path(lossFrom: 1, loss: 20))
        let first = try #require(report.faults.first)
        #expect(first.component == C.localNetwork)
        #expect(first.hop == 1)
    }

    @Test(arguments: [2, 3])
    func lossStartingJustPastTheGatewayIsISPAccess(_ hop: Int) throws {
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: hop, loss: 30))
        let first = try #require(report.faults.first)
        #expect(first.component == C.ispAccess)
        #expect(first.hop == hop)
    }

    @Test func lossFromHopNThatPersistsIsPeeringTransitAtHopN() throws {
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 4, loss: 30))
        let first = try #require(report.faults.first)
        #expect(first.component == C.peeringTransit)
        #expect(first.hop == 4)
        #expect(first.confidence == 0.9)
        #expect(first.explanation == "Significant packet loss detected at hop 4, persisting to the destination")
        #expect(first.suggestedAction == "Escalate to ISP with traceroute evidence")
        #expect(report.notes.isEmpty)
    }

    @Test func accessHopsAreConfigurable() throws {
        let narrow = HealthThresholds(path: .init(accessHops: 1))
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 3, loss: 30), thresholds: narrow)
        #expect(report.faults.first?.component == C.peeringTransit)
        #expect(report.faults.first?.hop == 3)
    }

    @Test func lossAtOneIntermediateHopThatLaterHopsDoNotShareIsRateLimitingNotAFault() throws {
        let report = Fixture.analyze([Fixture.ping()], trace: path(lossAt: [2: 60]))
        #expect(report.faults.isEmpty)
        let note = try #require(report.notes.first)
        #expect(note.component == C.icmpRateLimiting)
        #expect(note.informational)
        #expect(note.hop == 2)
        #expect(report.score < 20)
    }

    @Test func aSilentIntermediateRouterIsANoteNotAFault() throws {
        var trace = path()
        trace.hops[2] = Fixture.hop(3, ms: nil)
        let report = Fixture.analyze([Fixture.ping()], trace: trace)
        #expect(report.faults.isEmpty)
        #expect(report.notes.map(\.hop) == [3])
    }

    @Test func rateLimitingBeforeRealLossIsANoteAndTheLossIsTheFault() throws {
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: path(lossFrom: 4, loss: 30, lossAt: [2: 70]))
        #expect(report.faults.first?.component == C.peeringTransit)
        #expect(report.faults.first?.hop == 4)
        #expect(report.notes.map(\.component) == [C.icmpRateLimiting])
        #expect(report.notes.first?.hop == 2)
    }

    @Test func traceLossAtTheEndThatPingDoesNotSeeIsRateLimiting() throws {
        let report = Fixture.analyze([Fixture.ping(loss: 0)], trace: path(lossFrom: 4, loss: 40))
        #expect(report.faults.isEmpty)
        #expect(report.notes.first?.component == C.icmpRateLimiting)
        #expect(report.notes.first?.hop == 4)
    }

    @Test func aLatencyStepPastTheAccessNetworkIsTransitAtThatHop() throws {
        let report = Fixture.analyze([Fixture.ping(avg: 182)], trace: path(slowFrom: 4, extra: 180))
        let first = try #require(report.faults.first)
        #expect(first.component == C.transit)
        #expect(first.hop == 4)
        #expect(first.explanation == "High latency detected in transit path at hop 4")
        #expect(first.suggestedAction == "Investigate transit provider performance")
        #expect(report.score >= 40 && report.score <= 70)
    }

    @Test func aLatencyStepInTheAccessNetworkIsISPAccess() throws {
        let report = Fixture.analyze([Fixture.ping(avg: 200)], trace: path(slowFrom: 2, extra: 198))
        #expect(report.faults.first?.component == C.ispAccess)
        #expect(report.faults.first?.hop == 2)
    }

    @Test func aSlowRouterWhoseDelayLaterHopsDoNotShareIsNoStep() {
        var trace = path(slowFrom: 5, extra: 170)
        trace.hops[2] = Fixture.hop(3, ms: 400)
        let report = Fixture.analyze([Fixture.ping(avg: 172)], trace: trace)
        #expect(report.faults.first?.component == C.transit)
        #expect(report.faults.first?.hop == 5)
    }

    @Test func withTwoEqualStepsTheNearerHopWins() throws {
        // +100 ms at hop 2 and again at hop 4: equal rises, the first one is reported.
        let trace = Fixture.trace((1...5).map { ttl in
            Fixture.hop(ttl, ms: 1 + (ttl >= 2 ? 100 : 0) + (ttl >= 4 ? 100 : 0), destination: ttl == 5)
        })
        let report = Fixture.analyze([Fixture.ping(avg: 201)], trace: trace)
        #expect(report.faults.first?.hop == 2)
    }

    @Test func latencyBelowTheWarnThresholdIsNoFaultEvenWithAStep() {
        let report = Fixture.analyze([Fixture.ping(avg: 42)], trace: path(slowFrom: 3, extra: 40))
        #expect(report.faults.isEmpty)
    }

    @Test func dnsFailingWhileIPWorksIsDNSWithSwitchResolvers() throws {
        let report = Fixture.analyze([Fixture.ping(), Fixture.dns(outcome: "timeout", error: "timeout: no nameservers responded")], trace: path())
        let first = try #require(report.faults.first)
        #expect(first.component == C.dns)
        #expect(first.confidence == 0.95)
        #expect(first.suggestedAction == "Switch to alternative DNS resolvers")
        #expect(first.evidence.map(\.probe) == ["dns", "ping"])
        #expect(report.score > 60)
    }

    @Test func dnsFailingWithoutAnyReachabilityDataIsLessCertain() throws {
        let report = Fixture.analyze([Fixture.dns(outcome: "nxdomain", error: "NXDOMAIN")], trace: nil)
        #expect(report.faults.first?.component == C.dns)
        #expect(report.faults.first?.confidence == 0.6)
    }

    @Test func aResolverFailingWhileAnotherAnswersIsAWeakerDNSFinding() {
        let report = Fixture.analyze([Fixture.ping(), Fixture.dns(outcome: "ok", extra: ["failed_resolvers": .strings(["10.99.9.9"]), "resolver": .string("10.99.9.10")])], trace: path())
        #expect(report.faults.first?.component == C.dns)
        #expect(report.faults.first?.confidence == 0.6)
    }

    @Test func httpFailingWhileThePathReachesTheTargetIsTheDestination() throws {
        let report = Fixture.analyze([Fixture.ping(), Fixture.http(statusCode: 503, outcome: "http_error")], trace: path())
        let first = try #require(report.faults.first)
        #expect(first.component == C.destination)
        #expect(first.evidence.first?.detail == "HTTP 503")
        #expect(first.hop == 5)
    }

    @Test func tcpRefusedWhileThePathWorksIsTheDestination() {
        let report = Fixture.analyze([Fixture.ping(), Fixture.tcp(outcome: "refused")], trace: path())
        #expect(report.faults.first?.component == C.destination)
    }

    @Test func theRouterBeforeTheTargetReportingHostUnreachableIsTheDestination() throws {
        let trace = Fixture.trace((1...4).map { Fixture.hop($0, ms: 1, unreachable: $0 == 4 ? UnreachableCode(family: .ipv4, code: 1) : nil) },
                                  stop: .unreachable(UnreachableCode(family: .ipv4, code: 1)))
        let report = Fixture.analyze([Fixture.ping(loss: 100)], trace: trace)
        #expect(report.faults.first?.component == C.destination)
        #expect(report.faults.first?.hop == 4)
    }

    @Test func aTargetSilentWhereEarlierRunsReachedItIsTheDestination() throws {
        let history = [Fixture.analyze([Fixture.ping()], trace: path(), at: Date(timeIntervalSince1970: 1_799_990_000))]
        var silent = path()
        silent.hops[4] = Fixture.hop(5, ms: nil)
        silent.hops += (6...8).map { Fixture.hop($0, ms: nil) }
        silent.stop = .maxHopsReached
        let report = Fixture.analyze([Fixture.ping(loss: 100), Fixture.http(statusCode: nil, outcome: "timeout")], trace: silent, history: history)
        #expect(report.faults.first?.component == C.destination)
        #expect(report.faults.first?.hop == 5)
        // Without the history, the same run points at hop 5 but cannot tell the target from the last link.
        let alone = Fixture.analyze([Fixture.ping(loss: 100), Fixture.http(statusCode: nil, outcome: "timeout")], trace: silent)
        #expect(alone.faults.first?.component == C.peeringTransit)
        #expect(alone.faults.first?.hop == 5)
        #expect(alone.faults.first?.confidence == 0.75)
    }

    @Test func everythingFailingPastTheGatewayIsACompleteUpstreamOutage() throws {
        let dark = Fixture.trace([Fixture.hop(1, ms: 0.5)] + (2...8).map { Fixture.hop($0, ms: nil) })
        let report = Fixture.analyze([Fixture.ping(loss: 100), Fixture.dns(outcome: "network_unreachable", error: "Network unreachable")], trace: dark)
        let first = try #require(report.faults.first)
        #expect(first.component == C.upstream)
        #expect(first.confidence == 0.98)
        #expect(first.explanation == "Complete connectivity failure detected: the path goes dark after hop 1")
        #expect(first.suggestedAction == "Verify ISP status and local network equipment")
        #expect(first.hop == 2)
        // The outage explains the DNS failure too: no separate DNS fault.
        #expect(report.faults.count == 1)
        #expect(report.score == 100)
    }

    @Test func theGatewayAnsweringNetworkUnreachableWhileAllFailsIsAnUpstreamOutageAtHop1() {
        let trace = Fixture.trace([Fixture.hop(1, ms: 0.5, unreachable: UnreachableCode(family: .ipv4, code: 0))],
                                  stop: .unreachable(UnreachableCode(family: .ipv4, code: 0)))
        let report = Fixture.analyze([Fixture.ping(loss: 100)], trace: trace)
        #expect(report.faults.first?.component == C.upstream)
        #expect(report.faults.first?.hop == 1)
        #expect(report.score == 100)
    }

    @Test func anOutageNeedsEveryProbeToFail() {
        let dark = Fixture.trace([Fixture.hop(1, ms: 0.5)] + (2...8).map { Fixture.hop($0, ms: nil) })
        let report = Fixture.analyze([Fixture.ping(loss: 100), Fixture.dns(outcome: "ok")], trace: dark)
        #expect(report.faults.first?.component == C.ispAccess)
        #expect(report.faults.first?.hop == 2)
        #expect(report.score < 100)
    }

    // MARK: Missing probes

    @Test func noProbesIsAMeasurementNoteAndScoreZero() {
        let report = HealthAnalyzer().analyze(target: Fixture.target, probes: [], trace: nil)
        #expect(report.faults.isEmpty)
        #expect(report.notes.first?.component == C.measurement)
        #expect(report.score == 0)
    }

    @Test func lossWithoutATraceIsUpstreamWithLowConfidence() {
        let report = Fixture.analyze([Fixture.ping(loss: 30)], trace: nil)
        #expect(report.faults.first?.component == C.upstream)
        #expect(report.faults.first?.confidence == 0.4)
        #expect(report.faults.first?.hop == nil)
    }

    @Test func highLatencyWithoutATraceIsTransitWithLowConfidence() {
        let report = Fixture.analyze([Fixture.ping(avg: 200)], trace: nil)
        #expect(report.faults.first?.component == C.transit)
        #expect(report.faults.first?.confidence == 0.4)
    }

    @Test func aTraceWithoutAPingStillLocatesLoss() {
        let report = Fixture.analyze([], trace: path(lossFrom: 4, loss: 30))
        #expect(report.faults.first?.component == C.peeringTransit)
        #expect(report.faults.first?.hop == 4)
        #expect(report.faults.first?.confidence == 0.7)
    }

    @Test func pingLossThatNoHopShowsIsUpstreamAskingForMoreRounds() {
        let report = Fixture.analyze([Fixture.ping(loss: 20)], trace: path())
        #expect(report.faults.first?.component == C.upstream)
        #expect(report.faults.first?.confidence == 0.5)
    }

    // MARK: Ties and order

    @Test func faultsComeMostConfidentFirstAndNotesLast() {
        // Loss from hop 4 (0.9), a latency step at hop 4 (0.8), DNS failing on that lossy path
        // (0.5: the loss may be what fails it), rate limiting at hop 2.
        let trace = path(lossFrom: 4, loss: 30, slowFrom: 4, extra: 180, lossAt: [2: 60])
        let report = Fixture.analyze([Fixture.ping(loss: 30, avg: 182), Fixture.dns(outcome: "timeout")], trace: trace)
        #expect(report.diagnosis.map(\.component) == [C.peeringTransit, C.transit, C.dns, C.icmpRateLimiting])
        #expect(report.diagnosis.map(\.informational) == [false, false, false, true])
    }

    @Test func equallyConfidentFaultsKeepRuleOrder() {
        // Two faults of the same confidence come out in the order their rules ran.
        let faults = [Diagnosis(component: "A", confidence: 0.8, explanation: "", suggestedAction: ""),
                      Diagnosis(component: "B", confidence: 0.9, explanation: "", suggestedAction: ""),
                      Diagnosis(component: "C", confidence: 0.8, explanation: "", suggestedAction: "")]
        #expect(DiagnosisEngine.ordered(faults).map(\.component) == ["B", "A", "C"])
    }
}

@Suite struct DNSWithLossTests {
    @Test func aDNSTimeoutOnALossyPathIsNotBlamedOnTheResolverFirst() {
        let ping = ProbeReport(name: "ping", status: .crit, details: ["packets_sent": .int(20), "packets_received": .int(12), "packet_loss": .double(40),
                                                                       "latency_avg_ms": .double(0.2)])
        let dns = ProbeReport(name: "dns", status: .crit, details: ["outcome": .string("timeout")], error: "timeout: no nameservers responded")
        let report = HealthAnalyzer().analyze(target: "10.99.5.2", probes: [ping, dns], trace: nil)
        let dnsDiagnosis = report.diagnosis.first { $0.component == "DNS" }
        #expect(dnsDiagnosis?.confidence == 0.5)
        #expect(dnsDiagnosis?.suggestedAction.hasPrefix("Fix the packet loss first") == true)
    }
}
