import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

/// `RetryPolicy.run` over an async operation, on a manual clock: it sleeps the delays, stops on
/// what it must not retry, and returns at once when cancelled.
@Suite struct RetryRunTests {
    let clock = ManualClock()

    /// Runs `policy.run` in a task on the manual clock with a seeded generator.
    func start<T: Sendable>(_ policy: RetryPolicy, seed: UInt64 = 1,
                            _ operation: @escaping @Sendable (RetryAttempt) async throws -> T) -> Task<T, any Error> {
        let clock = self.clock
        return Task {
            var random = SeededRandom(seed: seed)
            return try await policy.run(clock: clock, random: &random, operation)
        }
    }

    @Test func retriesARetryableFailureAfterTheBackoffUntilItSucceeds() async throws {
        let attempts = Log<RetryAttempt>()
        let task = start(RetryPolicy(jitter: .none)) { attempt in
            attempts.append(attempt)
            if attempt.number < 3 { throw TestFailure(kind: .timeout) }
            return "answer"
        }
        await clock.waitForSleepers(atLeast: 1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(1)))
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(atLeast: 1)
        #expect(clock.nextDeadline == ManualClock.Instant(offset: .seconds(3)))
        clock.advance(by: .seconds(2))
        #expect(try await task.value == "answer")
        #expect(attempts.all.map(\.number) == [1, 2, 3])
    }

    @Test func givesUpAfterMaxAttemptsWithTheLastError() async throws {
        let attempts = Tally()
        let task = start(RetryPolicy(jitter: .none)) { attempt -> Int in
            attempts.add()
            throw TestFailure(kind: attempt.number == 3 ? .connectionRefused : .timeout)
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(2))
        await #expect(throws: TestFailure(kind: .connectionRefused)) { try await task.value }
        #expect(attempts.value == 3)
    }

    @Test func aNonRetryableErrorIsThrownAtOnce() async throws {
        let attempts = Tally()
        let task = start(.default) { _ -> Int in
            attempts.add()
            throw ProbeError.permissionDenied(hint: "grant CAP_NET_RAW")
        }
        await #expect(throws: ProbeError.permissionDenied(hint: "grant CAP_NET_RAW")) { try await task.value }
        #expect(attempts.value == 1)
    }

    @Test func aKindMissingFromRetryableErrorsIsNotRetried() async throws {
        let attempts = Tally()
        let task = start(RetryPolicy(retryableErrors: [.timeout])) { _ -> Int in
            attempts.add()
            throw TestFailure(kind: .connectionRefused)
        }
        await #expect(throws: TestFailure.self) { try await task.value }
        #expect(attempts.value == 1)
    }

    @Test func anErrorOfNoKindIsNotRetried() async throws {
        struct Opaque: Error {}
        let attempts = Tally()
        let task = start(.default) { _ -> Int in
            attempts.add()
            throw Opaque()
        }
        await #expect(throws: Opaque.self) { try await task.value }
        #expect(attempts.value == 1)
    }

    @Test func aCustomClassifierDecidesWhatIsRetried() async throws {
        struct Flaky: Error {}
        let attempts = Tally()
        let clock = self.clock
        let task = Task {
            var random = SeededRandom(seed: 1)
            return try await RetryPolicy(jitter: .none).run(clock: clock, random: &random,
                                                            classify: { $0 is Flaky ? .temporaryFailure : nil }) { attempt in
                attempts.add()
                if attempt.number == 1 { throw Flaky() }
                return 5
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        #expect(try await task.value == 5)
        #expect(attempts.value == 2)
    }

    @Test func cancellationDuringABackoffReturnsAtOnce() async throws {
        let attempts = Tally()
        let task = start(RetryPolicy(initialDelay: .seconds(30), jitter: .none)) { _ -> Int in
            attempts.add()
            throw TestFailure(kind: .timeout)
        }
        await clock.waitForSleepers(atLeast: 1)
        task.cancel()
        // The manual clock never moves: only cancellation can end the 30 s backoff.
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(attempts.value == 1)
        #expect(clock.sleeperCount == 0)
        #expect(clock.now == ManualClock.Instant(offset: .zero))
    }

    @Test func aCancelledCallerStartsNoAttempt() async throws {
        let attempts = Tally()
        let clock = self.clock
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            var random = SeededRandom(seed: 1)
            return try await RetryPolicy.default.run(clock: clock, random: &random) { _ in attempts.add() }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(attempts.value == 0)
    }

    @Test func everyRetryIsReportedWithItsKindAndDelay() async throws {
        let events = Log<String>()
        let clock = self.clock
        let task = Task {
            var random = SeededRandom(seed: 1)
            return try await RetryPolicy(jitter: .none).run(clock: clock, random: &random,
                                                            onRetry: { events.append("\($0.failedAttempt) \($0.kind) \($0.delay)") }) { attempt in
                if attempt.number == 1 { throw TestFailure(kind: .temporaryFailure) }
                return 1
            }
        }
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        _ = try await task.value
        #expect(events.all == ["1 temporary_failure 1.0 seconds"])
    }

    @Test func anAttemptPastItsTimeoutIsCancelledAndRetriedWithALongerOne() async throws {
        let attempts = Log<RetryAttempt>()
        let sawCancellation = Tally()
        let clock = self.clock
        let policy = RetryPolicy(jitter: .none, attemptTimeout: .init(initial: .seconds(1), factor: 2))
        let task = start(policy) { attempt in
            attempts.append(attempt)
            if attempt.number == 1 {
                do {
                    try await clock.sleep(until: clock.now.advanced(by: .seconds(10)), tolerance: nil)
                } catch {
                    sawCancellation.add()
                    throw error
                }
            }
            return attempt.number
        }
        // The attempt and its 1 s timer both sleep on the clock.
        await clock.waitForSleepers(atLeast: 2)
        clock.advance(by: .seconds(1))
        // Then the 1 s backoff before attempt 2.
        await sawCancellation.wait(forAtLeast: 1)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        #expect(try await task.value == 2)
        #expect(attempts.all.map(\.timeout) == [.seconds(1), .seconds(2)])
    }

    @Test func anAttemptTimeoutCountsAsATimeout() {
        #expect(AttemptTimedOut(attempt: 1, timeout: .seconds(1)).retryableErrorKind == .timeout)
    }
}
