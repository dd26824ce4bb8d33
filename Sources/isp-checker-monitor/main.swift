import ArgumentParser
import Dispatch
import Foundation
import ISPChecker
import ISPCheckerPrimitives
import ISPCheckerConfig
import ISPCheckerMonitor
import Logging
import ServiceLifecycle

/// Starts the monitor's HTTP server and run history, fed by the scheduler over the targets of
/// `--config FILE` (real checks: needs root or CAP_NET_RAW) or by synthetic runs (`--demo-runs`).
/// Prints `listening HOST:PORT` once serving and `stored ID` for every run once it is durable
/// (the acknowledgement tests rely on). Flags override the file.
/// The default subcommand of `isp-checker-monitor` (`serve`); the others keep the history
/// (BackupCommands.swift).
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Check the configured targets and serve /metrics, /health and /api/v1/runs over a SQLite or PostgreSQL run history.",
        discussion: "The configuration file (docs/monitor.md) holds targets, store, http and the runbook's retry_policy, circuit_breaker and probe_intervals.")

    @Option(name: .customLong("config"), help: "YAML configuration file (targets, store, http, retry_policy, circuit_breaker, probe_intervals).")
    var configPath: String?

    @Option(name: .customLong("sqlite"), help: "SQLite database file (the default store).")
    var sqlitePath: String?

    @Option(name: .customLong("postgres"), help: "PostgreSQL URL postgres://user[:password]@host[:port]/database[?sslmode=MODE&sslrootcert=CA.pem].")
    var postgresURL: String?

    @Option(name: .customLong("postgres-url-file"), help: "File holding the PostgreSQL URL (keeps its password out of ps). Env: ISP_CHECKER_POSTGRES_URL.")
    var postgresURLFile: String?

    @Option(name: .customLong("spool"), help: "File keeping the queue of runs not yet written, so a crash during a store outage loses none.")
    var spoolPath: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "TCP port to listen on (0 picks a free one; default 9464).")
    var port: Int?

    @Option(name: .customLong("api-key"), help: "Require this key for /api/* (X-API-Key or Authorization: Bearer).")
    var apiKey: String?

    @Option(name: .customLong("api-key-file"), help: "File holding the API key (keeps it out of ps). Env: ISP_CHECKER_API_KEY.")
    var apiKeyFile: String?

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

    @Option(help: "Where this monitor stands, recorded on every run and as the vantage label (default: vantage: in --config, else the host name). Monitors with one vantage on one PostgreSQL share its targets.")
    var vantage: String?

    @Flag(name: .customLong("check-config"), help: "Load and validate --config (and the flags) as a start would, print a summary and exit: 0 when valid, 64 listing every problem with its key and line. Opens no socket.")
    var checkConfig = false

    /// The settings after merging the file and the flags (flags win).
    struct Settings {
        var file = MonitorConfiguration()
        var sqlitePath: String?
        var postgresURL: String?
        var host = "127.0.0.1"
        var port = 9464
        var apiKey: String?
        var spoolPath: String?
        var retentionDays = 30
        var account = ProcessPrivileges.Account.default
        /// `--vantage`, else the file's `vantage:`, else the host name (`MonitorVantage.hostDefault`).
        var vantage = MonitorVantage.hostDefault
        /// Whether the vantage was named (`--vantage` or `vantage:`): only then do the metrics
        /// carry it as a label, so a single monitor keeps the runbook's series (`{target}`).
        var vantageNamed = false
    }

    func validate() throws {
        // First, before the configuration is read: a set-user-ID install reads as root what its caller names.
        do { try ProcessPrivileges.refuseSetUserIDInstall() } catch {
            FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.noPermission)
        }
        // --check-config reports every problem itself, from run (ConfigCheck.swift).
        if checkConfig { return }
        try validateStart()
    }

    /// What a start refuses before it opens anything: the file, the flags and their ranges.
    func validateStart() throws {
        let settings = try resolve(warnings: false)
        if (settings.sqlitePath == nil) == (settings.postgresURL == nil) {
            throw ValidationError("give exactly one of --sqlite PATH, --postgres URL, --postgres-url-file PATH (or ISP_CHECKER_POSTGRES_URL, or store: in --config)")
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

    /// Reads `--config` (an invalid file: its problems on standard error, exit 64) and applies the
    /// flags. `warnings`: print the warnings about secrets (once, from `run`).
    func resolve(warnings: Bool = true) throws -> Settings {
        var settings = Settings()
        if let configPath {
            do {
                settings.file = try MonitorConfiguration.load(contentsOfFile: configPath)
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
                throw ExitCode(ExitStatus.usage)
            }
            if settings.file.targets.isEmpty && demoRuns == nil {
                throw ValidationError("\(configPath) lists no targets (add a targets: section, or use --demo-runs)")
            }
        }
        let file = settings.file
        // Secrets: flag, then flag's file, then environment, then the configuration file.
        if postgresURL != nil && postgresURLFile != nil {
            throw ValidationError("give either --postgres or --postgres-url-file, not both")
        }
        if sqlitePath != nil || postgresURL != nil || postgresURLFile != nil {
            // A store flag replaces the file's store.
            settings.sqlitePath = sqlitePath
            settings.postgresURL = try postgresURL ?? postgresURLFile.map { try MonitorSecrets.read($0, for: "--postgres-url-file", warn: warnings) }
        } else if let url = try MonitorSecrets.environment(MonitorSecrets.postgresURLVariable) {
            settings.postgresURL = url
        } else {
            settings.sqlitePath = file.store.sqlitePath
            settings.postgresURL = try file.store.postgresURL
                ?? file.store.postgresURLFile.map { try MonitorSecrets.read($0, for: "store.postgres_url_file", warn: warnings) }
        }
        if let url = settings.postgresURL { try MonitorSecrets.checkPostgresURL(url, from: "the PostgreSQL URL") }
        settings.spoolPath = spoolPath ?? file.store.spoolPath
        if let vantage, !MonitorConfiguration.isValidVantage(vantage) {
            throw ValidationError("--vantage must be 1 to 64 letters, digits, '.', '_' or '-', got \"\(vantage)\"")
        }
        settings.vantage = vantage ?? file.vantage ?? settings.vantage
        settings.vantageNamed = vantage != nil || file.vantage != nil
        settings.host = host ?? file.http.host ?? settings.host
        settings.port = port ?? file.http.port ?? settings.port
        if apiKey != nil && apiKeyFile != nil { throw ValidationError("give either --api-key or --api-key-file, not both") }
        try MonitorSecrets.checkAPIKey(apiKey, from: "--api-key")
        settings.apiKey = try apiKey
            ?? apiKeyFile.map { try MonitorSecrets.read($0, for: "--api-key-file", warn: warnings) }
            ?? MonitorSecrets.environment(MonitorSecrets.apiKeyVariable)
            ?? file.http.apiKey
            ?? file.http.apiKeyFile.map { try MonitorSecrets.read($0, for: "http.api_key_file", warn: warnings) }
        settings.retentionDays = retentionDays ?? file.store.retentionDays ?? settings.retentionDays
        if let user = user ?? file.user {
            do { settings.account = try ProcessPrivileges.Account(parsing: user) } catch { throw ValidationError("--user: \(error)") }
        }
        if warnings, let postgresURL, PostgresRunStore.redacted(url: postgresURL) != postgresURL {
            MonitorSecrets.warnOnCommandLine("--postgres with a password", instead: "--postgres-url-file or ISP_CHECKER_POSTGRES_URL")
        }
        if warnings, apiKey != nil { MonitorSecrets.warnOnCommandLine("--api-key", instead: "--api-key-file or ISP_CHECKER_API_KEY") }
        return settings
    }

    /// The file's targets as checks (`CheckPlan`): ping + traceroute, DNS when a name is known, HTTP with a URL.
    func monitoredTargets(_ file: MonitorConfiguration) throws -> [MonitoredTarget] {
        try file.targets.enumerated().map { index, target in
            do { return try MonitoredTarget(target.checkPlan) } catch { throw ValidationError("targets[\(index)]: \(error)") }
        }
    }

    /// Opens what needs privileges on the main thread while it is the only one (the engine's
    /// sockets and capture; the SQLite store handed to the account it continues as), drops
    /// every privilege of the process, and only then starts the concurrency pool, the HTTP
    /// server and the store: no thread of it ever holds a capability or, started as root, uid 0.
    func run() throws {
        if checkConfig { try checkConfiguration() }
        let settings = try resolve()
        let targets = try monitoredTargets(settings.file)
        // One engine per process, opened first: it needs root or CAP_NET_RAW. Without targets
        // (and without --demo-runs) it is opened for /probe's icmp, trace and check modules
        // only, and going without it is no error: those modules then answer 503.
        var engine: ProbeEngine?
        if targets.isEmpty && demoRuns == nil {
            engine = try? ProbeEngine(configuration: EngineConfiguration(capabilities: ProcessPrivileges.enginePolicy))
            if engine == nil {
                FileHandle.standardError.write(Data("isp-checker-monitor: warning: no probe engine (run as root or with CAP_NET_RAW): /probe's icmp, trace and check modules answer 503\n".utf8))
            }
        }
        if !targets.isEmpty {
            do {
                engine = try ProbeEngine(configuration: EngineConfiguration(capabilities: ProcessPrivileges.enginePolicy))
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: cannot open the probe engine (run as root or with CAP_NET_RAW): \(error)\n".utf8))
                throw ExitCode(ExitStatus.noPermission)
            }
        }
        do {
            if let sqlitePath = settings.sqlitePath { try ProcessPrivileges.handOver(databaseFile: sqlitePath, to: settings.account) }
            // The spool is rewritten beside itself (a file renamed over it): its folder too.
            if let spoolPath = settings.spoolPath { try ProcessPrivileges.handOver(databaseFile: spoolPath, to: settings.account) }
            try ProcessPrivileges.drop(to: settings.account)
        } catch {
            FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.noPermission)
        }
        let opened = engine
        try runBlocking { try await serve(settings: settings, targets: targets, engine: opened) }
    }

    func serve(settings: Settings, targets: [MonitoredTarget], engine: ProbeEngine?) async throws {
        var logger = Logger(label: "isp-checker-monitor")
        logger.logLevel = .info

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let store: any RunStore
        // Replicas of one vantage on one PostgreSQL share its targets (docs/scaling.md).
        var leases: PostgresTargetLeases?
        if let postgresURL = settings.postgresURL {
            let postgres = try PostgresRunStore(url: postgresURL, logger: logger)
            services.append(.init(service: postgres))
            store = postgres
            if !targets.isEmpty {
                let coordinator = PostgresTargetLeases(
                    store: postgres, vantage: settings.vantage, targetCount: targets.count,
                    lease: settings.file.lease ?? PostgresTargetLeases.defaultLease, logger: logger)
                leases = coordinator
                logger.info("sharing the vantage's targets with its other replicas", metadata: [
                    "vantage": "\(settings.vantage)", "replica": "\(coordinator.replica)", "lease": "\(coordinator.lease)"])
            }
        } else {
            store = try await SQLiteRunStore(path: settings.sqlitePath!)
        }

        let metrics = MonitorMetrics(vantage: settings.vantageNamed ? settings.vantage : nil)
        let state = MonitorState(metrics: metrics)
        // The store reconnects with the configured retry_policy's backoff (the runbook's 1 s ×2 up to 30 s).
        let recorder = RunRecorder(
            store: store, backoff: settings.file.resilience.retryPolicy, metrics: metrics, logger: logger,
            onDurable: { ids in emitLine(ids.map { "stored \($0)" }.joined(separator: "\n")) },
            onSpooled: { ids in emitLine(ids.map { "spooled \($0)" }.joined(separator: "\n")) })
        if let spoolPath = settings.spoolPath {
            do {
                try await recorder.openSpool(at: spoolPath)
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: \(error)\n".utf8))
                throw ExitCode(ExitStatus.cannotCreate)
            }
        }
        let host = settings.host
        let app = MonitorHTTPServer.makeApplication(
            configuration: MonitorHTTPConfiguration(
                host: host, port: settings.port, apiKey: settings.apiKey,
                probe: ProbeEndpoint(modules: settings.file.modules, engine: engine,
                                     concurrency: settings.file.http.probeConcurrency ?? ProbeEndpoint.defaultConcurrency,
                                     timeout: settings.file.http.probeTimeout ?? ProbeEndpoint.defaultTimeout)),
            recorder: recorder, metrics: metrics, state: state, logger: logger
        ) { port in
            emitLine("listening \(host):\(port)")
        }
        services.append(.init(service: app))
        services.append(.init(service: MigratingStarter(store: store, logger: logger)))
        // After the store's pool: a graceful stop releases the leases before the pool closes.
        if let leases { services.append(.init(service: leases)) }
        let incidents = try makeIncidents(settings.file, store: store, metrics: metrics, logger: logger, services: &services)
        services.append(.init(service: RetentionJob(
            store: store, retention: .seconds(settings.retentionDays * 24 * 3600), interval: .seconds(retentionIntervalSeconds), logger: logger)))
        if let engine, !targets.isEmpty {
            let breakerLogger = logger
            for target in targets { state.setCircuitBreakerState(.closed, target: target.target.name) }
            let runs = CheckedRunSource(
                targets: targets, checker: HealthChecker(engine: engine), settings: settings.file.resilience,
                onBreakerChange: { change in
                    breakerLogger.warning("\(change)")
                    state.setCircuitBreakerState(change.to, target: change.target)
                },
                history: { [history = RunHistory(store: store, metrics: metrics, logger: logger, vantage: settings.vantage)] target in
                    await history.recentRuns(of: target)
                },
                coordinator: leases,
                logger: logger)
            let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger,
                                         incidents: incidents, vantage: settings.vantage)
            services.append(.init(service: monitor))
        } else if let demoRuns {
            let runs = DemoRunSource(targets: demoTargets, count: demoRuns == 0 ? nil : demoRuns,
                                     interval: .milliseconds(demoIntervalMilliseconds))
            let monitor = MonitorService(runs: runs, recorder: recorder, metrics: metrics, state: state, logger: logger,
                                         incidents: incidents, vantage: settings.vantage)
            // The demo ending must not stop the server.
            services.append(.init(service: monitor, successTerminationBehavior: .ignore))
        }

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        engine?.shutdown()
    }
}

