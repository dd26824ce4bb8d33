import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// A run compared with the target's history, from the same time of day when there is enough of it.
@Suite struct BaselineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)   // 2027-01-15 08:00 UTC
    static let day = 86_400.0

    func run(daysAgo: Double, hoursOffset: Double = 0, avg: Double, loss: Double = 0, target: String = Fixture.target) -> RunReport {
        RunReport(target: target, timestamp: Self.now.addingTimeInterval(-daysAgo * Self.day + hoursOffset * 3600),
                  probes: [Fixture.ping(loss: loss, avg: avg)], score: 0)
    }

    @Test func latencyFarAboveTheMedianIsABaselineNote() throws {
        let history = (1...5).map { run(daysAgo: Double($0), avg: 20) }
        let report = Fixture.analyze([Fixture.ping(avg: 90)], trace: nil, history: history, at: Self.now)
        let note = try #require(report.notes.first { $0.component == DiagnosisComponent.baseline })
        #expect(note.informational)
        #expect(note.explanation == "Latency 90 ms is above the usual 20 ms (median of 5 earlier runs at this time of day)")
        #expect(report.faults.isEmpty)
    }

    @Test func theSameTimeOfDayWindowIsPreferred() throws {
        // Mornings were slow (80 ms); afternoons fast (10 ms). 85 ms in the morning is normal.
        let mornings = (1...4).map { run(daysAgo: Double($0), avg: 80) }
        let afternoons = (1...10).map { run(daysAgo: Double($0), hoursOffset: 6, avg: 10) }
        let morning = Fixture.analyze([Fixture.ping(avg: 85)], trace: nil, history: mornings + afternoons, at: Self.now)
        #expect(morning.notes.isEmpty)
        let baseline = try #require(BaselineComparison.baseline(target: Fixture.target, timestamp: Self.now, history: mornings + afternoons, thresholds: .default))
        #expect(baseline.sameTimeOfDay)
        #expect(baseline.runs == 4)
        #expect(baseline.medianLatencyMilliseconds == 80)
    }

    @Test func withTooFewRunsAtThisTimeTheWholeHistoryIsUsed() throws {
        let history = (1...6).map { run(daysAgo: Double($0), hoursOffset: 6, avg: 10) }
        let baseline = try #require(BaselineComparison.baseline(target: Fixture.target, timestamp: Self.now, history: history, thresholds: .default))
        #expect(!baseline.sameTimeOfDay)
        #expect(baseline.runs == 6)
        let report = Fixture.analyze([Fixture.ping(avg: 85)], trace: nil, history: history, at: Self.now)
        #expect(report.notes.first?.explanation == "Latency 85 ms is above the usual 10 ms (median of 6 earlier runs)")
    }

    @Test func theWindowWrapsAroundMidnight() {
        let a = Date(timeIntervalSince1970: 23.0 * 3600 + 50 * 60)
        let b = Date(timeIntervalSince1970: 5 * Self.day + 10 * 60)
        #expect(BaselineComparison.secondsApartInDay(a, b) == 1200)
    }

    @Test func lossAboveTheUsualIsABaselineNote() {
        let history = (1...5).map { run(daysAgo: Double($0), avg: 20, loss: 0) }
        let report = Fixture.analyze([Fixture.ping(loss: 30, avg: 20)], trace: nil, history: history, at: Self.now)
        #expect(report.notes.contains { $0.component == DiagnosisComponent.baseline && $0.explanation.hasPrefix("Packet loss 30 %") })
    }

    @Test func smallDeviationsAndOtherTargetsAndLaterRunsAreIgnored() {
        let history = (1...5).map { run(daysAgo: Double($0), avg: 20) }
            + (1...5).map { run(daysAgo: Double($0), avg: 1, target: "10.0.0.9") }
            + [run(daysAgo: -1, avg: 1), run(daysAgo: -2, avg: 1), run(daysAgo: -3, avg: 1)]
        // 1.5 × 20 = 30 ms: 29 ms is no deviation; runs of other targets or after this one do not count.
        let report = Fixture.analyze([Fixture.ping(avg: 29)], trace: nil, history: history, at: Self.now)
        #expect(report.notes.isEmpty)
    }

    @Test func tooLittleHistoryGivesNoBaseline() {
        let history = (1...2).map { run(daysAgo: Double($0), avg: 20) }
        #expect(BaselineComparison.baseline(target: Fixture.target, timestamp: Self.now, history: history, thresholds: .default) == nil)
        #expect(Fixture.analyze([Fixture.ping(avg: 140)], trace: nil, history: history, at: Self.now).notes.isEmpty)
    }
}
