import Foundation
import ISPChecker
import Yams

/// The monitor's configuration file (`isp-checker monitor --config checker.yaml`): the runbook's
/// `retry_policy`, `circuit_breaker` and `probe_intervals` (read by `ResilienceConfiguration`)
/// plus the targets to check, the run store and the HTTP server. See docs/monitor.md.
///
/// ```yaml
/// targets:
///   - host: 10.99.5.2
///     class: critical            # critical | important | normal | background
///     dns_name: check.lab        # optional DNS probe of this name
///     resolvers: [10.99.5.2]     # optional; the runbook's public resolvers by default
///     url: http://10.99.5.2/     # optional HTTP probe
/// store:
///   sqlite: /var/lib/isp-checker/runs.sqlite   # or postgres: postgres://user@host/db, or postgres_url_file: PATH
///   retention_days: 30
///   spool: /var/lib/isp-checker/queue.jsonl   # optional: the queue on disk during a store outage
/// http:
///   host: 127.0.0.1
///   port: 9464
///   api_key_file: /etc/isp-checker/api-key   # optional (or api_key: KEY)
/// user: nobody                   # started as root: continue as this user (USER or USER:GROUP)
/// modules:                       # GET /probe's modules (ProbeModulesConfiguration.swift); six are built in
///   icmp_burst: {prober: icmp, count: 50, interval: 20ms}
/// ```
public struct MonitorConfiguration: Sendable, Equatable {
    /// One target of the scheduler.
    public struct Target: Sendable, Equatable {
        public var host: String
        public var targetClass: TargetClass
        /// Name the DNS probe resolves; `nil`: the host itself when it is a name, else no DNS probe.
        public var dnsName: String?
        /// Resolver addresses for the DNS probe; empty: the runbook's defaults.
        public var resolvers: [String]
        /// URL the HTTP probe fetches; `nil`: no HTTP probe.
        public var url: String?
        /// How long an echo request or trace probe waits (`run --timeout`); the DNS and HTTP
        /// waits follow from it (`CheckPlan.Timeouts(probe:)`). 1 s unless set.
        public var timeout: Duration
        /// The probe timeouts a target may set: above zero, at most an hour (as `run --timeout`).
        public static let timeoutRange: ClosedRange<Duration> = .nanoseconds(1) ... .seconds(3600)

        public init(host: String, targetClass: TargetClass = .normal, dnsName: String? = nil,
                    resolvers: [String] = [], url: String? = nil, timeout: Duration = .seconds(1)) {
            self.host = host
            self.targetClass = targetClass
            self.dnsName = dnsName
            self.resolvers = resolvers
            self.url = url
            self.timeout = timeout
        }

        /// The check of this target, as `run` would check it: ping and traceroute, DNS when a
        /// name is known, HTTP with a URL, each waiting as `run --timeout` makes them.
        public var checkPlan: CheckPlan {
            CheckPlan(host: host, targetClass: targetClass, dnsName: dnsName, resolvers: resolvers, url: url,
                      timeouts: CheckPlan.Timeouts(probe: timeout))
        }
    }

    /// Where runs are kept; each field `nil` when the file does not set it.
    public struct Store: Sendable, Equatable {
        public var sqlitePath: String?
        public var postgresURL: String?
        /// File holding the PostgreSQL URL (keeps its password out of the configuration file).
        public var postgresURLFile: String?
        public var retentionDays: Int?
        /// Days runs may be kept: 1 … 36,500 (100 years; more overflows the retention job's clock).
        public static let retentionDaysRange = 1...36_500
        /// File keeping the queue of runs not yet written, so a crash during an outage loses none.
        public var spoolPath: String?
        public init(sqlitePath: String? = nil, postgresURL: String? = nil, postgresURLFile: String? = nil,
                    retentionDays: Int? = nil, spoolPath: String? = nil) {
            self.sqlitePath = sqlitePath
            self.postgresURL = postgresURL
            self.postgresURLFile = postgresURLFile
            self.retentionDays = retentionDays
            self.spoolPath = spoolPath
        }
    }

