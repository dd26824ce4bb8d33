import ArgumentParser
import Foundation
import ISPChecker
import ISPCheckerMonitor
import Logging
import ServiceLifecycle

/// Starts the monitor's HTTP server and run history, fed by synthetic runs (`--demo-runs`)
/// until the scheduler is wired in. Prints `listening HOST:PORT` once serving and
/// `stored ID` for every run once it is durable (the acknowledgement tests rely on).
@main
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isp-checker-monitor",
        abstract: "Serve /metrics, /health and /api/v1/runs over a SQLite or PostgreSQL run history.")

    @Option(name: .customLong("sqlite"), help: "SQLite database file (the default store).")
    var sqlitePath: String?

    @Option(name: .customLong("postgres"), help: "PostgreSQL URL postgres://user[:password]@host[:port]/database.")
    var postgresURL: String?

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port: Int = 9464

    @Option(name: .customLong("api-key"), help: "Require this key for /api/* (X-API-Key or Authorization: Bearer).")
    var apiKey: String?

    @Option(name: .customLong("demo-runs"), help: "Synthetic runs to record (0: until stopped). No packets are sent.")
    var demoRuns: Int?

    @Option(name: .customLong("demo-interval-ms"), help: "Pause between synthetic runs, in milliseconds.")
    var demoIntervalMilliseconds: Int = 1000

    @Option(name: .customLong("demo-target"), help: "Target name(s) for synthetic runs (repeatable).")
    var demoTargets: [String] = ["demo.invalid"]

    @Option(name: .customLong("retention-days"), help: "Delete runs older than this many days.")
    var retentionDays: Int = 30

    @Option(name: .customLong("retention-interval-seconds"), help: "How often the retention job runs.")
    var retentionIntervalSeconds: Int = 3600

    func validate() throws {
        if (sqlitePath == nil) == (postgresURL == nil) {
            throw ValidationError("give exactly one of --sqlite PATH or --postgres URL")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard retentionDays > 0 else { throw ValidationError("--retention-days must be at least 1") }
        guard retentionIntervalSeconds > 0 else { throw ValidationError("--retention-interval-seconds must be at least 1") }
        if let demoRuns, demoRuns < 0 { throw ValidationError("--demo-runs must be 0 or more") }
        guard demoIntervalMilliseconds >= 0 else { throw ValidationError("--demo-interval-ms must be 0 or more") }
        guard !demoTargets.isEmpty else { throw ValidationError("--demo-target needs a name") }
    }

    func run() async throws {
        var logger = Logger(label: "isp-checker-monitor")
        logger.logLevel = .info
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let store: any RunStore
        if let postgresURL {
            let postgres = try PostgresRunStore(url: postgresURL, logger: logger)
            services.append(.init(service: postgres))
            store = postgres
        } else {
            store = try await SQLiteRunStore(path: sqlitePath!)
        }

        let metrics = MonitorMetrics()
        let state = MonitorState(metrics: metrics)
        let recorder = RunRecorder(store: store, logger: logger) { ids in
            emitLine(ids.map { "stored \($0)" }.joined(separator: "\n"))
        }
        let app = MonitorHTTPServer.makeApplication(
            configuration: MonitorHTTPConfiguration(host: host, port: port, apiKey: apiKey),
            recorder: recorder, metrics: metrics, state: state, logger: logger
        ) { [host] port in
            emitLine("listening \(host):\(port)")
        }
        services.append(.init(service: app))
        services.append(.init(service: MigratingStarter(store: store, logger: logger)))
        services.append(.init(service: RetentionJob(
            store: store, retention: .seconds(retentionDays * 24 * 3600), interval: .seconds(retentionIntervalSeconds), logger: logger)))
        if let demoRuns {
            let runs = DemoRunSource(targets: demoTargets, count: demoRuns == 0 ? nil : demoRuns,
                                     interval: .milliseconds(demoIntervalMilliseconds))
            let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger)
            // The demo ending must not stop the server.
            services.append(.init(service: monitor, successTerminationBehavior: .ignore))
        }

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Migrates a PostgreSQL store once its pool runs, retrying until the server answers
/// (SQLite migrates when opened). Then waits for shutdown.
struct MigratingStarter: Service {
    let store: any RunStore
    let logger: Logger

    func run() async throws {
        var failures = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await store.migrate()
                break
            } catch {
                failures += 1
                logger.warning("cannot migrate the run store yet, retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: ExponentialReconnectBackoff.default.delay(afterFailures: failures))
            }
        }
        try? await gracefulShutdown()
    }
}

/// Writes a line to standard output at once (one write(2), unbuffered), so a reader sees each
/// acknowledgement the moment it is given, even if the process is killed right after.
func emitLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        written += n
    }
}
