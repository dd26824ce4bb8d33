import Foundation
import TestSupport

/// A real Prometheus (Debian `prometheus`) on 127.0.0.1, scraping one loopback target every
/// second, its TSDB in a temporary directory. `stop()` ends it and deletes the directory.
final class PrometheusServer {
    static let binary = "/usr/bin/prometheus"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: Int
    let directory: String
    private let process: Subprocess

    init(scrapingPort targetPort: Int) throws {
        directory = try makeTemporaryDirectory("mn-prom")
        port = try freeLoopbackPort()
        let config = """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: isp-checker-monitor
            static_configs:
              - targets: ["127.0.0.1:\(targetPort)"]
        """
        try config.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        process = try Subprocess(Self.binary, [
            "--config.file=\(directory)/prometheus.yml",
            "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)",
        ])
    }

    var log: String { process.stderr }

    /// Result vector of an instant PromQL query.
    func query(_ promQL: String) async throws -> [[String: Any]] {
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promQL
        let reply = try await httpGet(port: port, "/api/v1/query?query=\(encoded)")
        guard reply.status == 200, let data = try reply.json()["data"] as? [String: Any],
              let result = data["result"] as? [[String: Any]] else { return [] }
        return result
    }

    func stop() {
        process.terminate()
        process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
