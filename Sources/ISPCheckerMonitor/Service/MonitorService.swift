import Foundation
import ISPChecker
import Logging
import ServiceLifecycle

/// The monitor's run loop as a swift-service-lifecycle `Service`: takes each `RunReport` from
/// the scheduler's sequence, sets the metrics, and writes it to the history.
///
/// On graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`) it stops taking new runs,
/// finishes the run in hand, and flushes the store's in-memory queue (up to `flushTimeout`).
public struct MonitorService<Runs: AsyncSequence & Sendable>: Service where Runs.Element == RunReport {
    public let runs: Runs
    public let recorder: RunRecorder
    public let metrics: MonitorMetrics
    public let state: MonitorState
    /// Opens, updates and closes incidents from the runs (`nil`: none are kept).
    public let incidents: IncidentRecorder?
    /// Longest the shutdown flush waits for an unreachable store.
    public let flushTimeout: Duration
    /// Set on every run that names none (`RunReport.vantage`): where this monitor stands.
    public let vantage: String?
    private let logger: Logger

    public init(runs: Runs, recorder: RunRecorder, metrics: MonitorMetrics, state: MonitorState,
                flushTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "isp-checker.monitor"),
                incidents: IncidentRecorder? = nil, vantage: String? = nil) {
        self.incidents = incidents
        self.vantage = vantage
        self.runs = runs
        self.recorder = recorder
        self.metrics = metrics
        self.state = state
        self.flushTimeout = flushTimeout
        self.logger = logger
    }

    public func run() async throws {
        let recorder = self.recorder
        await withTaskGroup(of: Void.self) { group in
            // Retries queued runs while the store is away; cancelled once the runs stop.
            group.addTask { await recorder.runFlusher() }
            if let incidents { group.addTask { await incidents.runWriter() } }
            do {
                // Only waiting for the next run is cut short by shutdown; a run being recorded finishes.
                for try await report in runs.cancelOnGracefulShutdown() {
                    await handle(report)
                }
            } catch {
                logger.info("run sequence ended", metadata: ["reason": "\(error)"])
            }
            group.cancelAll()
        }
        let left = await recorder.flush(timeout: flushTimeout)
        if let incidents { await incidents.flush(timeout: flushTimeout) }
        metrics.setPendingRuns(left)
        logger.info("monitor stopped", metadata: ["unwritten_runs": "\(left)"])
    }

    /// Records one run: metrics, health state, then the history.
    public func handle(_ report: RunReport) async {
        var report = report
        if report.vantage == nil { report.vantage = vantage }
        let pathChange = metrics.record(report)
        state.noteRun(report)
        await recorder.record(report)
        // After the run is recorded, so the incident's runs are in the history when it is read.
        if let incidents {
            await incidents.observe(report)
            // A run that opened or continued an incident on a new path: the incident counts it.
            if pathChange != nil { await incidents.notePathChange(target: report.target) }
        }
        metrics.setPendingRuns(await recorder.pendingCount)
    }
}
