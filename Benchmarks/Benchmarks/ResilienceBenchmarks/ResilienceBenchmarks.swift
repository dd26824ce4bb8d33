// Overhead of the resilience layer: what a guarded call costs in the closed state (goal:
// at most 100 ns), what a retry policy adds to an attempt that succeeds, and what the
// scheduler costs per check it runs. Pure Swift, no network, no privileges.
//
//   cd Benchmarks && swift package benchmark --target ResilienceBenchmarks
//
// No metrics backend is bootstrapped, so swift-metrics records into its no-op handler, as in
// an application that does not export metrics.

import Benchmark
import ISPChecker

#if canImport(Glibc)
import Glibc
#endif

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    // 1,000 guarded calls per iteration: with the .kilo scaling the figures read per call.
    Benchmark(
        "CircuitBreaker.run, closed, operation returns",
        configuration: .init(scalingFactor: .kilo),
        closure: { benchmark, breaker in
            for _ in benchmark.scaledIterations {
                blackHole(try await breaker.run { 1 })
            }
        },
        setup: { CircuitBreaker(target: "10.0.0.1") }
    )

    Benchmark(
        "CircuitBreaker acquire + record, closed",
        configuration: .init(scalingFactor: .kilo),
        closure: { benchmark, breaker in
            for _ in benchmark.scaledIterations {
                let permit = try breaker.acquire()
                breaker.record(.success, for: permit)
            }
        },
        setup: { CircuitBreaker(target: "10.0.0.1") }
    )

    // 8 tasks share one breaker: the lock under contention.
    Benchmark(
        "CircuitBreaker.run from 8 concurrent tasks, closed",
        configuration: .init(scalingFactor: .kilo),
        closure: { benchmark, breaker in
            let perTask = benchmark.scaledIterations.count / 8
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<perTask { blackHole(try await breaker.run { 1 }) }
                    }
                }
                try await group.waitForAll()
            }
        },
        setup: { CircuitBreaker(target: "10.0.0.1") }
    )

    // The floor under a breaker that is an actor, as the issue first asked: admitting a call and
    // recording its outcome are two calls into the actor from the caller's task, and each hops
    // onto the actor's executor and back. These calls do no work at all.
    Benchmark("actor method call, twice (floor of an actor breaker)", configuration: .init(scalingFactor: .kilo),
              closure: { benchmark, counter in
                  for _ in benchmark.scaledIterations {
                      blackHole(await counter.increment())
                      blackHole(await counter.increment())
                  }
              },
              setup: { HopCounter() })

    // The floor under acquire + record: the breaker takes its lock twice per call.
    Benchmark("pthread_mutex lock + unlock, twice (floor)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        for _ in benchmark.scaledIterations {
            pthread_mutex_lock(mutex)
            pthread_mutex_unlock(mutex)
            pthread_mutex_lock(mutex)
            pthread_mutex_unlock(mutex)
        }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    Benchmark("RetryPolicy.run, first attempt succeeds", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let policy = RetryPolicy.default
        for _ in benchmark.scaledIterations {
            blackHole(try await policy.run { _ in 1 })
        }
    }

    // A scheduler over 100 targets with zero intervals, so every target is due again at once and
    // the time measured is the scheduler's own (slots, clock, stream) plus a trivial check.
    // 1,000 reports per iteration, so the figures read per run.
    let canned = RunReport(id: "bench", target: "t", probes: [ProbeReport(name: "ping", status: .ok)], score: 0)
    Benchmark(
        "ProbeScheduler, 100 targets, 8 slots, per run",
        configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(5))
    ) { benchmark in
        let targets = (0..<100).map { ProbeTarget("10.0.\($0 / 256).\($0 % 256)", class: .critical) }
        let scheduler = ProbeScheduler(
            targets: targets, intervals: ProbeIntervals(critical: .zero, important: .zero, normal: .zero, background: .zero),
            maxConcurrentRuns: 8, adaptive: false
        ) { target in
            var report = canned
            report.target = target.name
            return report
        }
        let wanted = benchmark.scaledIterations.count
        var received = 0
        for await report in scheduler {
            blackHole(report)
            received += 1
            if received == wanted { break }
        }
    }
}

/// An actor whose method does next to nothing, so calling it costs the executor hops alone.
actor HopCounter {
    private var count = 0
    func increment() -> Int {
        count &+= 1
        return count
    }
}
