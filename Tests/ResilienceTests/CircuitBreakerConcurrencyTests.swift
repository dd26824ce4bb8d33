import MetricsTestKit

import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

/// Many callers at once: the half-open limit holds, and every outcome is counted exactly once.
/// These run under the thread sanitizer in scripts/test.sh.
@Suite struct CircuitBreakerConcurrencyTests {
    @Test func halfOpenAdmitsAtMostItsLimitOf100ConcurrentCallers() async throws {
        let clock = ManualClock()
        let breaker = CircuitBreaker(target: "t", clock: clock)
        for _ in 0..<5 { _ = try? await breaker.run { () async throws -> Int in throw TestFailure(kind: .timeout) } }
        clock.advance(by: .seconds(60))

        let inside = Tally()        // calls running now (and the most at once)
        let settled = Tally()       // calls either running or refused
        let gate = Gate()
        let rejected = Tally()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    do {
                        try await breaker.run {
                            inside.add()
                            settled.add()
                            await gate.wait()
                            inside.add(-1)
                        }
                    } catch {
                        rejected.add()
                        settled.add()
                    }
                }
            }
            // Hold every admitted trial until all 100 callers have been answered.
            await settled.wait(forAtLeast: 100)
            gate.open()
        }
        #expect(inside.peak == 3)
        #expect(rejected.value == 97)
        let statistics = breaker.statistics
        #expect(statistics.successes == 3)
        #expect(statistics.rejected == 97)
        #expect(statistics.inFlight == 0)
        #expect(breaker.currentState == .closed)
    }

    /// What each caller saw, tallied by outcome.
    struct Seen: Sendable, Equatable {
        var successes = 0, failures = 0, rejected = 0, ignored = 0
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func noOutcomeIsLostOrCountedTwiceUnderConcurrentCalls(seed: UInt64) async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(
            target: "t",
            configuration: CircuitBreakerConfiguration(failureThreshold: 3, recoveryTimeout: .seconds(1)),
            clock: clock, metricsFactory: metrics)
        let seen = Log<CircuitCallOutcome>()
        let calls = 1_000
        var random = SeededRandom(seed: seed)
        let plans = (0..<calls).map { _ in Int.random(in: 0..<10, using: &random) }

        // Waves of 100 concurrent callers; between some waves the recovery timeout passes, so
        // the breaker goes through every state while calls are in flight.
        for wave in 0..<(calls / 100) {
            await withTaskGroup(of: Void.self) { group in
                for plan in plans[(wave * 100)..<((wave + 1) * 100)] {
                    group.addTask {
                        do {
                            _ = try await breaker.run { () async throws -> Int in
                                await Task.yield()
                                switch plan {
                                case 0..<6: return 1
                                case 6..<9: throw TestFailure(kind: .timeout)
                                default: throw CancellationError()
                                }
                            }
                            seen.append(.success)
                        } catch is CircuitBreakerError {
                            seen.append(.rejected)
                        } catch is CancellationError {
                            seen.append(.ignored)
                        } catch {
                            seen.append(.failure)
                        }
                    }
                }
                if wave % 2 == 1 { clock.advance(by: .seconds(1)) }
            }
        }

        let outcomes = seen.all
        let expected = Seen(successes: outcomes.filter { $0 == .success }.count,
                            failures: outcomes.filter { $0 == .failure }.count,
                            rejected: outcomes.filter { $0 == .rejected }.count,
                            ignored: outcomes.filter { $0 == .ignored }.count)
        let statistics = breaker.statistics
        #expect(statistics.completed == calls)
        #expect(statistics.inFlight == 0)
        #expect(Seen(successes: statistics.successes, failures: statistics.failures,
                     rejected: statistics.rejected, ignored: statistics.ignored) == expected)
        #expect(statistics.rejected > 0, "the breaker opened at some point")
        for outcome in CircuitCallOutcome.allCases {
            let counted = metrics.counterTotal(label: "isp_checker_circuit_breaker_calls_total",
                                               dimensions: [("target", "t"), ("outcome", outcome.rawValue)])
            let want: Int
            switch outcome {
            case .success: want = expected.successes
            case .failure: want = expected.failures
            case .rejected: want = expected.rejected
            case .ignored: want = expected.ignored
            }
            #expect(counted == Int64(want), "\(outcome)")
        }
    }
}
