import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

/// Every transition of the breaker, on a manual clock, with the runbook's defaults
/// (failure_threshold 5, recovery_timeout 60 s, half_open_max_calls 3, success_threshold 2).
@Suite struct CircuitBreakerTransitionTests {
    let clock = ManualClock()
    let changes = Log<CircuitStateChange>()

    func makeBreaker(_ configuration: CircuitBreakerConfiguration = .default) -> CircuitBreaker<ManualClock> {
        let changes = self.changes
        return CircuitBreaker(target: "10.0.0.1", configuration: configuration, clock: clock,
                              onStateChange: { changes.append($0) })
    }

    func fail(_ breaker: CircuitBreaker<ManualClock>, times: Int = 1) async {
        for _ in 0..<times {
            _ = try? await breaker.run { () async throws -> Int in throw TestFailure(kind: .timeout) }
        }
    }

    func succeed(_ breaker: CircuitBreaker<ManualClock>, times: Int = 1) async throws {
        for _ in 0..<times { _ = try await breaker.run { 1 } }
    }

    func open(_ breaker: CircuitBreaker<ManualClock>) async {
        await fail(breaker, times: CircuitBreakerConfiguration.default.failureThreshold)
    }

    @Test func startsClosed() {
        #expect(makeBreaker().currentState == .closed)
    }

    @Test func staysClosedBelowTheFailureThreshold() async {
        let breaker = makeBreaker()
        await fail(breaker, times: 4)
        #expect(breaker.currentState == .closed)
    }

    @Test func opensAtTheFailureThreshold() async {
        let breaker = makeBreaker()
        await fail(breaker, times: 5)
        #expect(breaker.currentState == .open)
        #expect(changes.all == [CircuitStateChange(target: "10.0.0.1", from: .closed, to: .open, reason: "5 consecutive failures")])
    }

    @Test func aSuccessResetsTheConsecutiveFailureCount() async throws {
        let breaker = makeBreaker()
        await fail(breaker, times: 4)
        try await succeed(breaker)
        await fail(breaker, times: 4)
        #expect(breaker.currentState == .closed)
    }

