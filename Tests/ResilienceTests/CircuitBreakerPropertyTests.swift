import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

/// Random sequences of calls, outcomes and clock steps (seeded, so a failure replays exactly),
/// checking after every step that:
/// - the half-open state never has more than `half_open_max_calls` of its trial calls in flight;
/// - a call attempted once the recovery timeout has passed is never refused as "open";
/// - a refusal as "open" names a wait of more than zero and at most the recovery timeout;
/// - every call is counted once: ended + in flight = attempted.
@Suite struct CircuitBreakerPropertyTests {
    struct Held {
        let permit: CircuitBreaker<ManualClock>.Permit
        let admittedHalfOpen: Bool
        let episode: Int
    }

    @Test(arguments: 0..<40)
    func invariantsHoldOverRandomCallSequences(seed: Int) async throws {
        var random = SeededRandom(seed: UInt64(seed) &* 7919 &+ 1)
        let configuration = CircuitBreakerConfiguration(
            failureThreshold: Int.random(in: 1...5, using: &random),
            recoveryTimeout: .seconds(Int64.random(in: 0...60, using: &random)),
            halfOpenMaxCalls: Int.random(in: 1...4, using: &random),
            successThreshold: Int.random(in: 1...4, using: &random),
            failureRateWindow: Bool.random(using: &random)
                ? .init(size: 8, minimumCalls: 4, failureRateThresholdPercent: 50) : nil)
        let clock = ManualClock()
        let transitions = Log<(change: CircuitStateChange, at: ManualClock.Instant)>()
        let breaker = CircuitBreaker(target: "t", configuration: configuration, clock: clock,
                                     onStateChange: { transitions.append(($0, clock.now)) })
        var held: [Held] = []
        var attempted = 0

        for step in 0..<300 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<2:
                clock.advance(by: .seconds(Int64.random(in: 0...40, using: &random)))
            case 2..<6:
                attempted += 1
                let lastOpen = transitions.all.last { $0.change.to == .open }
                do {
                    let permit = try breaker.acquire()
                    let state = breaker.currentState
                    held.append(Held(permit: permit, admittedHalfOpen: state == .halfOpen, episode: transitions.all.count))
                } catch .open(_, let retryAfter, _) {
                    let openedAt = try #require(lastOpen?.at, "refused as open without having opened (seed \(seed), step \(step))")
                    #expect(openedAt.duration(to: clock.now) < configuration.recoveryTimeout,
                            "refused as open past the recovery timeout (seed \(seed), step \(step))")
                    #expect(retryAfter > .zero && retryAfter <= configuration.recoveryTimeout)
                } catch .halfOpenSaturated {
                    #expect(breaker.currentState == .halfOpen)
                }
            default:
                guard !held.isEmpty else { continue }
                let index = Int.random(in: 0..<held.count, using: &random)
                let call = held.remove(at: index)
                let result: CircuitBreaker<ManualClock>.Result =
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0..<5: .success
                    case 5..<9: .failure
                    default: .ignored
                    }
                breaker.record(result, for: call.permit)
            }

            let state = breaker.currentState
            let episode = transitions.all.count
            if state == .halfOpen {
                let trials = held.filter { $0.admittedHalfOpen && $0.episode == episode }.count
                #expect(trials <= configuration.halfOpenMaxCalls, "seed \(seed), step \(step)")
            }
            let statistics = breaker.statistics
            #expect(statistics.inFlight == held.count)
            #expect(statistics.completed + statistics.inFlight == attempted)
        }
    }
}
