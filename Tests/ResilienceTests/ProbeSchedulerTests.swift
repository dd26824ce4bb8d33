import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

@Suite struct AdaptiveIntervalTests {
    @Test func theDefaultIntervalsAreTheRunbooks() {
        let intervals = ProbeIntervals.default
        #expect(intervals[.critical] == .seconds(60))
        #expect(intervals[.important] == .seconds(300))
        #expect(intervals[.normal] == .seconds(900))
        #expect(intervals[.background] == .seconds(3600))
    }

    @Test(arguments: [
        // (score, base s, expected s): the runbook's bands and their floors and cap.
        (100.0, 900, 225), (81, 900, 225), (80, 900, 450), (41, 900, 450), (40, 900, 900),
        (21, 900, 900), (20, 900, 1800), (0, 900, 1800),
        (90, 60, 30), (50, 60, 60), (30, 60, 60), (0, 60, 120),
        (90, 3600, 900), (0, 3600, 3600), (0, 2000, 3600), (90, 100, 30), (50, 100, 60),
    ] as [(Double, Int64, Int64)])
    func followsTheRunbooksFormula(score: Double, baseSeconds: Int64, expectedSeconds: Int64) {
        #expect(AdaptiveInterval.interval(score: score, base: .seconds(baseSeconds)) == .seconds(expectedSeconds))
    }

    @Test func aQuarterOfTheBaseIsExactNotRoundedToSeconds() {
        #expect(AdaptiveInterval.interval(score: 90, base: .seconds(300)) == .seconds(75))
        #expect(AdaptiveInterval.interval(score: 90, base: .seconds(301)) == .milliseconds(75_250))
    }
}

/// The scheduler on a manual clock.
@Suite struct ProbeSchedulerTests {
    let clock = ManualClock()

    /// Runs `scheduler.run` in a task, logging the reports it hands over.
    func start(_ scheduler: ProbeScheduler<ManualClock>, reports: Log<RunReport>, delivered: Tally) -> Task<Void, Never> {
        Task {
            await scheduler.run { report in
                reports.append(report)
                delivered.add()
            }
        }
    }

