import Foundation
import ISPChecker
import Logging

/// What happened to a run handed to `RunRecorder.record`.
public enum RecordOutcome: Sendable, Equatable {
    /// Committed to the store: durable.
    case stored
    /// The store is unreachable (or runs are already waiting): kept in memory, written when the
    /// store is back. Not yet durable.
    case queued
}

/// Writes runs to a `RunStore`, and keeps them in an in-memory queue while the store is
/// unreachable, retrying with a `ReconnectBackoff` until they are written. Writes are retried
/// whole; the stores ignore an id they already have, so a retry after a lost acknowledgement
/// writes nothing twice.
public actor RunRecorder {
    public nonisolated let store: any RunStore
    private let backoff: any ReconnectBackoff
    private let maximumPendingRuns: Int
    private let logger: Logger
    private let onDurable: @Sendable ([String]) -> Void

    private var pending: [RunReport] = []
    private var consecutiveFailures = 0
    private var lastError: String?
    private var droppedRuns = 0
    private let wakeUp: AsyncStream<Void>
    private let wakeUpContinuation: AsyncStream<Void>.Continuation

    /// - Parameters:
    ///   - maximumPendingRuns: beyond this many queued runs the oldest are dropped (and logged).
    ///   - onDurable: called with the ids of runs once they are committed (acknowledgement).
    public init(store: any RunStore, backoff: any ReconnectBackoff = ExponentialReconnectBackoff.default,
                maximumPendingRuns: Int = 100_000, logger: Logger = Logger(label: "isp-checker.recorder"),
                onDurable: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.store = store
        self.backoff = backoff
        self.maximumPendingRuns = maximumPendingRuns
        self.logger = logger
        self.onDurable = onDurable
        (wakeUp, wakeUpContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs waiting in memory for the store.
    public var pendingCount: Int { pending.count }
    /// Runs dropped because the queue was full.
    public var droppedCount: Int { droppedRuns }
    /// Whether the last write reached the store.
    public var storeReachable: Bool { consecutiveFailures == 0 }
    /// The last store error, while the store is failing.
    public var lastStoreError: String? { lastError }

    /// Writes the run, or queues it when the store cannot take it now.
    @discardableResult
    public func record(_ report: RunReport) async -> RecordOutcome {
        if pending.isEmpty {
            do {
                try await store.insert(report)
                noteSuccess()
                onDurable([report.id])
                return .stored
            } catch {
                noteFailure(error)
            }
        }
        enqueue(report)
        return .queued
    }

    /// Retries the queue with backoff until cancelled. Run it in a child task of the monitor.
    public func runFlusher() async {
        for await _ in wakeUp {
            while !pending.isEmpty && !Task.isCancelled {
                if await writePendingOnce() { continue }
                do { try await Task.sleep(for: backoff.delay(afterFailures: consecutiveFailures)) } catch { return }
            }
            if Task.isCancelled { return }
        }
    }

    /// Writes the queue, retrying with backoff, until it is empty or `timeout` has passed.
    /// Returns the runs still queued (0 when everything is durable).
    @discardableResult
    public func flush(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while !pending.isEmpty {
            if await writePendingOnce() { continue }
            let pause = min(backoff.delay(afterFailures: consecutiveFailures), deadline - ContinuousClock.now)
            guard pause > .zero else { break }
            do { try await Task.sleep(for: pause) } catch { break }
        }
        if !pending.isEmpty {
            logger.error("run store still unreachable: \(pending.count) runs not written", metadata: ["error": "\(lastError ?? "-")"])
        }
        return pending.count
    }

    /// One attempt at writing everything queued now. Runs queued meanwhile stay for the next.
    private func writePendingOnce() async -> Bool {
        let batch = pending
        guard !batch.isEmpty else { return true }
        do {
            try await store.insert(batch)
        } catch {
            noteFailure(error)
            return false
        }
        let written = Set(batch.map(\.id))
        pending.removeAll { written.contains($0.id) }
        noteSuccess()
        logger.info("run store reachable again: wrote \(batch.count) queued runs")
        onDurable(batch.map(\.id))
        return true
    }

    private func enqueue(_ report: RunReport) {
        pending.append(report)
        if pending.count > maximumPendingRuns {
            let excess = pending.count - maximumPendingRuns
            pending.removeFirst(excess)
            droppedRuns += excess
            logger.error("run queue full (\(maximumPendingRuns)): dropped \(excess) oldest runs")
        }
        wakeUpContinuation.yield()
    }

    private func noteSuccess() {
        consecutiveFailures = 0
        lastError = nil
    }

    private func noteFailure(_ error: any Error) {
        consecutiveFailures += 1
        lastError = String(describing: error)
        if consecutiveFailures == 1 {
            logger.warning("run store unreachable, keeping runs in memory", metadata: ["error": "\(error)"])
        }
    }
}
