import Synchronization

/// Runs `operation`, throwing `RunStoreError.timedOut` if it has not finished within `limit`.
/// Database drivers may wait a long time for a server that is gone; the monitor would rather
/// queue the run and retry.
///
/// Returns at the deadline even when the operation does not honour cancellation: it is
/// cancelled and left to finish on its own (a task group would wait for it, and a driver call
/// stuck on a dead connection would then hold the recorder, and every later run, with it).
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let tasks = TaskList()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = FirstOutcome(continuation)
            let work = Task {
                do {
                    outcome.resume(with: .success(try await operation()))
                } catch {
                    outcome.resume(with: .failure(error))
                }
                tasks.cancelAll()  // the timer
            }
            let timer = Task {
                do {
                    try await Task.sleep(for: limit)
                    outcome.resume(with: .failure(RunStoreError.timedOut(limit)))
                } catch {
                    outcome.resume(with: .failure(CancellationError()))
                }
                work.cancel()
            }
            tasks.set([work, timer])
        }
    } onCancel: {
        tasks.cancelAll()
    }
}

/// Resumes a continuation with the first outcome given, once; later ones are dropped.
private final class FirstOutcome<T: Sendable>: Sendable {
    // Sendable through the Mutex: the continuation is taken out under the lock exactly once.
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<T, any Error>) {
        let taken = continuation.withLock { value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }
        taken?.resume(with: result)
    }
}

/// The tasks of one `withTimeout`, to cancel together.
private final class TaskList: Sendable {
    private let tasks = Mutex<[Task<Void, Never>]>([])
    func set(_ list: [Task<Void, Never>]) { tasks.withLock { $0 = list } }
    func cancelAll() { tasks.withLock { $0 }.forEach { $0.cancel() } }
}
