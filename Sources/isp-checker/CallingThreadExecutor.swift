import Dispatch
import ISPCheckerPrimitives

/// Runs async library work on the calling (main) thread, without Swift's global executor.
///
/// `runBlocking` hands its body to the global concurrent executor, which on Linux is
/// libdispatch: the first task starts a worker thread, which starts libdispatch's manager
/// thread (it tries `setpriority(-4)`, fails, and logs that through syslog: `/etc/localtime`,
/// `/dev/log`) and a second worker. For a 4-hop trace that is 1.2-1.3 ms of CPU, a fifth of
/// the process (docs/benchmarks.md, "Trace CPU, 2026-12-07"). Here the body's task prefers a
/// task executor whose jobs this thread runs itself; the engine thread's answers resume the
/// task by enqueueing it here.
///
/// What stays off this thread: unstructured `Task {}`s the body starts (they do not inherit
/// the preference) and a `Task.sleep`'s wake-up (the runtime's timer is libdispatch's): they
/// run in the global pool as under `runBlocking`, and the body carries on from there. Nothing
/// here relies on the body staying on one thread; it only avoids starting the pool when the
/// body never needs it (a one-round trace).
func runOnCallingThread<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let executor = CallingThreadExecutor()
    let outcome = Locked<Result<T, any Error>?>(nil)
    Task(executorPreference: executor) {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.withLock { $0 = result }
        executor.stop()
    }
    executor.run()
    return try outcome.withLock { $0! }.get()
}

/// A task executor whose jobs the thread in `run()` runs, one at a time, until `stop()`.
final class CallingThreadExecutor: TaskExecutor {
    private struct State: Sendable {
        var jobs: [UnownedJob] = []
        var stopped = false
    }

    private let state = Locked(State())
    /// Signalled once per `enqueue` and by `stop`; `run` waits on it when it has nothing to do.
    private let ready = DispatchSemaphore(value: 0)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        state.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    /// Lets `run()` return once it has run what was enqueued before.
    func stop() {
        state.withLock { $0.stopped = true }
        ready.signal()
    }

    /// Runs enqueued jobs on the calling thread until `stop()`.
    func run() {
        let me = asUnownedTaskExecutor()
        while true {
            let (jobs, stopped) = state.withLock { state in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return (state.jobs, state.stopped)
            }
            for job in jobs { job.runSynchronously(on: me) }
            if stopped && jobs.isEmpty { return }
            if jobs.isEmpty { ready.wait() }
        }
    }
}
