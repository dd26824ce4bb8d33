import ISPChecker
import Logging
import ServiceLifecycle

/// Migrates a PostgreSQL store once its pool runs, retrying with `retry`'s backoff until the
/// server answers (SQLite migrates when opened). Then waits for shutdown.
public struct MigratingStarter: Service {
    public let store: any RunStore
    public let retry: RetryPolicy
    public let logger: Logger

    public init(store: any RunStore, retry: RetryPolicy = .storeReconnect, logger: Logger) {
        self.store = store
        self.retry = retry
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await store.migrate()
                break
            } catch {
                failures += 1
                logger.warning("cannot migrate the run store yet, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: retry.backoff(afterFailures: failures))
            }
        }
        try? await gracefulShutdown()
    }
}
