import ISPChecker
import Testing

/// The monitor's run store reconnects with a retry policy's backoff: capped, and never
/// giving up (the runs wait in memory meanwhile).
@Suite struct RetryPolicyBackoffTests {
    @Test func theRunbooksPolicyGivesOneTwoFourSecondsUpToThirty() {
        let backoff = RetryPolicy()
        #expect((1...7).map { backoff.backoff(afterFailures: $0) } ==
                [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        // Past max_attempts it goes on at max_delay instead of giving up.
        #expect(backoff.backoff(afterFailures: 1000) == .seconds(30))
    }

    @Test func aConfiguredPolicyIsFollowed() {
        var policy = RetryPolicy()
        policy.initialDelay = .milliseconds(100)
        policy.backoffFactor = 3
        policy.maxDelay = .seconds(1)
        #expect((1...4).map { policy.backoff(afterFailures: $0) } == [.milliseconds(100), .milliseconds(300), .milliseconds(900), .seconds(1)])
    }

    @Test("backoff doubles from the initial pause up to the maximum")
    func backoffDoublesToMaximum() {
        let backoff = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect((1...6).map { backoff.backoff(afterFailures: $0) } ==
                [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
    }

    @Test func aPolicyThatDoesNotGrowStaysAtItsDelayAfterAnyNumberOfFailures() {
        let flat = RetryPolicy(backoffFactor: 1, initialDelay: .milliseconds(250), maxDelay: .seconds(10))
        #expect(flat.backoff(afterFailures: 1) == .milliseconds(250))
        #expect(flat.backoff(afterFailures: Int.max) == .milliseconds(250))
        let zero = RetryPolicy(initialDelay: .zero, maxDelay: .seconds(10))
        #expect(zero.backoff(afterFailures: Int.max) == .zero)
    }
}
