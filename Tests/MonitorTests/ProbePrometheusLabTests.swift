import Foundation
import TestSupport
import Testing

/// blackbox_exporter's multi-target pattern end to end: a real Prometheus scrapes the monitor's
/// `/probe` through the relabelling docs/monitor.md gives, for a target in the realistic lab
/// (ICMP rate limits, checksum offload). Monitor and Prometheus both run in the lab's client
/// namespace, on its loopback, so every packet stays inside namespaces this test made.
@Suite("Prometheus scrapes /probe in the lab", .serialized,
       .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: monitorExecutable), "needs root and a built isp-checker-monitor"))
struct ProbePrometheusLabTests {
    static let script = repositoryRoot.appendingPathComponent("lab/lab.sh").path
    /// `ispc-t` (or $ISPC_LAB_TEST_PREFIX, for two test runs on one machine) and this suite's name.
    static let prefix = (ProcessInfo.processInfo.environment["ISPC_LAB_TEST_PREFIX"] ?? "ispc-t") + "mpb"
    static let client = "\(prefix)-c"
    /// Two routers: the destination is on the third link.
    static let destination = "10.99.3.2"

    private func inClient(_ arguments: [String]) throws -> String {
        try run("/usr/sbin/ip", ["netns", "exec", Self.client] + arguments).stdout
    }

    /// An instant PromQL query against the Prometheus in the client namespace.
    private func query(_ port: Int, _ promQL: String) throws -> [[String: Any]] {
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promQL
        let reply = try inClient(["curl", "-sf", "--max-time", "5", "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)"])
        guard let body = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any],
              let data = body["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [] }
        return result
    }

    @Test("Prometheus scrapes /probe?module=icmp_fast for a lab target: probe_success 1, jitter and loss; module=check is scored, module=trace reaches the destination")
    func prometheusScrapesProbe() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"),
                     "Debian's prometheus is missing: scripts/install-deps.sh installs it")
        defer { _ = try? run("/bin/bash", [Self.script, "down", "--prefix", Self.prefix], check: false) }
        _ = try? run("/bin/bash", [Self.script, "down", "--prefix", Self.prefix], check: false)
        try run("/bin/bash", [Self.script, "up", "--prefix", Self.prefix, "--routers", "2", "--realistic"])

        let directory = try makeTemporaryDirectory("mn-probe")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Started as root, the monitor continues as nobody: its store in a folder it is handed.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let monitorPort = Int.random(in: 20000...29999)
        let prometheusPort = Int.random(in: 30000...39999)
        try """
        targets:
          - host: \(Self.destination)
            class: background
        modules:
          icmp_fast:
            prober: icmp
            count: 5
            interval: 100ms
            timeout: 1s
        http:
          host: 127.0.0.1
          port: \(monitorPort)
          probe_concurrency: 4
        """.write(toFile: "\(directory)/checker.yaml", atomically: true, encoding: .utf8)
        // The scrape configuration of docs/monitor.md ("Prometheus: the multi-target pattern").
        try """
        global:
          scrape_interval: 3s
          evaluation_interval: 3s
        scrape_configs:
          - job_name: isp-checker-probe
            metrics_path: /probe
            params:
              module: [icmp_fast]
            scrape_timeout: 3s
            static_configs:
              - targets: ["\(Self.destination)"]
            relabel_configs:
              - source_labels: [__address__]
                target_label: __param_target
              - source_labels: [__param_target]
                target_label: instance
              - target_label: __address__
                replacement: 127.0.0.1:\(monitorPort)
        """.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)

        let monitor = try Subprocess("/usr/sbin/ip", ["netns", "exec", Self.client, monitorExecutable,
                                                      "--config", "\(directory)/checker.yaml", "--sqlite", "\(directory)/store/runs.sqlite"])
        defer { if monitor.isRunning { kill(monitor.pid, SIGKILL); _ = monitor.wait() } }
        #expect(try await eventually(timeout: .seconds(30)) { monitor.stdout.contains("listening ") }, "monitor did not start: \(monitor.stderr)")
        let prometheus = try Subprocess("/usr/sbin/ip", ["netns", "exec", Self.client, "/usr/bin/prometheus",
                                                         "--config.file=\(directory)/prometheus.yml",
                                                         "--storage.tsdb.path=\(directory)/prometheus",
                                                         "--web.listen-address=127.0.0.1:\(prometheusPort)"])
        defer { if prometheus.isRunning { prometheus.terminate(); _ = prometheus.wait() } }

        var success: [[String: Any]] = []
        let scraped = try await eventually(timeout: .seconds(90)) {
            success = try query(prometheusPort, #"probe_success{job="isp-checker-probe",instance="\#(Self.destination)"}"#)
            return !success.isEmpty
        }
        #expect(scraped, "no probe_success in Prometheus; its log: \(prometheus.stderr.suffix(3000)); the monitor's: \(monitor.stderr.suffix(2000))")
        #expect((success.first?["value"] as? [Any])?.last as? String == "1", "\(success)")
        let jitter = try query(prometheusPort, #"isp_checker_probe_details{instance="\#(Self.destination)",probe="ping",key="jitter_ms"}"#)
        #expect(!jitter.isEmpty, "no jitter_ms series")
        let loss = try query(prometheusPort, #"isp_checker_probe_details{instance="\#(Self.destination)",probe="ping",key="loss_percent"}"#)
        #expect((loss.first?["value"] as? [Any])?.last as? String == "0", "\(loss)")
        let mdev = try query(prometheusPort, #"isp_checker_probe_details{instance="\#(Self.destination)",probe="ping",key="latency_mdev_ms"}"#)
        #expect(!mdev.isEmpty, "no latency_mdev_ms series")

        // The full check, as a scrape asks it, with score and diagnosis.
        let check = try inClient(["curl", "-s", "--max-time", "40", "-H", "X-Prometheus-Scrape-Timeout-Seconds: 30",
                                  "http://127.0.0.1:\(monitorPort)/probe?target=\(Self.destination)&module=check"])
        #expect(check.contains("probe_success 1"), "\(check)")
        #expect(check.contains(#"isp_checker_score{target="\#(Self.destination)"}"#), "\(check)")
        #expect(check.contains(#"isp_checker_probe_details{target="\#(Self.destination)",probe="traceroute",key="destination_reached"} 1"#), "\(check)")
        // The trace module: success is reaching the destination, whatever the rate limits cost its last hop.
        let trace = try inClient(["curl", "-s", "--max-time", "40", "http://127.0.0.1:\(monitorPort)/probe?target=\(Self.destination)&module=trace"])
        #expect(trace.contains("probe_success 1"), "\(trace)")

        monitor.terminate()
        #expect(monitor.wait() == 0, "\(monitor.stderr)")
    }
}