    /// The HTTP server; each field `nil` when the file does not set it.
    public struct HTTP: Sendable, Equatable {
        public var host: String?
        public var port: Int?
        public var apiKey: String?
        /// File holding the API key (keeps it out of the configuration file).
        public var apiKeyFile: String?
        /// `GET /probe` requests served at once (more are refused with 503), 1 … 1000.
        public var probeConcurrency: Int?
        /// Longest a `GET /probe` request runs (Prometheus's scrape timeout header may shorten it).
        public var probeTimeout: Duration?
        public static let probeConcurrencyRange = 1...1000
        public static let probeTimeoutRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(3600)
        public init(host: String? = nil, port: Int? = nil, apiKey: String? = nil, apiKeyFile: String? = nil,
                    probeConcurrency: Int? = nil, probeTimeout: Duration? = nil) {
            self.host = host
            self.port = port
            self.apiKey = apiKey
            self.apiKeyFile = apiKeyFile
            self.probeConcurrency = probeConcurrency
            self.probeTimeout = probeTimeout
        }
    }

    public var resilience: ResilienceSettings
    public var targets: [Target]
    public var store: Store
    public var http: HTTP
    /// Started as root, the user (`USER` or `USER:GROUP`) the monitor continues as once its
    /// sockets, capture and store are open; `nil` when the file does not set it (nobody).
    public var user: String?
    /// The modules of `GET /probe`, by name: `ProbeModule.builtIn` with the file's `modules:`
    /// added or replacing them (ProbeModulesConfiguration.swift).
    public var modules: [String: ProbeModule]
    /// When runs make an incident (`incidents:`; docs/incidents.md).
    public var incidents: IncidentPolicy = .default
    /// Webhooks told of incidents (`notifications:`).
    public var notifications: [Notification] = []
    /// Where this monitor stands (`vantage:`, e.g. `office-berlin`): recorded on every run and
    /// as the `vantage` label of its series; nil when the file does not set it (the monitor
    /// uses its host name). Monitors with one vantage on one PostgreSQL history share its
    /// targets (docs/scaling.md).
    public var vantage: String?
    /// How long a replica's claim on a target outlives its last heartbeat (`lease:`, default
    /// 30 s): a replica that dies hands its targets over within one interval plus this.
    /// PostgreSQL only; nil when the file does not set it.
    public var lease: Duration?

    /// The range of `lease:`: long enough for a few heartbeats (a third of it), at most an hour.
    public static let leaseRange: ClosedRange<Duration> = .seconds(3) ... .seconds(3600)

    public init(resilience: ResilienceSettings = .default, targets: [Target] = [], store: Store = Store(), http: HTTP = HTTP(),
                user: String? = nil, modules: [String: ProbeModule] = ProbeModule.builtIn) {
        self.resilience = resilience
        self.targets = targets
        self.store = store
        self.http = http
        self.user = user
        self.modules = modules
    }

    static let targetsKey = "targets"
    static let storeKey = "store"
    static let httpKey = "http"
    static let userKey = "user"
    static let vantageKey = "vantage"
    static let leaseKey = "lease"