    @Test func openFailsFastWithoutRunningTheOperationAndSaysWhenItRetries() async {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(20))
        let ran = Tally()
        let error = await #expect(throws: CircuitBreakerError.self) {
            try await breaker.run { ran.add() }
        }
        #expect(ran.value == 0)
        #expect(error == .open(target: "10.0.0.1", retryAfter: .seconds(40), reason: "5 consecutive failures"))
        #expect(error?.description.contains("trial calls resume in 40 s") == true)
        #expect(breaker.retryAt == ManualClock.Instant(offset: .seconds(60)))
    }

    @Test func staysOpenUntilTheRecoveryTimeoutHasPassed() async {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60) - .nanoseconds(1))
        #expect(breaker.currentState == .open)
    }

    @Test func turnsHalfOpenOnceTheRecoveryTimeoutHasPassed() async {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60))
        #expect(breaker.currentState == .halfOpen)
        #expect(changes.all.map(\.to) == [.open, .halfOpen])
    }

    @Test func halfOpenClosesAfterTheSuccessThreshold() async throws {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60))
        try await succeed(breaker)
        #expect(breaker.currentState == .halfOpen)
        try await succeed(breaker)
        #expect(breaker.currentState == .closed)
        #expect(changes.all.map(\.to) == [.open, .halfOpen, .closed])
    }

    @Test func halfOpenReopensOnAFailureForAnotherRecoveryTimeout() async throws {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60))
        try await succeed(breaker)
        await fail(breaker)
        #expect(breaker.currentState == .open)
        #expect(breaker.retryAt == ManualClock.Instant(offset: .seconds(120)))
        #expect(changes.all.last?.reason == "a trial call failed")
    }

    @Test func closingForgetsEarlierFailures() async throws {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60))
        try await succeed(breaker, times: 2)
        await fail(breaker, times: 4)
        #expect(breaker.currentState == .closed)
    }

    @Test func halfOpenRefusesCallsBeyondItsConcurrentLimit() async throws {
        let breaker = makeBreaker()
        await open(breaker)
        clock.advance(by: .seconds(60))
        var permits: [CircuitBreaker<ManualClock>.Permit] = []
        for _ in 0..<3 { permits.append(try breaker.acquire()) }
        await #expect(throws: CircuitBreakerError.halfOpenSaturated(target: "10.0.0.1", maxCalls: 3)) {
            try breaker.acquire()
        }
        // A trial that ends frees its slot.
        breaker.record(.ignored, for: permits[0])
        permits[0] = try breaker.acquire()
        #expect(breaker.statistics.inFlight == 3)
    }

    @Test func aCancelledCallIsIgnoredNotAFailure() async {
        let breaker = makeBreaker()
        for _ in 0..<10 {
            _ = try? await breaker.run { () async throws -> Int in throw CancellationError() }
        }
        #expect(breaker.currentState == .closed)
        #expect(breaker.statistics.ignored == 10)
    }

    @Test func errorsThatIsFailureRejectsAreIgnored() async {
        let breaker = CircuitBreaker(target: "t", clock: clock, isFailure: { ($0 as? TestFailure)?.kind != nil })
        for _ in 0..<10 {
            _ = try? await breaker.run { () async throws -> Int in throw TestFailure(kind: nil) }
        }
        #expect(breaker.currentState == .closed)
        #expect(breaker.statistics.failures == 0)
    }

    @Test func theOperationsErrorReachesTheCaller() async {
        let breaker = makeBreaker()
        await #expect(throws: TestFailure(kind: .connectionRefused)) {
            try await breaker.run { () async throws -> Int in throw TestFailure(kind: .connectionRefused) }
        }
    }

    @Test func anOutcomeFromBeforeATransitionDoesNotMoveTheNewState() async throws {
        let breaker = makeBreaker()
        let early = try breaker.acquire()
        await open(breaker)
        clock.advance(by: .seconds(60))
        #expect(breaker.currentState == .halfOpen)
        // The call admitted while closed fails late: it is counted, but the half-open trial goes on.
        breaker.record(.failure, for: early)
        #expect(breaker.currentState == .halfOpen)
        #expect(breaker.statistics.failures == 6)
    }

    @Test func resetClosesAnOpenBreaker() async {
        let breaker = makeBreaker()
        await open(breaker)
        breaker.reset()
        #expect(breaker.currentState == .closed)
        await fail(breaker, times: 4)
        #expect(breaker.currentState == .closed)
    }

    @Test func theFailureRateWindowOpensOnIntermittentFailures() async throws {
        let window = CircuitBreakerConfiguration.FailureRateWindow(size: 10, minimumCalls: 10, failureRateThresholdPercent: 50)
        let breaker = makeBreaker(CircuitBreakerConfiguration(failureRateWindow: window))
        // Every other call fails: never 5 in a row, but 50 % of the window.
        for _ in 0..<4 {
            await fail(breaker)
            try await succeed(breaker)
        }
        await fail(breaker)
        #expect(breaker.currentState == .closed, "9 calls: below minimum_calls")
        try await succeed(breaker)
        #expect(breaker.currentState == .closed, "a success never opens the breaker")
        await fail(breaker)
        #expect(breaker.currentState == .open)
        #expect(changes.all.last?.reason == "5 failures in the last 10 calls")
    }

    @Test func theFailureRateWindowSlides() async throws {
        let window = CircuitBreakerConfiguration.FailureRateWindow(size: 4, minimumCalls: 4, failureRateThresholdPercent: 75)
        let breaker = makeBreaker(CircuitBreakerConfiguration(failureThreshold: 100, failureRateWindow: window))
        await fail(breaker, times: 2)
        try await succeed(breaker, times: 3)   // window: F F S S → S S S (the failures slide out)
        await fail(breaker, times: 2)           // window: S S F F: 50 %
        #expect(breaker.currentState == .closed)
        await fail(breaker)                     // S F F F: 75 %
        #expect(breaker.currentState == .open)
    }

    @Test func aZeroRecoveryTimeoutGoesHalfOpenOnTheNextCall() async throws {
        let breaker = makeBreaker(CircuitBreakerConfiguration(failureThreshold: 1, recoveryTimeout: .zero, successThreshold: 1))
        await fail(breaker)
        try await succeed(breaker)
        #expect(breaker.currentState == .closed)
        #expect(changes.all.map(\.to) == [.open, .halfOpen, .closed])
    }
}
