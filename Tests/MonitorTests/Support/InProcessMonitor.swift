import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Logging
import ServiceLifecycle
import TestSupport

/// The monitor's pieces running in this process on a free loopback port, fed through `feed`.
/// `stop()` shuts the group down gracefully (drain and flush), as SIGTERM would.
final class InProcessMonitor: Sendable {
    let port: Int
    let store: any RunStore
    let recorder: RunRecorder
    let metrics: MonitorMetrics
    let state: MonitorState
    let feed: AsyncStream<RunReport>.Continuation
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init(store: any RunStore, extraServices: [any Service] = [], apiKey: String? = nil, probe: ProbeEndpoint? = nil,
         backoff: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1)),
         metrics: MonitorMetrics = MonitorMetrics(), incidents: IncidentRecorder? = nil) async throws {
        var logger = Logger(label: "monitor-test")
        logger.logLevel = .warning
        self.store = store
        self.metrics = metrics
        state = MonitorState(metrics: metrics)
        recorder = RunRecorder(store: store, backoff: backoff, metrics: metrics, logger: logger)
        let (runs, feed) = AsyncStream<RunReport>.makeStream()
        self.feed = feed
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = MonitorHTTPServer.makeApplication(
            configuration: MonitorHTTPConfiguration(port: 0, apiKey: apiKey, probe: probe),
            recorder: recorder, metrics: metrics, state: state, logger: logger
        ) { port in portContinuation.yield(port) }
        let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger,
                                     incidents: incidents)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: extraServices.map { .init(service: $0) } + [.init(service: app), .init(service: monitor)],
            logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HarnessError.failed("server did not start") }
        self.port = port
    }

    /// Hands a run to the monitor, as the scheduler would.
    func submit(_ report: RunReport) { feed.yield(report) }

    /// Waits until the store holds `count` runs in all.
    func waitForStoredRuns(_ count: Int, timeout: Duration = .seconds(30)) async throws -> Bool {
        try await eventually(timeout: timeout) { try await store.runs(matching: RunQuery(limit: 1)).total >= count }
    }

    func stop() async {
        feed.finish()
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A synthetic run for `target` at `timestamp` (whole seconds, so it survives the JSON round trip).
func sampleRun(_ index: Int, target: String = "lab.invalid", timestamp: Date) -> RunReport {
    let whole = Date(timeIntervalSince1970: timestamp.timeIntervalSince1970.rounded(.down))
    let report = DemoRunSource.report(index: index, target: target, timestamp: whole)
    // As the store gives it back: a whole Double detail (17.0) reads back as an Int (17).
    return try! RunReport.decoder.decode(RunReport.self, from: StoredRun.encoder.encode(report))
}
