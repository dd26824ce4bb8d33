import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// What an attempt of a retried operation is told about itself.
public struct RetryAttempt: Sendable, Equatable {
    /// 1 for the first attempt.
    public var number: Int
    /// This attempt's time limit, when the policy has one: pass it to the probe (a ping's or a
    /// DNS query's timeout) so that it gives up on its own; `retry` also cancels the attempt then.
    public var timeout: Duration?
}

/// A retry about to happen: which attempt failed, why, and how long until the next one.
public struct RetryEvent: Sendable {
    /// The attempt that failed (1 = the first).
    public var failedAttempt: Int
    public var error: any Error
    public var kind: RetryableErrorKind
    /// The delay before the next attempt, jitter included.
    public var delay: Duration
}

/// An attempt ran past its time limit (`RetryPolicy.attemptTimeout`) and was cancelled.
/// Retryable as `timeout`.
public struct AttemptTimedOut: Error, Sendable, Equatable, RetryClassifiable, CustomStringConvertible {
    public var attempt: Int
    public var timeout: Duration

    public var retryableErrorKind: RetryableErrorKind? { .timeout }

    public var description: String {
        "attempt \(attempt) timed out after \(timeout); raise retry_policy.attempt_timeout if the operation needs longer"
    }
}

extension RetryPolicy {
    /// Runs `operation` until it succeeds, fails with an error that is not in `retryableErrors`,
    /// or has run `maxAttempts` times; then returns its value or throws its last error unchanged.
    ///
    /// Sleeps on `clock` between attempts and draws jitter from `random`. Cancelling the calling
    /// task ends a backoff at once with `CancellationError` and starts no further attempt.
    /// With `attemptTimeout`, an attempt still running at its limit is cancelled and counts as a
    /// `timeout` failure (`AttemptTimedOut`); the operation must honour cancellation for that.
    ///
    /// - Parameters:
    ///   - classify: the retryable kind of an error, `nil` for "do not retry". By default an
    ///     error's own `RetryClassifiable` kind (probes' `ProbeError` maps its cases).
    ///   - onRetry: told before each backoff, for logging.
    public func run<T: Sendable, C: Clock, R: RandomNumberGenerator>(
        clock: C,
        random: inout R,
        classify: (any Error) -> RetryableErrorKind? = defaultRetryableErrorKind(of:),
        onRetry: (RetryEvent) -> Void = { _ in },
        _ operation: @Sendable (RetryAttempt) async throws -> T
    ) async throws -> T where C.Duration == Duration {
        var previousDelay: Duration?
        var attemptNumber = 1
        while true {
            try Task.checkCancellation()
            let attempt = RetryAttempt(number: attemptNumber, timeout: timeout(forAttempt: attemptNumber))
            do {
                return try await Self.runAttempt(attempt, clock: clock, operation)
            } catch {
                // A cancelled caller gets its cancellation, not a retry.
                if Task.isCancelled { throw error is CancellationError ? error : CancellationError() }
                guard attemptNumber < maxAttempts, let kind = classify(error), retryableErrors.contains(kind) else {
                    throw error
                }
                let delay = self.delay(beforeRetry: attemptNumber, previousDelay: previousDelay, using: &random)
                onRetry(RetryEvent(failedAttempt: attemptNumber, error: error, kind: kind, delay: delay))
                if delay > .zero {
                    try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil)
                }
                previousDelay = delay
                attemptNumber += 1
            }
        }
    }

    /// `run` on the continuous clock with the system's random numbers.
    public func run<T: Sendable>(
        classify: (any Error) -> RetryableErrorKind? = defaultRetryableErrorKind(of:),
        onRetry: (RetryEvent) -> Void = { _ in },
        _ operation: @Sendable (RetryAttempt) async throws -> T
    ) async throws -> T {
        var random = SystemRandomNumberGenerator()
        return try await run(clock: ContinuousClock(), random: &random, classify: classify, onRetry: onRetry, operation)
    }

    private enum AttemptOutcome<T: Sendable>: Sendable {
        case value(T)
        case timedOut
    }

    private static func runAttempt<T: Sendable, C: Clock>(
        _ attempt: RetryAttempt, clock: C, _ operation: @Sendable (RetryAttempt) async throws -> T
    ) async throws -> T where C.Duration == Duration {
        guard let limit = attempt.timeout else { return try await operation(attempt) }
        let deadline = clock.now.advanced(by: limit)
        return try await withoutActuallyEscaping(operation) { operation in
            try await withThrowingTaskGroup(of: AttemptOutcome<T>.self) { group in
                group.addTask { .value(try await operation(attempt)) }
                group.addTask {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    return .timedOut
                }
                defer { group.cancelAll() }
                // The first child to finish decides; the other is cancelled.
                switch try await group.next() {
                case .value(let value): return value
                case .timedOut, nil: throw AttemptTimedOut(attempt: attempt.number, timeout: limit)
                }
            }
        }
    }
}
