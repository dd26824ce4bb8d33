import Foundation
import Logging
import ISPCheckerPrimitives
import ServiceLifecycle

/// Deletes runs older than the retention period (runbook: 30 days), and incidents that ended
/// before it, at start and then every
/// `interval`, until graceful shutdown.
public struct RetentionJob: Service {
    public let store: any RunStore
    public let retention: Duration
    public let interval: Duration
    private let logger: Logger
    private let now: @Sendable () -> Date

    /// The runbook's retention.
    public static let defaultRetention: Duration = .seconds(30 * 24 * 3600)

    public init(store: any RunStore, retention: Duration = RetentionJob.defaultRetention, interval: Duration = .seconds(3600),
                logger: Logger = Logger(label: "isp-checker.retention"), now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    /// One pass: deletes what is older than `now - retention`; returns how many runs went.
    @discardableResult
    public func runOnce() async throws -> Int {
        let cutoff = now().addingTimeInterval(-retention.seconds)
        let deleted = try await store.deleteRuns(olderThan: cutoff)
        if deleted > 0 { logger.info("retention deleted \(deleted) runs older than \(cutoff)") }
        // Incidents go with their runs: closed ones that ended before the cutoff (open ones stay).
        if let incidents = store as? any IncidentStore {
            let gone = try await incidents.deleteIncidents(endedBefore: cutoff)
            if gone > 0 { logger.info("retention deleted \(gone) incidents that ended before \(cutoff)") }
        }
        return deleted
    }

    public func run() async throws {
        // Sleeping is cancelled on graceful shutdown: the job just stops.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await runOnce() } catch is CancellationError { return } catch {
                    logger.warning("retention pass failed, will retry", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