    @Test(arguments: [(90.0, 225), (50, 450), (30, 900), (0, 1800)] as [(Double, Int64)])
    func theNextCheckIsDueOneAdaptiveIntervalAfterThePreviousStarted(score: Double, expectedSeconds: Int64) async {
        let target = ProbeTarget("10.0.0.1", class: .normal)
        let scheduler = ProbeScheduler(targets: [target], clock: clock) { target in report(for: target, score: score) }
        let reports = Log<RunReport>()
        let delivered = Tally()
        let task = start(scheduler, reports: reports, delivered: delivered)
        await delivered.wait(forAtLeast: 1)
        await clock.waitForSleepers(atLeast: 1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(expectedSeconds)))
        clock.advance(by: .seconds(expectedSeconds))
        await delivered.wait(forAtLeast: 2)
        task.cancel()
        await task.value
        #expect(reports.all.count == 2)
    }

    @Test func withoutAdaptationEachClassKeepsItsBaseInterval() async {
        let targets = TargetClass.allCases.map { ProbeTarget("t-\($0)", class: $0) }
        let scheduler = ProbeScheduler(targets: targets, adaptive: false, clock: clock) { report(for: $0, score: 95) }
        let delivered = Tally()
        let task = start(scheduler, reports: Log(), delivered: delivered)
        await delivered.wait(forAtLeast: 4)
        await clock.waitForSleepers(atLeast: 4)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(60)))
        clock.advance(by: .seconds(60))
        await delivered.wait(forAtLeast: 5)
        await clock.waitForSleepers(atLeast: 4)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(120)))
        task.cancel()
        await task.value
    }

    @Test func everyTargetIsCheckedAndItsReportHandedOver() async {
        let targets = (1...25).map { ProbeTarget("10.0.0.\($0)", class: .important) }
        let scheduler = ProbeScheduler(targets: targets, maxConcurrentRuns: 4, clock: clock) { report(for: $0, score: 10) }
        var names: Set<String> = []
        for await report in scheduler {
            names.insert(report.target)
            if names.count == targets.count { break }
        }
        #expect(names == Set(targets.map(\.name)))
    }

    @Test func neverRunsMoreChecksAtOnceThanItsLimit() async throws {
        let targets = (1...20).map { ProbeTarget("10.0.1.\($0)", class: .critical) }
        let inside = Tally()
        let gate = Gate()
        let scheduler = ProbeScheduler(targets: targets, maxConcurrentRuns: 3, clock: clock) { target in
            inside.add()
            await gate.wait()
            inside.add(-1)
            return report(for: target, score: 0)
        }
        let delivered = Tally()
        let task = start(scheduler, reports: Log(), delivered: delivered)
        await inside.wait(forAtLeast: 3)
        // Give the 17 waiting targets every chance to break the limit before the checks end.
        for _ in 0..<100 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(20))
        gate.open()
        await delivered.wait(forAtLeast: 20)
        task.cancel()
        await task.value
        #expect(inside.peak == 3)
    }

    @Test func cancellingRunStopsEveryCheckAndEveryWait() async {
        let targets = (1...6).map { ProbeTarget("10.0.2.\($0)", class: .normal) }
        let started = Tally()
        let cancelled = Tally()
        let clock = self.clock
        let scheduler = ProbeScheduler(targets: targets, maxConcurrentRuns: 2, clock: clock) { target in
            started.add()
            // A check that would take an hour unless cancelled.
            do { try await clock.sleep(until: clock.now.advanced(by: .seconds(3600)), tolerance: nil) } catch { cancelled.add() }
            return report(for: target, score: 0)
        }
        let delivered = Tally()
        let task = start(scheduler, reports: Log(), delivered: delivered)
        await started.wait(forAtLeast: 2)
        task.cancel()
        await task.value   // returns only once every target's loop has ended
        #expect(started.value == 2)
        #expect(cancelled.value == 2)
        #expect(delivered.value == 0, "a check interrupted by cancellation hands over no report")
        #expect(clock.sleeperCount == 0)
    }

    @Test func breakingOutOfTheSequenceStopsTheChecks() async {
        let targets = (1...4).map { ProbeTarget("10.0.3.\($0)", class: .critical) }
        let running = Tally()
        let clock = self.clock
        let scheduler = ProbeScheduler(targets: targets, maxConcurrentRuns: 4, clock: clock) { target in
            running.add()
            defer { running.add(-1) }
            if target.name != "10.0.3.1" {
                try? await clock.sleep(until: clock.now.advanced(by: .seconds(3600)), tolerance: nil)
            }
            return report(for: target, score: 0)
        }
        for await report in scheduler {
            #expect(report.target == "10.0.3.1")
            break
        }
        // The three hour-long checks are cancelled, not waited for.
        #expect(await eventually { running.value == 0 && clock.sleeperCount == 0 })
    }

    @Test func spreadFirstChecksAreSpacedOverEachClasssBaseInterval() {
        let targets = (1...4).map { ProbeTarget("10.0.8.\($0)", class: .critical) }
            + (1...2).map { ProbeTarget("10.0.9.\($0)", class: .important) }
        let spread = ProbeScheduler(targets: targets, spreadsFirstChecks: true, clock: clock) { report(for: $0, score: 0) }
        #expect(spread.firstCheckOffsets() == [0, 15, 30, 45, 0, 150].map { Duration.seconds($0) })
        let burst = ProbeScheduler(targets: targets, clock: clock) { report(for: $0, score: 0) }
        #expect(burst.firstCheckOffsets() == Array(repeating: .zero, count: 6))
    }

    @Test func withSpreadFirstChecksOnlyTheFirstTargetIsCheckedAtStart() async {
        let targets = (1...4).map { ProbeTarget("10.0.10.\($0)", class: .critical) }
        let scheduler = ProbeScheduler(targets: targets, adaptive: false, spreadsFirstChecks: true, clock: clock) {
            report(for: $0, score: 0)
        }
        let reports = Log<RunReport>()
        let delivered = Tally()
        let task = start(scheduler, reports: reports, delivered: delivered)
        await delivered.wait(forAtLeast: 1)
        await clock.waitForSleepers(atLeast: 4)
        #expect(reports.all.map(\.target) == ["10.0.10.1"])
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(15)))
        clock.advance(by: .seconds(15))
        await delivered.wait(forAtLeast: 2)
        #expect(reports.all.map(\.target) == ["10.0.10.1", "10.0.10.2"])
        task.cancel()
        await task.value
    }

    @Test func aCheckThatOverranItsIntervalIsFollowedAtOnce() async {
        let target = ProbeTarget("10.0.4.1", class: .critical)
        let clock = self.clock
        let checks = Tally()
        let scheduler = ProbeScheduler(targets: [target], adaptive: false, clock: clock) { target in
            checks.add()
            if checks.value == 1 {
                // The first check takes 90 s of a 60 s interval.
                try? await clock.sleep(until: clock.now.advanced(by: .seconds(90)), tolerance: nil)
            }
            return report(for: target, score: 0)
        }
        let delivered = Tally()
        let task = start(scheduler, reports: Log(), delivered: delivered)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(90))
        await delivered.wait(forAtLeast: 2)
        #expect(clock.now == ManualClock.Instant(offset: .seconds(90)), "the second check ran without waiting")
        task.cancel()
        await task.value
    }

    @Test func aSlowConsumerHoldsTheScheduleBackInsteadOfPilingUpReports() async throws {
        let target = ProbeTarget("10.0.5.1", class: .critical)
        let checks = Tally()
        let zero = ProbeIntervals(critical: .zero, important: .zero, normal: .zero, background: .zero)
        let scheduler = ProbeScheduler(targets: [target], intervals: zero, adaptive: false, clock: clock) { target in
            checks.add()
            return report(for: target, score: 0)
        }
        var iterator = scheduler.makeAsyncIterator()
        _ = await iterator.next()
        // The consumer dawdles: the target may finish one more check, whose report waits.
        try await Task.sleep(for: .milliseconds(50))
        #expect(checks.value <= 2)
        _ = await iterator.next()
        #expect(checks.value <= 3)
    }

    @Test(.timeLimit(.minutes(1)))
    func loopsThatNeverSleepDoNotStarveTheConsumer() async {
        let targets = (1...16).map { ProbeTarget("10.0.6.\($0)", class: .critical) }
        let zero = ProbeIntervals(critical: .zero, important: .zero, normal: .zero, background: .zero)
        let scheduler = ProbeScheduler(targets: targets, intervals: zero, maxConcurrentRuns: 8, adaptive: false) {
            report(for: $0, score: 0)
        }
        var received = 0
        for await _ in scheduler {
            received += 1
            if received == 5_000 { break }
        }
        #expect(received == 5_000)
    }

    @Test func cancellingTheIteratingTaskEndsTheLoop() async {
        let target = ProbeTarget("10.0.7.1", class: .critical)
        let clock = self.clock
        let scheduler = ProbeScheduler(targets: [target], clock: clock) { target in report(for: target, score: 0) }
        let delivered = Tally()
        let consumer = Task {
            for await _ in scheduler { delivered.add() }
        }
        await delivered.wait(forAtLeast: 1)
        await clock.waitForSleepers(atLeast: 1)
        consumer.cancel()
        await consumer.value   // the for-await loop ended
        #expect(await eventually { clock.sleeperCount == 0 })
    }
}