/// `isp-checker-monitor [serve] …` starts the monitor (the default, so every existing command
/// line keeps working); `backup`, `restore` and `verify` look after a SQLite history. Started
/// from the top-level call at the end of this file (a module of several files takes no `@main`
/// in main.swift).
struct MonitorRootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isp-checker-monitor",
        abstract: "Check the configured targets and serve /metrics, /health and /api/v1/runs over a SQLite or PostgreSQL run history; back up, restore and verify a SQLite history.",
        discussion: "Without a subcommand the monitor starts (serve). docs/monitor.md describes its configuration; docs/operations.md the backups.",
        subcommands: [MonitorCommand.self, BackupCommand.self, RestoreCommand.self, VerifyCommand.self],
        defaultSubcommand: MonitorCommand.self)
}

extension MonitorCommand {
    /// The incidents of the file's `incidents:` policy, told to its `notifications:` webhooks
    /// (retried with its retry_policy, one circuit_breaker each). The notifier joins the services
    /// here, before the monitor, so that it stops after the monitor's last run.
    func makeIncidents(_ file: MonitorConfiguration, store: any RunStore, metrics: MonitorMetrics, logger: Logger,
                       services: inout [ServiceGroupConfiguration.ServiceConfiguration]) throws -> IncidentRecorder? {
        guard let incidentStore = store as? any IncidentStore else { return nil }
        var notifier: WebhookNotifier?
        if !file.notifications.isEmpty {
            let webhooks = file.notifications.map { notification in
                WebhookConfiguration(name: notification.name, url: notification.url, minSeverity: notification.minSeverity,
                                     format: notification.format == .alertmanager ? .alertmanager : .json, timeout: notification.timeout)
            }
            do {
                notifier = try WebhookNotifier(webhooks: webhooks, retryPolicy: file.resilience.retryPolicy,
                                               circuitBreaker: file.resilience.circuitBreaker, metrics: metrics, logger: logger)
            } catch {
                FileHandle.standardError.write(Data("isp-checker-monitor: error: notifications: \(error)\n".utf8))
                throw ExitCode(ExitStatus.usage)
            }
            services.append(.init(service: notifier!))
        }
        return IncidentRecorder(store: incidentStore, policy: file.incidents, notifier: notifier, metrics: metrics,
                                backoff: file.resilience.retryPolicy, logger: logger)
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

/// Writes a line to standard output at once (one write(2), unbuffered), so a reader sees each
/// acknowledgement the moment it is given, even if the process is killed right after.
func emitLine(_ text: String) {
    writeAll(Array((text + "\n").utf8), to: STDOUT_FILENO)
}

/// Where the monitor takes its two secrets from, besides the command line (which every local
/// user can read in `ps`): a file (`--postgres-url-file`, `--api-key-file`, or the
/// configuration's `postgres_url_file`/`api_key_file`) or the environment.
enum MonitorSecrets {
    /// The PostgreSQL URL, when neither `--sqlite` nor `--postgres*` is given.
    static let postgresURLVariable = "ISP_CHECKER_POSTGRES_URL"
    /// The API key, when neither `--api-key` nor `--api-key-file` is given.
    static let apiKeyVariable = "ISP_CHECKER_API_KEY"

    /// The environment variable's value; an empty value counts as a mistake, not as unset.
    static func environment(_ name: String) throws -> String? {
        guard let value = ProcessInfo.processInfo.environment[name] else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ValidationError("\(name) is set but empty: unset it or give a value") }
        return trimmed
    }

    /// Longest secret file read: a URL or a key, not a data file.
    static let maximumFileBytes = 64 * 1024

    /// The secret in `path` (surrounding whitespace and the final newline removed). Only a
    /// regular file of at most 64 KiB is read (a FIFO or a device would never end). An empty,
    /// unreadable or oversized file is a usage error naming the option; a file every user may
    /// read is used, with a warning when `warn`.
    static func read(_ path: String, for option: String, warn: Bool) throws -> String {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw ValidationError("\(option) \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG, status.st_size <= maximumFileBytes else {
            throw ValidationError("\(option) \(path): expected a regular file of at most \(maximumFileBytes) bytes")
        }
        guard let handle = FileHandle(forReadingAtPath: path),
              let data = try? handle.read(upToCount: maximumFileBytes) ?? Data() else {
            throw ValidationError("\(option) \(path): cannot read the file (check this user may read it)")
        }
        try? handle.close()
        let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw ValidationError("\(option) \(path): the file is empty") }
        if warn, status.st_mode & 0o004 != 0 {
            FileHandle.standardError.write(Data(
                "isp-checker-monitor: warning: \(option) \(path) is readable by every user; chmod o-r it\n".utf8))
        }
        return value
    }

