import Foundation
import ISPChecker
import TestSupport
import Testing

/// `isp-checker-monitor --config FILE` against the namespace lab's transit-loss scenario: real
/// ping, traceroute, DNS and HTTP checks, scheduled, stored, and served over HTTP.
@Suite("Monitor with --config in the lab", .serialized,
       .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: monitorExecutable), "needs root and a built isp-checker-monitor"))
struct ConfiguredMonitorLabTests {
    static let prefix = "ispc-tmn1"
    static let scenarioScript = repositoryRoot.appendingPathComponent("lab/scenario.sh").path
    static let client = "\(prefix)-c"

    private func get(_ port: Int, _ path: String) throws -> String { try namespaceGet(Self.client, port: port, path) }

    @Test("a critical target in the transit-loss lab: runs stored, diagnosed Peering/Transit at hop 4, scored in /metrics; SIGTERM exits 0")
    func checksConfiguredTargetAndServesIt() async throws {
        defer { _ = try? run("/bin/bash", [Self.scenarioScript, "down", "--prefix", Self.prefix]) }
        _ = try? run("/bin/bash", [Self.scenarioScript, "down", "--prefix", Self.prefix])
        let facts = try run("/bin/bash", [Self.scenarioScript, "up", "--prefix", Self.prefix, "--scenario", "transit-loss"]).stdout
        #expect(facts.contains("="), "scenario.sh printed no facts: \(facts)")

        let directory = try makeTemporaryDirectory("mn-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Started as root, the monitor continues as nobody: its store goes in a folder of its own
        // (which it hands to nobody), reachable through this one.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let config = "\(directory)/checker.yaml"
        try """
        targets:
          - host: 10.99.5.2
            class: critical
            dns_name: check.lab
            resolvers: [10.99.5.2]
            url: http://10.99.5.2/
        retry_policy:
          max_attempts: 2
          initial_delay: 100ms
        circuit_breaker:
          failure_threshold: 3
          recovery_timeout: 5s
        probe_intervals:
          critical_targets: 1s
        http:
          host: 127.0.0.1
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = Int.random(in: 20000...40000)

        let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", Self.client, monitorExecutable,
                                                      "--config", config, "--sqlite", "\(directory)/store/runs.sqlite", "--port", "\(port)"])
        defer { if process.isRunning { kill(process.pid, SIGKILL); _ = process.wait() } }
        #expect(try await eventually(timeout: .seconds(60)) { process.stdout.contains("stored ") }, "no run stored: \(process.stderr)")

        let listed = try get(port, "/api/v1/runs?target=10.99.5.2")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [String: Any])
        #expect((body["total"] as? Int ?? 0) >= 1, "\(listed)")
        let first = try #require((body["runs"] as? [Any])?.first, "\(listed)")
        let report = try RunReport.decoder.decode(RunReport.self, from: JSONSerialization.data(withJSONObject: first))
        #expect(report.target == "10.99.5.2")
        #expect(Set(report.probes.map(\.name)).isSuperset(of: ["ping", "dns", "http"]), "\(report.probes.map(\.name))")
        #expect(report.diagnosis.contains { $0.component == "Peering/Transit" && $0.evidence.contains { $0.hop == 4 } },
                "\(report.diagnosis)")

        let metrics = try get(port, "/metrics")
        #expect(metrics.contains("isp_checker_score{target=\"10.99.5.2\"}"), "\(metrics)")
        #expect(metrics.contains("isp_checker_circuit_breaker_state"), "\(metrics)")

        process.terminate()
        #expect(process.wait() == 0, "\(process.stderr)")
    }
}
