/// Runs `operation`, throwing `RunStoreError.timedOut` if it has not finished within `limit`
/// (the operation is cancelled then). Database drivers may wait a long time for a server that
/// is gone; the monitor would rather queue the run and retry.
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw RunStoreError.timedOut(limit)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
