import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// What the HTTP server shows to whom: store errors only with the key, generic 500s, a warning
/// when the history is open to the network, no empty key.
@Suite("API exposure")
struct APIExposureTests {
    @Test("with PostgreSQL down: /health/detailed names the store error only with the key; /api answers a generic 500",
          .enabled(if: PostgresCluster.available, "needs root and the PostgreSQL server"))
    func storeErrorsNeedTheKey() async throws {
        try await withStore(.postgresql) { store, cluster in
            let cluster = try #require(cluster)
            let monitor = try await InProcessMonitor(store: store, apiKey: "k3y")
            do {
                try await cluster.stop()
                let open = try await httpGet(port: monitor.port, "/health/detailed")
                #expect(open.status == 503)
                let openStore = try #require(try open.json()["store"] as? [String: Any])
                #expect(openStore["reachable"] as? Bool == false)
                #expect(openStore["error"] == nil)
                #expect(openStore["rejected_runs"] as? Int == 0)

                let keyed = try await httpGet(port: monitor.port, "/health/detailed", headers: ["X-API-Key": "k3y"])
                #expect(keyed.status == 503)
                let keyedError = try #require((try keyed.json()["store"] as? [String: Any])?["error"] as? String)
                #expect(keyedError.contains("unavailable") || keyedError.contains("timed out"))

                let failed = try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": "k3y"])
                #expect(failed.status == 500)
                #expect(failed.text.contains("details in the monitor's log"))
                for leak in ["127.0.0.1", "\(cluster.port)", "PSQL", "SQLSTATE", "connect"] {
                    #expect(!failed.text.contains(leak), "500 body leaks \(leak): \(failed.text)")
                }
                #expect(try await httpGet(port: monitor.port, "/api/v1/runs/x", headers: ["X-API-Key": "k3y"]).status == 500)
                #expect(try await httpGet(port: monitor.port, "/metrics").status == 200)
                #expect(try await httpGet(port: monitor.port, "/health").status == 200)
            } catch {
                await monitor.stop()
                throw error
            }
            await monitor.stop()
        }
    }

    @Test("an empty configured key admits nobody, not an empty header")
    func emptyKeyFailsClosed() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store, apiKey: "")
            let denied = try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["X-API-Key": ""])
            let bearer = try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["Authorization": "Bearer "])
            await monitor.stop()
            #expect(denied.status == 401)
            #expect(bearer.status == 401)
        }
    }

    @Test("loopback addresses are recognised; any other address without a key draws the warning")
    func exposureWarning() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
            #expect(MonitorHTTPConfiguration.isLoopback(host), "\(host)")
            #expect(MonitorHTTPConfiguration(host: host).exposureWarning == nil)
        }
        for host in ["0.0.0.0", "::", "192.0.2.7", "monitor.example.net"] {
            #expect(!MonitorHTTPConfiguration.isLoopback(host), "\(host)")
            #expect(MonitorHTTPConfiguration(host: host).exposureWarning?.contains("without an API key") == true)
            #expect(MonitorHTTPConfiguration(host: host, apiKey: "k").exposureWarning == nil)
        }
    }
}

/// The executable's secrets: files and environment instead of the command line, no empty key,
/// no password in an error, the warning on a non-loopback address.
@Suite("Monitor executable secrets", .enabled(if: FileManager.default.isExecutableFile(atPath: monitorExecutable), "build isp-checker-monitor first"))
struct ExecutableSecretsTests {
    /// Runs the monitor through `env`, with `environment` set.
    private func monitor(_ arguments: [String], environment: [String: String] = [:]) throws -> Subprocess {
        try Subprocess("/usr/bin/env", environment.map { "\($0)=\($1)" } + [monitorExecutable] + arguments)
    }

    private func listeningPort(_ process: Subprocess) async throws -> Int {
        var port: Int?
        _ = try await eventually {
            port = process.stdout.split(separator: "\n").first { $0.hasPrefix("listening ") }
                .flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
            return port != nil || !process.isRunning
        }
        return try #require(port, "monitor did not start: \(process.stderr)")
    }

    @Test("an empty API key is refused from the flag, a file or the environment, and a key file that is a device (exit 64)")
    func emptyKeyRefused() throws {
        let directory = try makeTemporaryDirectory("mn-key")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "\n".write(toFile: "\(directory)/empty", atomically: true, encoding: .utf8)
        let base = ["--sqlite", "\(directory)/runs.sqlite", "--port", "0"]
        let flag = try monitor(base + ["--api-key", ""])
        #expect(flag.wait() == 64)
        #expect(flag.stderr.contains("empty API key"))
        let file = try monitor(base + ["--api-key-file", "\(directory)/empty"])
        #expect(file.wait() == 64)
        #expect(file.stderr.contains("is empty"))
        let environment = try monitor(base, environment: ["ISP_CHECKER_API_KEY": " "])
        #expect(environment.wait() == 64)
        #expect(environment.stderr.contains("ISP_CHECKER_API_KEY"))
        // A device that never ends is refused, not read forever.
        let device = try monitor(base + ["--api-key-file", "/dev/zero"])
        #expect(device.wait() == 64)
        #expect(device.stderr.contains("regular file"))
    }

    @Test("an invalid PostgreSQL URL is reported without its password, from the flag, a file or the environment")
    func invalidURLHidesPassword() throws {
        let directory = try makeTemporaryDirectory("mn-url")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = "postgres://checker:hunter2@/runs"
        try bad.write(toFile: "\(directory)/url", atomically: true, encoding: .utf8)
        for process in [try monitor(["--postgres", bad, "--port", "0"]),
                        try monitor(["--postgres-url-file", "\(directory)/url", "--port", "0"]),
                        try monitor(["--port", "0"], environment: ["ISP_CHECKER_POSTGRES_URL": bad])] {
            #expect(process.wait() == 64)
            #expect(!process.stderr.contains("hunter2"), "\(process.stderr)")
            #expect(process.stderr.contains("postgres://checker:***@/runs"), "\(process.stderr)")
        }
    }

    @Test("on 0.0.0.0 without a key the monitor warns; with the key from a file it does not, and /api needs that key")
    func nonLoopbackWarningAndKeyFile() async throws {
        let directory = try makeTemporaryDirectory("mn-expose")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let open = try monitor(["--sqlite", "\(directory)/a.sqlite", "--host", "0.0.0.0", "--port", "0"])
        _ = try await listeningPort(open)
        open.terminate()
        #expect(open.wait() == 0)
        #expect(open.stderr.contains("without an API key"), "\(open.stderr)")

        try "s3cret-from-file\n".write(toFile: "\(directory)/key", atomically: true, encoding: .utf8)
        chmod("\(directory)/key", 0o600)
        let keyed = try monitor(["--sqlite", "\(directory)/b.sqlite", "--host", "0.0.0.0", "--port", "0", "--api-key-file", "\(directory)/key"])
        let port = try await listeningPort(keyed)
        let denied = try await httpGet(port: port, "/api/v1/runs")
        let allowed = try await httpGet(port: port, "/api/v1/runs", headers: ["X-API-Key": "s3cret-from-file"])
        keyed.terminate()
        #expect(keyed.wait() == 0)
        #expect(denied.status == 401)
        #expect(allowed.status == 200)
        #expect(!keyed.stderr.contains("without an API key"))
        #expect(!keyed.stderr.contains("readable by every user"))
    }
}
