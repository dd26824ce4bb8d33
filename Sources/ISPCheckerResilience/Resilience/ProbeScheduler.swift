import AsyncAlgorithms
import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// A target to check periodically, with the class that sets its base interval.
public struct ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address, as `RunReport.target` names it.
    public var name: String
    public var targetClass: TargetClass

    public init(_ name: String, class targetClass: TargetClass = .normal) {
        self.name = name
        self.targetClass = targetClass
    }

    public var description: String { "\(name) (\(targetClass))" }
}

/// Runs a check of every target again and again, each at its class's interval (runbook §4.1.1),
/// adapted to the target's last score (§4.1.2), with at most `maxConcurrentRuns` checks at once.
/// The checks themselves are the caller's: a closure from a target to its `RunReport`.
///
/// Iterate it (`for await report in scheduler`) to receive reports as they complete; breaking out
/// of the loop or cancelling the iterating task stops every check, running ones included. Or
/// call `run(_:)`, which returns only once every check has ended. Both wait for the consumer: a
/// target's next check is scheduled only once its report has been taken, so reports never pile up.
///
/// A target's next check is due one interval after its previous check *started*, so the cadence
/// does not drift by the check's own duration; a check that overran its interval is followed by the
/// next one as soon as a slot is free. All targets are due at start, unless `spreadsFirstChecks`
/// spaces them over their class's base interval. Waiting for a slot is first come, first served.
public struct ProbeScheduler<C: Clock>: AsyncSequence, Sendable where C.Duration == Duration {
    public typealias Element = RunReport
    public typealias Failure = Never

    public var targets: [ProbeTarget]
    /// Base intervals by class.
    public var intervals: ProbeIntervals
    /// Checks running at once, across all targets (≥ 1).
    public var maxConcurrentRuns: Int
    /// Apply the adaptive interval to each target's last score; `false` keeps the base intervals.
    public var adaptive: Bool
    /// Space the first checks of each class evenly over its base interval (the k-th of n critical
    /// targets first at k × 60 s / n) instead of starting every target at once. Each target keeps
    /// its own cadence from there, so the checks stay spread: 1,000 targets every 60 s are about
    /// 17 check starts a second rather than 1,000 in one burst followed by a minute of nothing.
    public var spreadsFirstChecks: Bool
    public let clock: C
    private let check: @Sendable (ProbeTarget) async -> RunReport

    /// - Parameters:
    ///   - check: runs one check of a target; it should honour task cancellation.
    public init(targets: [ProbeTarget], intervals: ProbeIntervals = .default, maxConcurrentRuns: Int = 8,
                adaptive: Bool = true, spreadsFirstChecks: Bool = false, clock: C,
                check: @escaping @Sendable (ProbeTarget) async -> RunReport) {
        precondition(maxConcurrentRuns >= 1, "maxConcurrentRuns must be at least 1")
        self.targets = targets
        self.intervals = intervals
        self.maxConcurrentRuns = maxConcurrentRuns
        self.adaptive = adaptive
        self.spreadsFirstChecks = spreadsFirstChecks
        self.clock = clock
        self.check = check
    }

    /// The interval after a check of `target` that scored `score`.
    public func interval(after score: Double, for target: ProbeTarget) -> Duration {
        let base = intervals[target.targetClass]
        return adaptive ? AdaptiveInterval.interval(score: score, base: base) : base
    }

    /// Checks every target until the calling task is cancelled, handing each report to `handle`
    /// as it completes. A target's loop waits for `handle` before scheduling its next check, so a
    /// slow consumer slows the schedule rather than piling up reports. Returns once every check
    /// and every wait has ended; reports of checks interrupted by cancellation are not handed over.
    public func run(_ handle: @escaping @Sendable (RunReport) async -> Void) async {
        let slots = AsyncSemaphore(permits: maxConcurrentRuns)
        let start = clock.now
        let offsets = firstCheckOffsets()
        await withDiscardingTaskGroup { group in
            for (target, offset) in zip(targets, offsets) {
                group.addTask { await self.loop(target, firstDue: start.advanced(by: offset), slots: slots, handle: handle) }
            }
        }
    }

    /// When each target's first check is due, after the start: zero for all, or with
    /// `spreadsFirstChecks` the k-th of the n targets of a class at k/n of its base interval.
    func firstCheckOffsets() -> [Duration] {
        guard spreadsFirstChecks else { return targets.map { _ in .zero } }
        var perClass: [TargetClass: Int] = [:]
        for target in targets { perClass[target.targetClass, default: 0] += 1 }
        var seen: [TargetClass: Int] = [:]
        return targets.map { target in
            let rank = seen[target.targetClass, default: 0]
            seen[target.targetClass] = rank + 1
            return intervals[target.targetClass] / perClass[target.targetClass]! * rank
        }
    }

    private func loop(_ target: ProbeTarget, firstDue: C.Instant, slots: AsyncSemaphore,
                      handle: @Sendable (RunReport) async -> Void) async {
        var due = firstDue
        while !Task.isCancelled {
            do {
                if clock.now < due {
                    try await clock.sleep(until: due, tolerance: nil)
                } else {
                    // Already due (the first check, an overrun, a zero interval): let other tasks
                    // run first, so loops that never need to sleep cannot starve the pool.
                    await Task.yield()
                }
                try await slots.acquire()
            } catch {
                return  // cancelled
            }
            let started = clock.now
            let report = await check(target)
            slots.release()
            if Task.isCancelled { return }
            await handle(report)
            due = started.advanced(by: interval(after: report.score, for: target))
        }
    }

    public func makeAsyncIterator() -> Iterator {
        // AsyncChannel: `send` returns once the consumer has taken the report (back-pressure),
        // `finish()` ends the iteration and releases every waiting sender.
        let channel = AsyncChannel<RunReport>()
        let driver = Task {
            await run { report in await channel.send(report) }
            channel.finish()
        }
        return Iterator(base: channel.makeAsyncIterator(), stopper: Stopper(channel: channel, driver: driver))
    }

    /// Hands over reports as checks complete. A check's target waits until its report has been
    /// taken before scheduling its next check, so a slow consumer slows the schedule. Dropping the
    /// iterator (breaking out of the loop) or cancelling the iterating task stops every check.
    public struct Iterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncChannel<RunReport>.Iterator
        fileprivate let stopper: Stopper

        public mutating func next() async -> RunReport? {
            let stopper = self.stopper
            return await withTaskCancellationHandler {
                await base.next()
            } onCancel: {
                stopper.stop()
            }
        }
    }
}

/// Stops the checks behind an iterator when it is cancelled or goes away.
private final class Stopper: Sendable {
    let channel: AsyncChannel<RunReport>
    let driver: Task<Void, Never>

    init(channel: AsyncChannel<RunReport>, driver: Task<Void, Never>) {
        self.channel = channel
        self.driver = driver
    }

    func stop() {
        channel.finish()
        driver.cancel()
    }

    deinit { stop() }
}

extension ProbeScheduler where C == ContinuousClock {
    public init(targets: [ProbeTarget], intervals: ProbeIntervals = .default, maxConcurrentRuns: Int = 8,
                adaptive: Bool = true, spreadsFirstChecks: Bool = false, check: @escaping @Sendable (ProbeTarget) async -> RunReport) {
        self.init(targets: targets, intervals: intervals, maxConcurrentRuns: maxConcurrentRuns, adaptive: adaptive,
                  spreadsFirstChecks: spreadsFirstChecks, clock: ContinuousClock(), check: check)
    }
}
