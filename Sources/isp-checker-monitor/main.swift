import ArgumentParser
import Dispatch
import Foundation
import ISPChecker
import ISPCheckerConfig
import ISPCheckerMonitor
import Logging
import ServiceLifecycle

/// Starts the monitor's HTTP server and run history, fed by the scheduler over the targets of
/// `--config FILE` (real checks: needs root or CAP_NET_RAW) or by synthetic runs (`--demo-runs`).
/// Prints `listening HOST:PORT` once serving and `stored ID` for every run once it is durable
/// (the acknowledgement tests rely on). Flags override the file.
@main
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isp-checker-monitor",
        abstract: "Check the configured targets and serve /metrics, /health and /api/v1/runs over a SQLite or PostgreSQL run history.",
        discussion: "The configuration file (docs/monitor.md) holds targets, store, http and the runbook's retry_policy, circuit_breaker and probe_intervals.")

    @Option(name: .customLong("config"), help: "YAML configuration file (targets, store, http, retry_policy, circuit_breaker, probe_intervals).")
    var configPath: String?

    @Option(name: .customLong("sqlite"), help: "SQLite database file (the default store).")
    var sqlitePath: String?

    @Option(name: .customLong("postgres"), help: "PostgreSQL URL postgres://user[:password]@host[:port]/database.")
    var postgresURL: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "TCP port to listen on (0 picks a free one; default 9464).")
    var port: Int?

    @Option(name: .customLong("api-key"), help: "Require this key for /api/* (X-API-Key or Authorization: Bearer).")
    var apiKey: String?

    @Option(name: .customLong("demo-runs"), help: "Synthetic runs to record (0: until stopped). No packets are sent.")
    var demoRuns: Int?

    @Option(name: .customLong("demo-interval-ms"), help: "Pause between synthetic runs, in milliseconds.")
    var demoIntervalMilliseconds: Int = 1000

    @Option(name: .customLong("demo-target"), help: "Target name(s) for synthetic runs (repeatable).")
    var demoTargets: [String] = ["demo.invalid"]

    @Option(name: .customLong("retention-days"), help: "Delete runs older than this many days (default 30).")
    var retentionDays: Int?

    @Option(name: .customLong("retention-interval-seconds"), help: "How often the retention job runs.")
    var retentionIntervalSeconds: Int = 3600

    @Option(help: "Started as root: the user (USER or USER:GROUP) to continue as once the sockets, capture and store are open (default nobody, with its group nogroup).")
    var user: String?

    /// The settings after merging the file and the flags (flags win).
    struct Settings {
        var file = MonitorConfiguration()
        var sqlitePath: String?
        var postgresURL: String?
        var host = "127.0.0.1"
        var port = 9464
        var apiKey: String?
        var retentionDays = 30
        var account = ProcessPrivileges.Account.default
    }

    func validate() throws {
        // First, before the configuration is read: a set-user-ID install reads as root what its caller names.
        do { try ProcessPrivileges.refuseSetUserIDInstall() } catch {
            FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
            throw ExitCode(77)
        }
        let settings = try resolve()
        if (settings.sqlitePath == nil) == (settings.postgresURL == nil) {
            throw ValidationError("give exactly one of --sqlite PATH or --postgres URL (or store: in --config)")
        }
        guard (0...65535).contains(settings.port) else { throw ValidationError("--port must be 0 ... 65535, got \(settings.port)") }
        let days = MonitorConfiguration.Store.retentionDaysRange
        guard days.contains(settings.retentionDays) else {
            throw ValidationError("--retention-days must be \(days.lowerBound) ... \(days.upperBound), got \(settings.retentionDays)")
        }
        guard (1...86_400).contains(retentionIntervalSeconds) else {
            throw ValidationError("--retention-interval-seconds must be 1 ... 86400, got \(retentionIntervalSeconds)")
        }
        if let demoRuns, !(0...100_000_000).contains(demoRuns) { throw ValidationError("--demo-runs must be 0 ... 100000000, got \(demoRuns)") }
        guard (0...86_400_000).contains(demoIntervalMilliseconds) else {
            throw ValidationError("--demo-interval-ms must be 0 ... 86400000, got \(demoIntervalMilliseconds)")
        }
        guard !demoTargets.isEmpty else { throw ValidationError("--demo-target needs a name") }
        _ = try monitoredTargets(settings.file)
    }

    /// Reads `--config` (an invalid file: its problems on standard error, exit 64) and applies the flags.
    func resolve() throws -> Settings {
        var settings = Settings()
        if let configPath {
            do {
                settings.file = try MonitorConfiguration.load(contentsOfFile: configPath)
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
                throw ExitCode(64)
            }
            if settings.file.targets.isEmpty && demoRuns == nil {
                throw ValidationError("\(configPath) lists no targets (add a targets: section, or use --demo-runs)")
            }
        }
        let file = settings.file
        if sqlitePath != nil || postgresURL != nil {
            // A store flag replaces the file's store.
            settings.sqlitePath = sqlitePath
            settings.postgresURL = postgresURL
        } else {
            settings.sqlitePath = file.store.sqlitePath
            settings.postgresURL = file.store.postgresURL
        }
        settings.host = host ?? file.http.host ?? settings.host
        settings.port = port ?? file.http.port ?? settings.port
        settings.apiKey = apiKey ?? file.http.apiKey
        settings.retentionDays = retentionDays ?? file.store.retentionDays ?? settings.retentionDays
        if let user = user ?? file.user {
            do { settings.account = try ProcessPrivileges.Account(parsing: user) } catch { throw ValidationError("--user: \(error)") }
        }
        return settings
    }

    /// The file's targets as checks: ping + traceroute, DNS when a name is known, HTTP with a URL.
    func monitoredTargets(_ file: MonitorConfiguration) throws -> [MonitoredTarget] {
        try file.targets.enumerated().map { index, target in
            let place = "targets[\(index)]"
            var probes: [AdditionalProbe] = []
            let name = target.dnsName ?? (IPAddress(target.host) == nil ? target.host : nil)
            if let name {
                let resolvers: [DNSResolverAddress]
                do {
                    resolvers = try target.resolvers.isEmpty ? DNSResolverAddress.runbookDefault
                        : target.resolvers.map { try DNSResolverAddress(parsing: $0) }
                    try DNSProbe.validate(name: name)
                } catch {
                    throw ValidationError("\(place): \(error)")
                }
                probes.append(.dns(name, options: DNSProbeOptions(resolvers: resolvers)))
            }
            if let url = target.url {
                do { try HTTPProbe.validate(url: url) } catch { throw ValidationError("\(place).url: \(error)") }
                probes.append(.http(url))
            }
            return MonitoredTarget(target: ProbeTarget(target.host, class: target.targetClass),
                                   options: HealthCheckOptions(target: target.host, additionalProbes: probes))
        }
    }

    /// Opens what needs privileges on the main thread while it is the only one (the engine's
    /// sockets and capture; the SQLite store handed to the account it continues as), drops
    /// every privilege of the process, and only then starts the concurrency pool, the HTTP
    /// server and the store: no thread of it ever holds a capability or, started as root, uid 0.
    func run() throws {
        let settings = try resolve()
        let targets = try monitoredTargets(settings.file)
        // One engine per process, opened first: it needs root or CAP_NET_RAW.
        var engine: ProbeEngine?
        if !targets.isEmpty {
            do {
                engine = try ProbeEngine(configuration: EngineConfiguration(capabilities: ProcessPrivileges.enginePolicy))
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: cannot open the probe engine (run as root or with CAP_NET_RAW): \(error)\n".utf8))
                throw ExitCode(77)
            }
        }
        do {
            if let sqlitePath = settings.sqlitePath { try ProcessPrivileges.handOver(databaseFile: sqlitePath, to: settings.account) }
            try ProcessPrivileges.drop(to: settings.account)
        } catch {
            FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
            throw ExitCode(77)
        }
        let opened = engine
        try runBlocking { try await serve(settings: settings, targets: targets, engine: opened) }
    }

    func serve(settings: Settings, targets: [MonitoredTarget], engine: ProbeEngine?) async throws {
        var logger = Logger(label: "isp-checker-monitor")
        logger.logLevel = .info

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let store: any RunStore
        if let postgresURL = settings.postgresURL {
            let postgres = try PostgresRunStore(url: postgresURL, logger: logger)
            services.append(.init(service: postgres))
            store = postgres
        } else {
            store = try await SQLiteRunStore(path: settings.sqlitePath!)
        }

        let metrics = MonitorMetrics()
        let state = MonitorState(metrics: metrics)
        // The store reconnects with the configured retry_policy's backoff (the runbook's 1 s ×2 up to 30 s).
        let recorder = RunRecorder(store: store, backoff: RetryPolicyBackoff(settings.file.resilience.retryPolicy), logger: logger) { ids in
            emitLine(ids.map { "stored \($0)" }.joined(separator: "\n"))
        }
        let host = settings.host
        let app = MonitorHTTPServer.makeApplication(
            configuration: MonitorHTTPConfiguration(host: host, port: settings.port, apiKey: settings.apiKey),
            recorder: recorder, metrics: metrics, state: state, logger: logger
        ) { port in
            emitLine("listening \(host):\(port)")
        }
        services.append(.init(service: app))
        services.append(.init(service: MigratingStarter(store: store, logger: logger)))
        services.append(.init(service: RetentionJob(
            store: store, retention: .seconds(settings.retentionDays * 24 * 3600), interval: .seconds(retentionIntervalSeconds), logger: logger)))
        if let engine {
            let breakerLogger = logger
            for target in targets { state.setCircuitBreakerState(.closed, target: target.target.name) }
            let runs = CheckedRunSource(
                targets: targets, checker: HealthChecker(engine: engine), settings: settings.file.resilience,
                onBreakerChange: { change in
                    breakerLogger.warning("\(change)")
                    state.setCircuitBreakerState(BreakerState(change.to), target: change.target)
                },
                history: { [history = RunHistory(store: store, metrics: metrics, logger: logger)] target in
                    await history.recentRuns(of: target)
                },
                logger: logger)
            let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger)
            services.append(.init(service: monitor))
        } else if let demoRuns {
            let runs = DemoRunSource(targets: demoTargets, count: demoRuns == 0 ? nil : demoRuns,
                                     interval: .milliseconds(demoIntervalMilliseconds))
            let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger)
            // The demo ending must not stop the server.
            services.append(.init(service: monitor, successTerminationBehavior: .ignore))
        }

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        engine?.shutdown()
    }
}

/// Runs the monitor's async work from the synchronous `run`, which must stay the only thread
/// until every privilege is gone (threads inherit their creator's capabilities).
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    // Written by the task before `signal`, read after `wait`: the semaphore orders the two.
    nonisolated(unsafe) var failure: (any Error)?
    Task.detached {
        do { try await body() } catch { failure = error }
        done.signal()
    }
    done.wait()
    if let failure { throw failure }
}

extension BreakerState {
    /// The monitor's name for a library breaker state.
    init(_ state: CircuitState) {
        switch state {
        case .closed: self = .closed
        case .halfOpen: self = .halfOpen
        case .open: self = .open
        }
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
