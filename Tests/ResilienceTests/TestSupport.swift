import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// An error the retry policy classifies as `kind` (or as not retryable with `nil`).
struct TestFailure: Error, Equatable, RetryClassifiable {
    var kind: RetryableErrorKind?
    var retryableErrorKind: RetryableErrorKind? { kind }
}

/// A latch: `wait()` suspends until `open()`; waits after opening return at once.
final class Gate: Sendable {
    private let state = Locked<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A counter that tasks bump, with the highest value it reached and a way to wait for a value.
final class Tally: Sendable {
    private struct State {
        var value = 0
        var peak = 0
        var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Locked(State())

    var value: Int { state.withLock { $0.value } }
    var peak: Int { state.withLock { $0.peak } }

    func add(_ amount: Int = 1) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.value += amount
            state.peak = max(state.peak, state.value)
            let value = state.value
            let ready = state.waiters.filter { $0.target <= value }.map(\.continuation)
            state.waiters.removeAll { $0.target <= value }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Returns once the value has reached `target`.
    func wait(forAtLeast target: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.value >= target { return true }
                state.waiters.append((target, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

/// A thread-safe list for recording what callbacks saw.
final class Log<Element: Sendable>: Sendable {
    private let items = Locked<[Element]>([])
    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
}

/// Polls `condition` (on real time, 1 ms apart) until it holds or `limit` passes; for effects
/// that finish on another task after the code under test returned.
func eventually(within limit: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return await condition()
}

func report(for target: ProbeTarget, score: Double) -> RunReport {
    RunReport(id: "r", target: target.name, probes: [ProbeReport(name: "ping", status: .ok)], score: score)
}
