/// A counting semaphore for tasks: `acquire()` waits, first come first served, until a permit is
/// free; a waiter whose task is cancelled leaves the queue at once with `CancellationError`.
package final class AsyncSemaphore: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var permits: Int
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waits cancelled before they were queued.
        var cancelledIDs: Set<UInt64> = []
    }

    private let state: Locked<State>

    package init(permits: Int) {
        precondition(permits >= 1, "a semaphore needs at least one permit")
        state = Locked(State(permits: permits))
    }

    package func acquire() async throws {
        try Task.checkCancellation()
        let id: UInt64? = state.withLock { state in
            if state.permits > 0 {
                state.permits -= 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelledIDs.remove(id) != nil { return .failure(CancellationError()) }
                    if state.permits > 0 {
                        state.permits -= 1
                        return .success(())
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index)
                }
                state.cancelledIDs.insert(id)
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        // If cancellation came after the permit was handed over, the id is left behind: drop it.
        state.withLock { _ = $0.cancelledIDs.remove(id) }
    }

    /// Hands the permit to the longest waiter, or returns it to the pool.
    package func release() {
        let waiter: Waiter? = state.withLock { state in
            if state.waiters.isEmpty {
                state.permits += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.continuation.resume()
    }
}