    /// Refuses an empty or blank key: it would protect nothing.
    static func checkAPIKey(_ key: String?, from source: String) throws {
        if let key, key.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("\(source): an empty API key would protect nothing; give a key or none")
        }
    }

    /// Checks the URL as the store will read it; the error quotes it without its password.
    static func checkPostgresURL(_ url: String, from source: String) throws {
        do {
            try PostgresRunStore.validate(url: url)
        } catch {
            throw ValidationError("\(source): \(error)")
        }
    }

    static func warnOnCommandLine(_ option: String, instead: String) {
        FileHandle.standardError.write(Data(
            "isp-checker-monitor: warning: \(option) on the command line is visible to every local user (ps, /proc); use \(instead)\n".utf8))
    }
}

// MARK: - --check-config

/// `isp-checker-monitor --check-config --config FILE [flags]`, as `promtool check config` is
/// for Prometheus: the file is loaded exactly as a start loads it (`MonitorConfiguration.load`,
/// which lists every problem of the file with its key and line), then what a start checks next
/// with the file's values: a store is named, the secret files read, the PostgreSQL URL is one
/// the store takes, there are targets. With no problem the flags are checked as a start checks
/// them (ArgumentParser's validation: it stops at the first). Nothing is opened but the files:
/// no socket, no engine, no store.
extension MonitorCommand {
    /// Prints the summary (exit 0) or every problem (exit 64). Always throws the exit code.
    func checkConfiguration() throws -> Never {
        guard let configPath else {
            throw ValidationError("--check-config needs --config FILE")
        }
        var problems: [String] = []
        var file: MonitorConfiguration?
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            fail(configPath, ["cannot read the file: \(error.localizedDescription)"])
        }
        do {
            file = try MonitorConfiguration.load(yaml: text, source: configPath)
        } catch {
            problems += error.problems.map(\.description)
        }
        if let file { problems += startProblems(file, text: text) }
        if !problems.isEmpty { fail(configPath, problems) }
        // The flags, as a start validates them.
        do { try validateStart() } catch {
            fail(configPath, ["\(MonitorCommand.message(for: error))"])
        }
        emitLine(summary(file!, path: configPath))
        throw ExitCode.success
    }

    /// What a start checks after loading the file, each named by key and line.
    func startProblems(_ file: MonitorConfiguration, text: String) -> [String] {
        var problems: [String] = []
        func add(_ key: String, _ reason: String) {
            problems.append(ConfigurationProblem(key: key, line: MonitorConfiguration.line(of: key, in: text), reason: reason).description)
        }
        let storeFlags = sqlitePath != nil || postgresURL != nil || postgresURLFile != nil
            || ProcessInfo.processInfo.environment[MonitorSecrets.postgresURLVariable] != nil
        if !storeFlags {
            if file.store.sqlitePath == nil && file.store.postgresURL == nil && file.store.postgresURLFile == nil {
                add("store", "no run store: give store.sqlite, store.postgres or store.postgres_url_file (or --sqlite / --postgres)")
            }
            var url = file.store.postgresURL
            var urlKey = "store.postgres"
            if let path = file.store.postgresURLFile {
                urlKey = "store.postgres_url_file"
                do { url = try MonitorSecrets.read(path, for: urlKey, warn: false) } catch { add(urlKey, MonitorCommand.message(for: error)) }
            }
            if let url {
                do { try PostgresRunStore.validate(url: url) } catch { add(urlKey, "\(error)") }
            }
        }
        if apiKey == nil && apiKeyFile == nil && ProcessInfo.processInfo.environment[MonitorSecrets.apiKeyVariable] == nil,
           let path = file.http.apiKeyFile {
            do { _ = try MonitorSecrets.read(path, for: "http.api_key_file", warn: false) } catch {
                add("http.api_key_file", MonitorCommand.message(for: error))
            }
        }
        if file.targets.isEmpty && demoRuns == nil {
            add("targets", "lists no targets (add a targets: section, or use --demo-runs)")
        }
        for (index, notification) in file.notifications.enumerated() {
            do { try WebhookNotifier.validate(url: notification.url) } catch { add("notifications[\(index)].url", "\(error)") }
        }
        return problems
    }

    func summary(_ file: MonitorConfiguration, path: String) -> String {
        var lines = ["\(path): valid"]
        lines.append("targets: \(file.targets.count)")
        for target in file.targets {
            var probes = ["ping", "traceroute"]
            if let name = target.checkPlan.dnsQueryName { probes.append("dns \(name)") }
            if let url = target.url { probes.append("http \(url)") }
            lines.append("  \(target.host)  \(target.targetClass.rawValue), every \(Self.text(file.resilience.probeIntervals[target.targetClass])), timeout \(Self.text(target.timeout)): \(probes.joined(separator: ", "))")
        }
        let intervals = TargetClass.allCases.map { "\($0.rawValue) \(Self.text(file.resilience.probeIntervals[$0]))" }
        lines.append("intervals: " + intervals.joined(separator: ", "))
        let store: String
        if let sqlite = sqlitePath ?? (postgresURL == nil && postgresURLFile == nil ? file.store.sqlitePath : nil) {
            store = "sqlite \(sqlite)"
        } else if let url = postgresURL ?? file.store.postgresURL {
            store = "postgresql \(PostgresRunStore.redacted(url: url))"
        } else {
            store = "postgresql (URL from \(postgresURLFile ?? file.store.postgresURLFile ?? "$\(MonitorSecrets.postgresURLVariable)"))"
        }
        lines.append("store: \(store), retention \(retentionDays ?? file.store.retentionDays ?? 30) days"
                     + ((spoolPath ?? file.store.spoolPath).map { ", spool \($0)" } ?? ""))
        let keyed = apiKey != nil || apiKeyFile != nil || file.http.apiKey != nil || file.http.apiKeyFile != nil
            || ProcessInfo.processInfo.environment[MonitorSecrets.apiKeyVariable] != nil
        lines.append("http: \(host ?? file.http.host ?? "127.0.0.1"):\(port ?? file.http.port ?? 9464), API key \(keyed ? "required" : "none")"
                     + ", /probe \(file.http.probeConcurrency ?? ProbeEndpoint.defaultConcurrency) at once, at most \(Self.text(file.http.probeTimeout ?? ProbeEndpoint.defaultTimeout))")
        lines.append("incidents: open at \(file.incidents.openSeverity.rawValue) or worse after \(file.incidents.openAfterRuns) runs, close after \(file.incidents.closeAfterRuns) healthy runs")
        for notification in file.notifications {
            // The URL's path and query may hold a token: only scheme, host and port are shown.
            let shown = notification.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3).joined(separator: "/")
            lines.append("  notify \(notification.name): \(shown)/… (\(notification.format.rawValue), \(notification.minSeverity.rawValue) or worse, timeout \(Self.text(notification.timeout)))")
        }
        lines.append("modules: " + file.modules.keys.sorted().map { name in
            let module = file.modules[name]!
            return name == module.prober.rawValue ? name : "\(name) (\(module.prober.rawValue))"
        }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    private func fail(_ path: String, _ problems: [String]) -> Never {
        FileHandle.standardError.write(Data((["isp-checker-monitor: \(path): \(problems.count) problem\(problems.count == 1 ? "" : "s"):"]
                                             + problems.map { "  - \($0)" }).joined(separator: "\n").utf8 + [0x0A]))
        MonitorCommand.exit(withError: ExitCode(ExitStatus.usage))
    }

    static func message(for error: any Error) -> String {
        if let error = error as? ValidationError { return error.message }
        return "\(error)"
    }

    /// `30s`, `1m30s`, `200ms`: as the file writes durations.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
            if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return milliseconds == milliseconds.rounded() ? "\(Int(milliseconds))ms" : "\(milliseconds)ms"
    }
}

MonitorRootCommand.main()
