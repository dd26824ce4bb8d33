import MetricsTestKit
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults
import ISPCheckerTestKit

@Suite struct CircuitBreakerMetricsAndRegistryTests {
    func stateGauge(_ metrics: TestMetrics, _ target: String, _ state: CircuitState) throws -> Double? {
        try metrics.expectMeter("isp_checker_circuit_breaker_state", [("target", target), ("state", state.rawValue)]).lastValue
    }

    @Test func theStateGaugeShowsOneForTheCurrentStateOnly() async throws {
        let metrics = TestMetrics()
        let clock = ManualClock()
        let breaker = CircuitBreaker(target: "10.0.0.9", configuration: .init(failureThreshold: 1), clock: clock,
                                     metricsFactory: metrics)
        #expect(try stateGauge(metrics, "10.0.0.9", .closed) == 1)
        _ = try? await breaker.run { () async throws -> Int in throw TestFailure(kind: .timeout) }
        #expect(try stateGauge(metrics, "10.0.0.9", .open) == 1)
        #expect(try stateGauge(metrics, "10.0.0.9", .closed) == 0)
        #expect(try stateGauge(metrics, "10.0.0.9", .halfOpen) == 0)
        clock.advance(by: .seconds(60))
        #expect(breaker.currentState == .halfOpen)
        #expect(try stateGauge(metrics, "10.0.0.9", .halfOpen) == 1)
        #expect(try stateGauge(metrics, "10.0.0.9", .open) == 0)
    }

    @Test func callsAreCountedByOutcome() async throws {
        let metrics = TestMetrics()
        let breaker = CircuitBreaker(target: "t", configuration: .init(failureThreshold: 2), clock: ManualClock(),
                                     metricsFactory: metrics)
        _ = try await breaker.run { 1 }
        _ = try? await breaker.run { () async throws -> Int in throw CancellationError() }
        for _ in 0..<2 { _ = try? await breaker.run { () async throws -> Int in throw TestFailure(kind: .timeout) } }
        _ = try? await breaker.run { 1 }
        func count(_ outcome: String) -> Int64 {
            metrics.counterTotal(label: "isp_checker_circuit_breaker_calls_total", dimensions: [("target", "t"), ("outcome", outcome)])
        }
        #expect(count("success") == 1)
        #expect(count("ignored") == 1)
        #expect(count("failure") == 2)
        #expect(count("rejected") == 1)
    }

    @Test func theRegistryKeepsOneBreakerPerTarget() async throws {
        let registry = CircuitBreakerRegistry(configuration: .init(failureThreshold: 1), clock: ManualClock())
        let first = registry.breaker(for: "10.0.0.1")
        #expect(registry.breaker(for: "10.0.0.1") === first)
        let other = registry.breaker(for: "10.0.0.2")
        #expect(other !== first)
        _ = try? await first.run { () async throws -> Int in throw TestFailure(kind: .timeout) }
        #expect(registry.states() == ["10.0.0.1": .open, "10.0.0.2": .closed])
        #expect(registry.targets == ["10.0.0.1", "10.0.0.2"])
    }

    @Test func aPerTargetConfigurationAppliesToThatTargetOnly() async throws {
        let registry = CircuitBreakerRegistry(clock: ManualClock())
        let strict = registry.breaker(for: "dns", configuration: .init(failureThreshold: 1))
        #expect(strict.configuration.failureThreshold == 1)
        #expect(registry.breaker(for: "ping").configuration == .default)
    }

    @Test func aRemovedTargetGetsAFreshBreaker() async throws {
        let registry = CircuitBreakerRegistry(configuration: .init(failureThreshold: 1), clock: ManualClock())
        _ = try? await registry.breaker(for: "t").run { () async throws -> Int in throw TestFailure(kind: .timeout) }
        registry.remove("t")
        #expect(registry.breaker(for: "t").currentState == .closed)
    }

    @Test func theRegistryIsSafeToUseFromManyTasks() async throws {
        let registry = CircuitBreakerRegistry(clock: ManualClock())
        let breakers = await withTaskGroup(of: CircuitBreaker<ManualClock>.self) { group in
            for _ in 0..<100 { group.addTask { registry.breaker(for: "same") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(breakers.allSatisfy { $0 === breakers[0] })
    }
}
