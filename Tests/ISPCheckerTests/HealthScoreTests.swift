import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// The score runs the runbook's way, 0 healthy … 100 complete outage, inside its bands.
@Suite struct HealthScoreTests {
    func score(_ probes: [ProbeReport], trace: TraceResult? = Fixture.cleanTrace()) -> Double {
        Fixture.analyze(probes, trace: trace).score
    }

    @Test func aHealthyRunScoresZero() {
        #expect(score([Fixture.ping(), Fixture.dns(outcome: "ok"), Fixture.http()]) == 0)
        #expect(Fixture.analyze([Fixture.ping()], trace: Fixture.cleanTrace()).severity == .p4)
    }

    @Test(arguments: [151.0, 185.3, 300, 450, 2000])
    func highLatencyScoresBetween40And70(_ latency: Double) {
        let value = score([Fixture.ping(avg: latency)])
        #expect(value >= 40 && value <= 70, "\(latency) ms → \(value)")
    }

    @Test func latencyPenaltyRisesWithLatency() {
        #expect(score([Fixture.ping(avg: 200)]) < score([Fixture.ping(avg: 400)]))
        #expect(score([Fixture.ping(avg: 2000)]) == 70)
    }

    @Test(arguments: [2.0, 5, 10, 30, 60, 90])
    func lossScoresBetween30And80ByPercentage(_ loss: Double) {
        let value = score([Fixture.ping(loss: loss)])
        #expect(value >= 30 && value <= 80, "\(loss) % → \(value)")
    }

    @Test func lossPenaltyFollowsTheFormula() {
        let ping = HealthThresholds.default.ping
        #expect(HealthScore.lossPenalty(percent: 1.9, thresholds: ping) == 0)
        #expect(HealthScore.lossPenalty(percent: 2, thresholds: ping) == 30)
        #expect(HealthScore.lossPenalty(percent: 10, thresholds: ping) == 40)
        #expect(HealthScore.lossPenalty(percent: 55, thresholds: ping) == 60)
        #expect(HealthScore.lossPenalty(percent: 100, thresholds: ping) == 80)
    }

    @Test func criticalDNSScoresAbove60() {
        let value = score([Fixture.ping(), Fixture.dns(outcome: "timeout", error: "timeout: no nameservers responded")])
        #expect(value > 60)
        #expect(value <= 80)
    }

    @Test func aCompleteOutageScores100AndIsP1() {
        let dark = Fixture.trace([Fixture.hop(1, ms: 0.5)] + (2...8).map { Fixture.hop($0, ms: nil) })
        let report = Fixture.analyze([Fixture.ping(loss: 100), Fixture.dns(outcome: "network_unreachable", error: "Network unreachable")], trace: dark)
        #expect(report.score == 100)
        #expect(report.severity == .p1)
    }

    @Test func otherTroubleAddsATenthOfItsPenalty() {
        // Loss 30 % (48.9) plus a slow HTTP answer (warn, 25): 48.9 + 2.5.
        let value = score([Fixture.ping(loss: 30), Fixture.http(extra: ["ttfb_ms": .double(1500)])])
        #expect(value == 51.4)
    }

    @Test func theTracerouteCountsOnlyWithoutAPing() {
        let lossy = Fixture.trace((1...5).map { Fixture.hop($0, ms: 5, loss: $0 >= 3 ? 30 : 0, destination: $0 == 5) })
        #expect(score([Fixture.ping(loss: 30)], trace: lossy) == score([Fixture.ping(loss: 30)], trace: nil))
        let withoutPing = score([], trace: lossy)
        #expect(withoutPing == 40)
    }

    @Test func severityBandsFollowTheRunbook() {
        #expect(Severity(score: 100) == .p1)
        #expect(Severity(score: 80.1) == .p1)
        #expect(Severity(score: 80) == .p2)
        #expect(Severity(score: 40) == .p2)
        #expect(Severity(score: 39.9) == .p3)
        #expect(Severity(score: 20) == .p3)
        #expect(Severity(score: 19.9) == .p4)
        #expect(Severity(score: 0) == .p4)
    }
}
