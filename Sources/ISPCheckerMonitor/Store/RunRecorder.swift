import Foundation
import ISPChecker
import Logging

/// What happened to a run handed to `RunRecorder.record`.
public enum RecordOutcome: Sendable, Equatable {
    /// Committed to the store: durable.
    case stored
    /// The store is unreachable (or runs are already waiting): kept in memory, written when the
    /// store is back. Durable only with a spool file (`RunRecorder.openSpool(at:)`).
    case queued
    /// The store refused this run for good (`RunStoreError.rejected`): set aside, logged and
    /// counted in `isp_checker_store_rejected_runs_total`; it will not be retried.
    case rejected
}

/// Writes runs to a `RunStore`, and keeps them in a queue while the store is unreachable,
/// retrying with the backoff of a `RetryPolicy` (`backoff(afterFailures:)`: it never gives up)
/// until they are written.
///
/// The queue drains in chunks of `chunkSize` runs, oldest first, each chunk one `insert` (one
/// multi-row statement for PostgreSQL) within the store's operation timeout; a committed chunk
/// leaves the queue at once, so a long outage drains however long the queue grew. A chunk the
/// store refuses (`RunStoreError.rejected`) is split in halves until the refused runs are
/// found: they are set aside (logged, counted) and every other run is written. The stores
/// ignore an id they already have, so a retry after a lost acknowledgement writes nothing twice.
///
/// With a spool file (`openSpool(at:)`) every queued run is also appended to it and synced
/// before `record` returns, read back at the next start, and the file is emptied once the queue
/// has drained: a crash or `kill -9` during an outage loses no run.
public actor RunRecorder {
    public nonisolated let store: any RunStore
    private let backoff: RetryPolicy
    private let maximumPendingRuns: Int
    /// Runs per `insert` when the queue drains.
    public nonisolated let chunkSize: Int
    private let logger: Logger
    private let metrics: MonitorMetrics?
    private let onDurable: @Sendable ([String]) -> Void
    private let onSpooled: @Sendable ([String]) -> Void

    private var pending: [RunReport] = []
    private var consecutiveFailures = 0
    private var lastError: String?
    private var droppedRuns = 0
    private var rejectedRuns = 0
    /// Queued runs written since the queue was last empty (for the "drained" log line).
    private var drainedRuns = 0
    private var spool: RunSpool?
    private let wakeUp: AsyncStream<Void>
    private let wakeUpContinuation: AsyncStream<Void>.Continuation

    /// The default chunk: 500 runs of ~2 KB are ~1 MB per statement, well inside the 5 s
    /// operation timeout even on a slow link, and 3,000 bind parameters of PostgreSQL's 65,535.
    public static let defaultChunkSize = 500

    /// - Parameters:
    ///   - backoff: the pause after each failed write grows as this policy's backoff does, up to
    ///     its `maxDelay`, without jitter (one store, one client); its `maxAttempts` does not apply.
    ///   - maximumPendingRuns: beyond this many queued runs the oldest are dropped (logged, counted).
    ///   - chunkSize: runs per `insert` when the queue drains (at least 1).
    ///   - metrics: when given, kept up to date: pending gauge, rejected and dropped counters.
    ///   - onDurable: called with the ids of runs once they are committed (acknowledgement).
    ///   - onSpooled: called with the ids of queued runs once they are synced to the spool file.
    public init(store: any RunStore, backoff: RetryPolicy = .storeReconnect,
                maximumPendingRuns: Int = 100_000, chunkSize: Int = RunRecorder.defaultChunkSize,
                metrics: MonitorMetrics? = nil, logger: Logger = Logger(label: "isp-checker.recorder"),
                onDurable: @escaping @Sendable ([String]) -> Void = { _ in },
                onSpooled: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.store = store
        self.backoff = backoff
        self.maximumPendingRuns = max(1, maximumPendingRuns)
        self.chunkSize = max(1, chunkSize)
        self.metrics = metrics
        self.logger = logger
        self.onDurable = onDurable
        self.onSpooled = onSpooled
        (wakeUp, wakeUpContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs waiting for the store.
    public var pendingCount: Int { pending.count }
    /// Runs dropped because the queue was full.
    public var droppedCount: Int { droppedRuns }
    /// Runs the store refused for good and that were set aside.
    public var rejectedCount: Int { rejectedRuns }
    /// Whether the last write reached the store.
    public var storeReachable: Bool { consecutiveFailures == 0 }
    /// The last store error, while the store is failing.
    public var lastStoreError: String? { lastError }

    /// Keeps the queue in `path` from now on, and queues the runs a previous process left there
    /// (they are written when the flusher runs). Call once, before recording.
    /// - Returns: how many runs were read back.
    @discardableResult
    public func openSpool(at path: String) throws(RunSpoolError) -> Int {
        let spool = try RunSpool(path: path)
        let (runs, unreadable) = try spool.load()
        if unreadable > 0 {
            logger.warning("spool file \(path): skipped \(unreadable) unreadable lines (cut short by a crash?)")
        }
        self.spool = spool
        if !runs.isEmpty {
            logger.info("spool file \(path): \(runs.count) runs left by the last process, queued for the store")
            pending.append(contentsOf: runs)
            trimToCapacity()
            wakeUpContinuation.yield()
        }
        metrics?.setPendingRuns(pending.count)
        return runs.count
    }

    /// Writes the run, or queues it when the store cannot take it now.
    @discardableResult
    public func record(_ report: RunReport) async -> RecordOutcome {
        if pending.isEmpty {
            do {
                try await store.insert(report)
                noteSuccess()
                onDurable([report.id])
                return .stored
            } catch RunStoreError.rejected(let reason) {
                noteSuccess()  // the store answered: it is reachable
                setAside(report, reason: reason)
                return .rejected
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
                if await writePendingChunk() { continue }
                do { try await Task.sleep(for: backoff.backoff(afterFailures: consecutiveFailures)) } catch { return }
            }
            if Task.isCancelled { return }
        }
    }

    /// Writes the queue, retrying with backoff, until it is empty or `timeout` has passed.
    /// Returns the runs still queued (0 when everything is written or set aside).
    @discardableResult
    public func flush(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while !pending.isEmpty {
            if await writePendingChunk() { continue }
            let pause = min(backoff.backoff(afterFailures: consecutiveFailures), deadline - ContinuousClock.now)
            guard pause > .zero else { break }
            do { try await Task.sleep(for: pause) } catch { break }
        }
        if !pending.isEmpty {
            let kept = spool.map { " (kept in the spool file \($0.path), written at the next start)" } ?? ""
            logger.error("run store still unreachable: \(pending.count) runs not written\(kept)",
                         metadata: ["error": "\(lastError ?? "-")"])
        }
        return pending.count
    }

    /// What writing one chunk did: runs committed, runs set aside, and the failure that stopped it.
    private struct ChunkResult {
        var written: [String] = []
        var setAside = 0
        var failure: (any Error)?
        var handled: Int { written.count + setAside }
    }

    /// One attempt at the oldest chunk of the queue. Returns false when the store failed
    /// (transiently) before the whole chunk was handled; the handled part leaves the queue.
    private func writePendingChunk() async -> Bool {
        guard !pending.isEmpty else { return true }
        let chunk = pending.prefix(chunkSize)
        var result = ChunkResult()
        await write(chunk, into: &result)
        // Only appends (at the end) and drops (at the front) can happen meanwhile: what is left
        // of the handled runs is still the queue's first elements.
        let handledIDs = Set(chunk.prefix(result.handled).map(\.id))
        var leaving = 0
        while leaving < pending.count, handledIDs.contains(pending[leaving].id) { leaving += 1 }
        pending.removeFirst(leaving)
        drainedRuns += result.written.count
        if !result.written.isEmpty { onDurable(result.written) }
        if let failure = result.failure {
            // Cancelled (shutdown): not the store's fault; the final flush retries.
            if !(failure is CancellationError) { noteFailure(failure) }
        } else {
            noteSuccess()
        }
        if pending.isEmpty { queueDrained() }
        metrics?.setPendingRuns(pending.count)
        return result.failure == nil
    }

    /// Inserts `runs`; when the store refuses them, halves until each refused run is alone and
    /// sets it aside. Stops at the first other failure, so what was handled is a prefix of `runs`.
    private func write(_ runs: ArraySlice<RunReport>, into result: inout ChunkResult) async {
        do {
            try await store.insert(Array(runs))
            result.written += runs.map(\.id)
        } catch RunStoreError.rejected(let reason) {
            guard runs.count > 1 else {
                setAside(runs[runs.startIndex], reason: reason)
                result.setAside += 1
                return
            }
            let middle = runs.startIndex + runs.count / 2
            await write(runs[..<middle], into: &result)
            guard result.failure == nil else { return }
            await write(runs[middle...], into: &result)
        } catch {
            result.failure = error
        }
    }

    private func setAside(_ report: RunReport, reason: String) {
        rejectedRuns += 1
        metrics?.countRejectedRuns(1)
        logger.error("run store refused a run for good: set aside, not retried", metadata: [
            "run_id": "\(report.id)", "target": "\(report.target)", "error": "\(reason)"])
    }

    private func queueDrained() {
        if drainedRuns > 0 {
            logger.info("run store queue drained: wrote \(drainedRuns) queued runs")
            drainedRuns = 0
        }
        guard let spool, spool.lineCount > 0 else { return }
        do { try spool.clear() } catch {
            logger.error("\(error)")
        }
    }

    private func enqueue(_ report: RunReport) {
        pending.append(report)
        if let spool {
            do {
                try spool.append([report])
                onSpooled([report.id])
                // Lines of runs written (or dropped) meanwhile stay until the queue drains; on a
                // very long outage compact the file so it stays about the queue's size.
                if spool.lineCount > 2 * maximumPendingRuns { try spool.rewrite(pending) }
            } catch {
                logger.error("\(error)")
            }
        }
        trimToCapacity()
        metrics?.setPendingRuns(pending.count)
        wakeUpContinuation.yield()
    }

    private func trimToCapacity() {
        guard pending.count > maximumPendingRuns else { return }
        let excess = pending.count - maximumPendingRuns
        pending.removeFirst(excess)
        droppedRuns += excess
        metrics?.countDroppedRuns(excess)
        logger.error("run queue full (\(maximumPendingRuns)): dropped \(excess) oldest runs")
    }

    private func noteSuccess() {
        consecutiveFailures = 0
        lastError = nil
    }

    private func noteFailure(_ error: any Error) {
        consecutiveFailures += 1
        lastError = String(describing: error)
        if consecutiveFailures == 1 {
            logger.warning("run store unreachable, queueing runs\(spool.map { " (spool file \($0.path))" } ?? " in memory")",
                           metadata: ["error": "\(error)"])
        }
    }
}

extension RetryPolicy {
    /// How the monitor reconnects to its run store when nothing else is configured: 250 ms,
    /// 500 ms, 1 s, … up to 10 s between attempts, never giving up.
    public static let storeReconnect = RetryPolicy(initialDelay: .milliseconds(250), maxDelay: .seconds(10), jitter: .none)
}
