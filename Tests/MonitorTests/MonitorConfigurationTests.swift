import ISPChecker
import ISPCheckerConfig
import Testing

/// The monitor's YAML file: its own sections, and every mistake named with key and line.
@Suite("Monitor configuration file")
struct MonitorConfigurationTests {
    @Test("a full file reads into targets, store, http and the runbook's resilience settings")
    func readsEverySection() throws {
        let configuration = try MonitorConfiguration.load(yaml: """
        targets:
          - host: 10.99.5.2
            class: critical
            dns_name: check.lab
            resolvers: [10.99.5.2]
            url: http://10.99.5.2/
          - host: example.net
        store:
          sqlite: /tmp/runs.sqlite
          retention_days: 7
        http:
          host: 0.0.0.0
          port: 9500
          api_key: k
        probe_intervals:
          critical_targets: 2s
        """)
        #expect(configuration.targets == [
            .init(host: "10.99.5.2", targetClass: .critical, dnsName: "check.lab", resolvers: ["10.99.5.2"], url: "http://10.99.5.2/"),
            .init(host: "example.net"),
        ])
        #expect(configuration.store == .init(sqlitePath: "/tmp/runs.sqlite", retentionDays: 7))
        #expect(configuration.http == .init(host: "0.0.0.0", port: 9500, apiKey: "k"))
        #expect(configuration.resilience.probeIntervals.critical == .seconds(2))
    }

    @Test("a target is checked as its check plan says, the plan the CLI's run uses")
    func aTargetIsItsCheckPlan() throws {
        let target = MonitorConfiguration.Target(host: "10.99.5.2", targetClass: .critical, dnsName: "check.lab",
                                                 resolvers: ["10.99.5.2"], url: "http://10.99.5.2/")
        #expect(target.checkPlan == CheckPlan(host: "10.99.5.2", targetClass: .critical, dnsName: "check.lab",
                                              resolvers: ["10.99.5.2"], url: "http://10.99.5.2/"))
        #expect(try target.checkPlan.healthCheckOptions().additionalProbes.map(\.name) == ["dns", "http"])
        #expect(try MonitorConfiguration.Target(host: "10.99.5.2").checkPlan.healthCheckOptions().additionalProbes.isEmpty)
    }

    @Test("user: is the account a monitor started as root continues as; a malformed one is refused with its line")
    func readsTheUser() throws {
        let configuration = try MonitorConfiguration.load(yaml: "user: isp-checker:nogroup\ntargets:\n  - host: 10.99.5.2\n")
        #expect(configuration.user == "isp-checker:nogroup")
        #expect(try MonitorConfiguration.load(yaml: "targets: []\n").user == nil)
        do {
            _ = try MonitorConfiguration.load(yaml: "targets: []\nuser: \"nobody:\"\n")
            Issue.record("an empty group was accepted")
        } catch {
            #expect(error.problems.contains { $0.key == "user" && $0.line == 2 && $0.reason.contains("USER:GROUP") }, "\(error)")
        }
    }

    @Test("an unknown key in a target is refused with its key path and line")
    func unknownTargetKey() {
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "targets:\n  - host: 10.99.5.2\n    colour: red\n")
        }
        let problem = error?.problem(at: "targets[0].colour")
        #expect(problem?.line == 3, "\(String(describing: error))")
        #expect(problem?.reason.contains("unknown key") == true)
    }

    @Test("an unknown top-level section is refused with its line, naming the sections there are")
    func unknownSection() {
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "targets:\n  - host: a.example\nstorage:\n  sqlite: x\n")
        }
        let problem = error?.problem(at: "storage")
        #expect(problem?.line == 3, "\(String(describing: error))")
        #expect(problem?.reason.contains("targets, store, http") == true)
    }

    @Test("a negative interval is refused with its key path and line")
    func negativeInterval() {
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "targets:\n  - host: a.example\nprobe_intervals:\n  critical_targets: -5s\n")
        }
        #expect(error?.problem(at: "probe_intervals.critical_targets")?.line == 4, "\(String(describing: error))")
    }

    @Test("a target's timeout sets its probes' waits as run --timeout does; zero or over an hour is refused with its line")
    func aTargetsTimeout() throws {
        let configuration = try MonitorConfiguration.load(yaml: "targets:\n  - host: a.example\n    timeout: 2s\n  - host: b.example\n")
        #expect(configuration.targets.map(\.timeout) == [.seconds(2), .seconds(1)])
        let timeouts = configuration.targets[0].checkPlan.timeouts
        #expect(timeouts == CheckPlan.Timeouts(probe: .seconds(2)))
        #expect(timeouts.dnsPerResolver == .seconds(2) && timeouts.http == .seconds(10))
        #expect(configuration.targets[1].checkPlan.timeouts == .default)
        for bad in ["0s", "2h"] {
            let error = #expect(throws: ConfigurationError.self) {
                try MonitorConfiguration.load(yaml: "targets:\n  - host: a.example\n    timeout: \(bad)\n")
            }
            #expect(error?.problem(at: "targets[0].timeout")?.line == 3, "\(bad): \(String(describing: error))")
        }
    }

    @Test("a target without host, a bad class and a port out of range are all reported at once")
    func everyProblemAtOnce() {
        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "targets:\n  - class: urgent\nhttp:\n  port: 70000\n")
        }
        #expect(error?.problem(at: "targets[0].host") != nil, "\(String(describing: error))")
        #expect(error?.problem(at: "targets[0].class")?.line == 2)
        #expect(error?.problem(at: "http.port")?.line == 4)
    }

    @Test("secrets by file and the spool are read; an empty key, two databases and key with key file are refused with their lines")
    func secretFilesAndSpool() throws {
        let configuration = try MonitorConfiguration.load(yaml: """
        store:
          postgres_url_file: /etc/isp-checker/postgres-url
          spool: /var/lib/isp-checker/queue.jsonl
        http:
          api_key_file: /etc/isp-checker/api-key
        """)
        #expect(configuration.store == .init(postgresURLFile: "/etc/isp-checker/postgres-url", spoolPath: "/var/lib/isp-checker/queue.jsonl"))
        #expect(configuration.http == .init(apiKeyFile: "/etc/isp-checker/api-key"))

        let error = #expect(throws: ConfigurationError.self) {
            try MonitorConfiguration.load(yaml: "store:\n  sqlite: a\n  postgres_url_file: b\nhttp:\n  api_key: \"  \"\n  api_key_file: c\n")
        }
        #expect(error?.problem(at: "store.postgres_url_file")?.line == 3, "\(String(describing: error))")
        #expect(error?.problem(at: "http.api_key")?.reason.contains("empty API key") == true)
        #expect(error?.problem(at: "http.api_key_file")?.line == 6)
    }
}