    /// Reads `yaml`. Every problem (unknown key, wrong type, negative interval, bad target …) is
    /// reported at once with its key path and line, in one `ConfigurationError`.
    public static func load(yaml: String, source: String? = nil) throws(ConfigurationError) -> MonitorConfiguration {
        var problems: [ConfigurationProblem] = []
        var configuration = MonitorConfiguration()
        do {
            configuration.resilience = try ResilienceConfiguration.load(
                yaml: yaml, source: source, otherSections: [targetsKey, storeKey, httpKey, userKey, ProbeModulesConfiguration.key,
                                                  incidentsKey, notificationsKey, vantageKey, leaseKey])
        } catch {
            // The resilience loader names only its own sections in an unknown top-level key's reason.
            problems += error.problems.map { problem in
                guard !problem.key.contains("."), problem.reason.hasPrefix("unknown key") else { return problem }
                var named = problem
                named.reason = "unknown key; the sections are targets, store, http, user, vantage, lease, modules, incidents, notifications, retry_policy, circuit_breaker, probe_intervals"
                return named
            }
            // A syntax error leaves nothing else to read.
            if error.problems.contains(where: { $0.reason.hasPrefix("YAML syntax") }) {
                throw ConfigurationError(source: source, problems: problems)
            }
        }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigurationError(source: source, problems: problems)
        }
        // Unknown top-level keys are reported by the resilience loader; only the monitor's sections are read here.
        var reader = MappingReader(root, path: "")
        configuration.targets = readTargets(reader.node(targetsKey), problems: &problems)
        var store = MappingReader(reader.node(storeKey), path: storeKey)
        configuration.store = readStore(&store)
        problems += store.problems
        var http = MappingReader(reader.node(httpKey), path: httpKey)
        configuration.http = readHTTP(&http)
        problems += http.problems
        configuration.user = reader.string(userKey)
        if let user = configuration.user {
            do { _ = try ProcessPrivileges.Account(parsing: user) } catch {
                let mark = reader.mark(of: userKey)
                reader.addProblem(ConfigurationProblem(key: userKey, line: mark?.line, column: mark?.column, reason: error.description))
            }
        }
        configuration.vantage = reader.string(vantageKey)
        if let vantage = configuration.vantage, !isValidVantage(vantage) {
            let mark = reader.mark(of: vantageKey)
            reader.addProblem(ConfigurationProblem(key: vantageKey, line: mark?.line, column: mark?.column,
                                                   reason: "a vantage is 1 to 64 letters, digits, '.', '_' or '-' (e.g. office-berlin), got \"\(vantage)\""))
        }
        configuration.lease = reader.duration(leaseKey)
        if let lease = configuration.lease, !leaseRange.contains(lease) {
            let mark = reader.mark(of: leaseKey)
            reader.addProblem(ConfigurationProblem(key: leaseKey, line: mark?.line, column: mark?.column,
                                                   reason: "must be 3s ... 1h, got \(lease)"))
        }
        configuration.modules = ProbeModulesConfiguration.read(reader.node(ProbeModulesConfiguration.key), problems: &problems)
        var incidents = MappingReader(reader.node(incidentsKey), path: incidentsKey)
        configuration.incidents = readIncidents(&incidents)
        problems += incidents.problems
        configuration.notifications = readNotifications(reader.node(notificationsKey), problems: &problems)
        problems += reader.problems
        if !problems.isEmpty { throw ConfigurationError(source: source, problems: problems) }
        return configuration
    }

    /// A vantage name: 1 … 64 of `A-Z a-z 0-9 . _ -` (it becomes a label value and a URL parameter).
    public static func isValidVantage(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D
            }
    }

    /// Reads the file at `path`.
    public static func load(contentsOfFile path: String) throws(ConfigurationError) -> MonitorConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, problems: [ConfigurationProblem(key: "", reason: "cannot read the file: \(error.localizedDescription)")])
        }
        return try load(yaml: text, source: path)
    }

    private static func readTargets(_ node: Node?, problems: inout [ConfigurationProblem]) -> [Target] {
        guard let node else { return [] }
        guard case .sequence(let items) = node else {
            problems.append(ConfigurationProblem(key: targetsKey, line: node.mark?.line, column: node.mark?.column,
                                                 reason: "expected a list of targets ({host, class, dns_name, resolvers, url, timeout}), got \(MappingReader.describe(node))"))
            return []
        }
        var targets: [Target] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            var reader = MappingReader(item, path: "\(targetsKey)[\(index)]")
            let host = reader.string("host")
            let className = reader.choice("class", from: TargetClass.allCases.map(\.rawValue))
            let dnsName = reader.string("dns_name")
            let resolvers = reader.strings("resolvers") ?? []
            let url = reader.string("url")
            let timeout = reader.duration("timeout")
            if let timeout, !Target.timeoutRange.contains(timeout) {
                let mark = reader.mark(of: "timeout")
                problems.append(ConfigurationProblem(key: reader.full("timeout"), line: mark?.line, column: mark?.column,
                                                     reason: "a probe timeout is above 0 and at most 1h, got \(timeout)"))
            }
            reader.rejectUnknownKeys(known: "a target takes host, class, dns_name, resolvers, url, timeout")
            problems += reader.problems
            guard let host else {
                if reader.problems.allSatisfy({ $0.key != reader.full("host") }) {
                    problems.append(ConfigurationProblem(key: reader.full("host"), line: item.mark?.line, column: item.mark?.column,
                                                         reason: "every target needs a host"))
                }
                continue
            }
            if !seen.insert(host).inserted {
                let mark = reader.mark(of: "host")
                problems.append(ConfigurationProblem(key: reader.full("host"), line: mark?.line, column: mark?.column,
                                                     reason: "target \(host) appears twice"))
            }
            let target = Target(host: host, targetClass: className.flatMap(TargetClass.init(rawValue:)) ?? .normal,
                                dnsName: dnsName, resolvers: resolvers, url: url,
                                timeout: timeout.flatMap { Target.timeoutRange.contains($0) ? $0 : nil } ?? .seconds(1))
            // The check the start builds from it: a bad name, resolver or URL is named here, at its line.
            if reader.problems.isEmpty { problems += checkPlanProblems(target, reader) }
            targets.append(target)
        }
        return targets
    }

    /// What turning `target` into a check (`CheckPlan.healthCheckOptions()`) refuses, at the key it comes from.
    private static func checkPlanProblems(_ target: Target, _ reader: MappingReader) -> [ConfigurationProblem] {
        do {
            _ = try target.checkPlan.healthCheckOptions()
            return []
        } catch {
            let key: String
            switch error {
            case .invalidResolver: key = "resolvers"
            case .malformedURL, .unsupportedScheme: key = "url"
            case .emptyName, .malformedName: key = target.dnsName != nil ? "dns_name" : "host"
            default: key = "host"
            }
            let mark = reader.mark(of: key)
            return [ConfigurationProblem(key: reader.full(key), line: mark?.line, column: mark?.column, reason: error.description)]
        }
    }

    private static func readStore(_ reader: inout MappingReader) -> Store {
        var store = Store()
        store.sqlitePath = reader.string("sqlite")
        store.postgresURL = reader.string("postgres")
        store.postgresURLFile = reader.string("postgres_url_file")
        store.retentionDays = reader.int("retention_days")
        store.spoolPath = reader.string("spool")
        let databases = [("sqlite", store.sqlitePath), ("postgres", store.postgresURL), ("postgres_url_file", store.postgresURLFile)]
            .filter { $0.1 != nil }.map(\.0)
        if databases.count > 1 {
            let mark = reader.mark(of: databases[1])
            reader.addProblem(ConfigurationProblem(key: reader.full(databases[1]), line: mark?.line, column: mark?.column,
                                                   reason: "give one of sqlite, postgres or postgres_url_file, not \(databases.joined(separator: " and "))"))
        }
        if let days = store.retentionDays, !Store.retentionDaysRange.contains(days) {
            let mark = reader.mark(of: "retention_days")
            reader.addProblem(ConfigurationProblem(key: reader.full("retention_days"), line: mark?.line, column: mark?.column,
                                                   reason: days < 1 ? "must be at least 1, got \(days)"
                                                       : "must be at most \(Store.retentionDaysRange.upperBound) (100 years), got \(days)"))
        }
        reader.rejectUnknownKeys(known: "store takes sqlite, postgres, postgres_url_file, retention_days, spool")
        return store
    }

    private static func readHTTP(_ reader: inout MappingReader) -> HTTP {
        var http = HTTP()
        http.host = reader.string("host")
        http.port = reader.int("port")
        http.apiKey = reader.string("api_key")
        http.apiKeyFile = reader.string("api_key_file")
        if let key = http.apiKey, key.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let mark = reader.mark(of: "api_key")
            reader.addProblem(ConfigurationProblem(key: reader.full("api_key"), line: mark?.line, column: mark?.column,
                                                   reason: "an empty API key would protect nothing; remove the key or set one"))
        }
        if http.apiKey != nil && http.apiKeyFile != nil {
            let mark = reader.mark(of: "api_key_file")
            reader.addProblem(ConfigurationProblem(key: reader.full("api_key_file"), line: mark?.line, column: mark?.column,
                                                   reason: "give either api_key or api_key_file, not both"))
        }
        if let port = http.port, !(0...65535).contains(port) {
            let mark = reader.mark(of: "port")
            reader.addProblem(ConfigurationProblem(key: reader.full("port"), line: mark?.line, column: mark?.column,
                                                   reason: "must be 0...65535, got \(port)"))
        }
        http.probeConcurrency = reader.int("probe_concurrency")
        if let value = http.probeConcurrency, !HTTP.probeConcurrencyRange.contains(value) {
            let mark = reader.mark(of: "probe_concurrency")
            reader.addProblem(ConfigurationProblem(key: reader.full("probe_concurrency"), line: mark?.line, column: mark?.column,
                                                   reason: "must be 1 ... 1000, got \(value)"))
        }
        http.probeTimeout = reader.duration("probe_timeout")
        if let value = http.probeTimeout, !HTTP.probeTimeoutRange.contains(value) {
            let mark = reader.mark(of: "probe_timeout")
            reader.addProblem(ConfigurationProblem(key: reader.full("probe_timeout"), line: mark?.line, column: mark?.column,
                                                   reason: "must be 100ms ... 1h, got \(value)"))
        }
        reader.rejectUnknownKeys(known: "http takes host, port, api_key, api_key_file, probe_concurrency, probe_timeout")
        return http
    }
}
