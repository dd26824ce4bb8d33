import Foundation
import ISPChecker
import ISPCheckerConfig
import TestSupport
import Testing

/// The `incidents:` and `notifications:` sections: read into the policy and the webhooks, every
/// mistake named with its key and line, and summarised by `--check-config`.
@Suite("Incidents configuration")
struct IncidentsConfigurationTests {
    static let yaml = """
    targets:
      - host: 10.99.5.2
    incidents:
      open_severity: P1
      open_after_runs: 3
      close_after_runs: 4
    notifications:
      - url: https://hooks.example.net/services/T000/SECRET
        min_severity: P2
      - url: http://127.0.0.1:9093/api/v2/alerts
        format: alertmanager
        name: alertmanager
        timeout: 2s
    """

    @Test("the sections read into the incident policy and the webhooks; without them, the defaults and no webhook")
    func readsSections() throws {
        let configuration = try MonitorConfiguration.load(yaml: Self.yaml)
        #expect(configuration.incidents == IncidentPolicy(openSeverity: .p1, openAfterRuns: 3, closeAfterRuns: 4))
        #expect(configuration.notifications == [
            .init(url: "https://hooks.example.net/services/T000/SECRET", minSeverity: .p2, format: .json, name: "webhook-1"),
            .init(url: "http://127.0.0.1:9093/api/v2/alerts", minSeverity: .p4, format: .alertmanager, name: "alertmanager", timeout: .seconds(2)),
        ])
        let plain = try MonitorConfiguration.load(yaml: "targets:\n  - host: 10.99.5.2\n")
        #expect(plain.incidents == .default && plain.notifications.isEmpty)
    }

    @Test("mistakes are named with key and line: severity, run counts, URL scheme, user info, format, unknown key, missing url")
    func namesMistakes() {
        do {
            _ = try MonitorConfiguration.load(yaml: """
            incidents:
              open_severity: P5
              close_after_runs: 0
            notifications:
              - url: ftp://example.net/hook
              - url: https://user:pw@example.net/hook
                format: slack
              - min_severity: P2
                retries: 3
            """)
            Issue.record("the file was accepted")
        } catch {
            let text = error.problems.map(\.description).joined(separator: "\n")
            #expect(text.contains("incidents.open_severity (line 2"), "\(text)")
            #expect(text.contains("incidents.close_after_runs (line 3") && text.contains("1 ... 1000"), "\(text)")
            #expect(text.contains("notifications[0].url (line 5") && text.contains("http:// or https://"), "\(text)")
            #expect(text.contains("notifications[1].url (line 6") && text.contains("no user or password"), "\(text)")
            #expect(text.contains("notifications[1].format (line 7"), "\(text)")
            #expect(text.contains("notifications[2].retries (line 9"), "\(text)")
            #expect(text.contains("notifications[2].url") && text.contains("every webhook needs a url"), "\(text)")
        }
    }

    @Test("--check-config summarises the policy and the webhooks without their URL's path (it may hold a token)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: monitorExecutable), "build isp-checker-monitor first"))
    func checkConfigSummary() throws {
        let directory = try makeTemporaryDirectory("mn-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try (Self.yaml + "\nstore:\n  sqlite: /nonexistent/runs.sqlite\n").write(toFile: "\(directory)/checker.yaml", atomically: true, encoding: .utf8)
        let process = try Subprocess(monitorExecutable, ["--check-config", "--config", "\(directory)/checker.yaml"])
        #expect(process.wait() == 0, "\(process.stderr)")
        #expect(process.stdout.contains("incidents: open at P1 or worse after 3 runs, close after 4 healthy runs"), "\(process.stdout)")
        #expect(process.stdout.contains("notify webhook-1: https://hooks.example.net/… (json, P2 or worse, timeout 5s)"), "\(process.stdout)")
        #expect(process.stdout.contains("notify alertmanager: http://127.0.0.1:9093/… (alertmanager, P4 or worse, timeout 2s)"), "\(process.stdout)")
        #expect(!process.stdout.contains("SECRET"))
    }
}
