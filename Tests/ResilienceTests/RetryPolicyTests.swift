import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// The delays, caps and timeouts of the runbook's retry_policy.
@Suite struct RetryPolicyTests {
    @Test func defaultsAreTheRunbooks() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 3)
        #expect(policy.backoffFactor == 2)
        #expect(policy.initialDelay == .seconds(1))
        #expect(policy.maxDelay == .seconds(30))
        #expect(policy.retryableErrors == [.timeout, .connectionRefused, .temporaryFailure])
        #expect(policy.problems.isEmpty)
    }

    @Test func backoffGrowsByTheFactorAndMaxDelayCapsIt() {
        let policy = RetryPolicy.default
        let delays = (1...7).map { policy.backoff(beforeRetry: $0) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
    }

    @Test func noJitterSleepsExactlyTheBackoff() {
        var random = SeededRandom(seed: 1)
        let policy = RetryPolicy(jitter: .none)
        #expect(policy.delay(beforeRetry: 3, previousDelay: nil, using: &random) == .seconds(4))
    }

    @Test func fullJitterStaysBetweenZeroAndTheBackoffAndSpreadsOverIt() {
        var random = SeededRandom(seed: 42)
        let policy = RetryPolicy(jitter: .full)
        for retry in 1...8 {
            let backoff = policy.backoff(beforeRetry: retry)
            let samples = (0..<2_000).map { _ in policy.delay(beforeRetry: retry, previousDelay: nil, using: &random) }
            #expect(samples.allSatisfy { $0 >= .zero && $0 <= backoff })
            #expect(samples.contains { $0 < backoff / 10 }, "reaches near zero")
            #expect(samples.contains { $0 > backoff * 9 / 10 }, "reaches near the backoff")
        }
    }

    @Test func decorrelatedJitterStaysBetweenTheInitialDelayAndFactorTimesThePreviousCappedAtMaxDelay() {
        var random = SeededRandom(seed: 7)
        let policy = RetryPolicy(maxAttempts: 50, jitter: .decorrelated)
        for _ in 0..<200 {
            var previous: Duration?
            for retry in 1...12 {
                let delay = policy.delay(beforeRetry: retry, previousDelay: previous, using: &random)
                let upper = min((previous ?? policy.initialDelay) * 2, policy.maxDelay)
                #expect(delay >= policy.initialDelay && delay <= upper, "retry \(retry) after \(String(describing: previous))")
                previous = delay
            }
        }
    }

    @Test func maxDelayCapsEveryJitter() {
        var random = SeededRandom(seed: 3)
        for jitter in RetryPolicy.Jitter.allCases {
            let policy = RetryPolicy(backoffFactor: 10, initialDelay: .seconds(5), maxDelay: .seconds(6), jitter: jitter)
            var previous: Duration?
            for retry in 1...20 {
                let delay = policy.delay(beforeRetry: retry, previousDelay: previous, using: &random)
                #expect(delay <= .seconds(6), "\(jitter)")
                previous = delay
            }
        }
    }

    @Test func theAttemptTimeoutGrowsOnRetriesUpToItsMaximum() {
        let policy = RetryPolicy(attemptTimeout: .init(initial: .seconds(2), factor: 1.5, maximum: .seconds(4)))
        #expect((1...4).map { policy.timeout(forAttempt: $0) } == [.seconds(2), .seconds(3), .seconds(4), .seconds(4)])
        #expect(RetryPolicy.default.timeout(forAttempt: 1) == nil)
    }

    @Test func impossibleSettingsAreNamedByTheirKeys() {
        let policy = RetryPolicy(maxAttempts: 0, backoffFactor: 0.5, initialDelay: .seconds(-1), maxDelay: .seconds(-2),
                                 attemptTimeout: .init(initial: .zero))
        #expect(Set(policy.problems.map(\.key)) == ["max_attempts", "backoff_factor", "initial_delay", "max_delay", "attempt_timeout"])
    }

    @Test func hugeBackoffsSaturateInsteadOfOverflowing() {
        let policy = RetryPolicy(backoffFactor: 1e6, maxDelay: .seconds(Int64.max / 2))
        #expect(policy.backoff(beforeRetry: 60) <= .seconds(Int64.max / 2))
    }

    @Test func probeErrorsMapToTheRunbooksRetryableKinds() {
        #expect(ProbeError.systemError(operation: "connect", errno: ETIMEDOUT).retryableErrorKind == .timeout)
        #expect(ProbeError.systemError(operation: "connect", errno: ECONNREFUSED).retryableErrorKind == .connectionRefused)
        #expect(ProbeError.systemError(operation: "sendto", errno: ENOBUFS).retryableErrorKind == .temporaryFailure)
        #expect(ProbeError.unresolvableTarget("x", reason: "Temporary failure in name resolution").retryableErrorKind == .temporaryFailure)
        #expect(ProbeError.unresolvableTarget("x", reason: "Name or service not known").retryableErrorKind == nil)
        #expect(ProbeError.permissionDenied(hint: "").retryableErrorKind == nil)
        #expect(ProbeError.cancelled.retryableErrorKind == nil)
        #expect(ProbeError.systemError(operation: "socket", errno: EINVAL).retryableErrorKind == nil)
    }
}
