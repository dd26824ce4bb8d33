import ISPChecker
import ISPCheckerMonitor
import Testing

/// The store reconnects with the configured retry_policy: its backoff, capped, and never
/// giving up (the runs wait in memory meanwhile).
@Suite struct RetryPolicyBackoffTests {
    @Test func theRunbooksPolicyGivesOneTwoFourSecondsUpToThirty() {
        let backoff = RetryPolicyBackoff(RetryPolicy())
        #expect((1...7).map { backoff.delay(afterFailures: $0) } ==
                [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        // Past max_attempts it goes on at max_delay instead of giving up.
        #expect(backoff.delay(afterFailures: 1000) == .seconds(30))
    }

    @Test func aConfiguredPolicyIsFollowed() {
        var policy = RetryPolicy()
        policy.initialDelay = .milliseconds(100)
        policy.backoffFactor = 3
        policy.maxDelay = .seconds(1)
        let backoff = RetryPolicyBackoff(policy)
        #expect((1...4).map { backoff.delay(afterFailures: $0) } == [.milliseconds(100), .milliseconds(300), .milliseconds(900), .seconds(1)])
    }
}
