import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// The built `isp-checker-monitor` next to the test bundle.
let monitorExecutable: String = {
    let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    for candidate in [Bundle.main.bundleURL.path, directory, Bundle.main.bundleURL.deletingLastPathComponent().path] {
        let path = candidate + "/isp-checker-monitor"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repositoryRoot.appendingPathComponent(".build/debug/isp-checker-monitor").path
}()

/// The monitor executable with SQLite, fed by its synthetic runs.
@Suite("Monitor executable", .enabled(if: FileManager.default.isExecutableFile(atPath: monitorExecutable), "build isp-checker-monitor first"))
struct ExecutableTests {
    private func acknowledged(_ process: Subprocess) -> [String] {
        process.stdout.split(separator: "\n").compactMap { line in
            line.hasPrefix("stored ") ? String(line.dropFirst("stored ".count)) : nil
        }
    }

    private func listeningPort(_ process: Subprocess) async throws -> Int {
        var port: Int?
        _ = try await eventually {
            port = process.stdout.split(separator: "\n").first { $0.hasPrefix("listening ") }
                .flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
            return port != nil
        }
        return try #require(port, "monitor did not start: \(process.stderr)")
    }

    @Test("kill -9 of the monitor: every run it acknowledged is in the SQLite file")
    func killNineKeepsAcknowledgedRuns() async throws {
        let directory = try makeTemporaryDirectory("mn-kill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/runs.sqlite"
        let process = try Subprocess(monitorExecutable, ["--sqlite", path, "--port", "0", "--demo-runs", "0", "--demo-interval-ms", "2"])
        _ = try await listeningPort(process)
        #expect(try await eventually { acknowledged(process).count >= 200 })
        kill(process.pid, SIGKILL)
        #expect(process.wait() == 128 + SIGKILL)
        let acked = acknowledged(process)
        let store = try await SQLiteRunStore(path: path)
        let stored = try await store.runs(matching: RunQuery(limit: RunQuery.maximumLimit))
        var present = Set(stored.runs.map(\.id))
        var offset = RunQuery.maximumLimit
        while offset < stored.total {
            present.formUnion(try await store.runs(matching: RunQuery(limit: RunQuery.maximumLimit, offset: offset)).runs.map(\.id))
            offset += RunQuery.maximumLimit
        }
        #expect(acked.count >= 200)
        #expect(acked.filter { !present.contains($0) }.isEmpty)
    }

    @Test("SIGTERM: the monitor drains, flushes and exits 0; its runs are listed by the API before")
    func sigtermExitsCleanly() async throws {
        let directory = try makeTemporaryDirectory("mn-term")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try Subprocess(monitorExecutable, ["--sqlite", "\(directory)/runs.sqlite", "--port", "0",
                                                         "--demo-runs", "5", "--demo-interval-ms", "10", "--demo-target", "t.invalid"])
        let port = try await listeningPort(process)
        #expect(try await eventually { acknowledged(process).count == 5 })
        let listed = try await httpGet(port: port, "/api/v1/runs?target=t.invalid")
        #expect(try listed.json()["total"] as? Int == 5)
        process.terminate()
        #expect(process.wait() == 0)
    }

    @Test("a number out of range is a usage error naming the flag, not a trap later",
          arguments: [(["--retention-days", "100000000000000"], "--retention-days must be 1 ... 36500"),
                      (["--retention-interval-seconds", "9223372036854775807"], "--retention-interval-seconds must be 1 ... 86400"),
                      (["--demo-interval-ms=-1"], "--demo-interval-ms must be 0 ... 86400000"),
                      (["--port", "70000"], "--port must be 0 ... 65535")])
    func numbersOutOfRangeAreUsageErrors(arguments: [String], message: String) throws {
        let directory = try makeTemporaryDirectory("mn-range")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try Subprocess(monitorExecutable, ["--sqlite", "\(directory)/runs.sqlite", "--demo-runs", "1"] + arguments)
        #expect(process.wait() == 64, "\(process.stderr)")
        #expect(process.stderr.contains(message), "\(process.stderr)")
    }

    @Test("neither --sqlite nor --postgres is a usage error, not a trace")
    func missingStoreIsUsageError() throws {
        let process = try Subprocess(monitorExecutable, ["--port", "0"])
        #expect(process.wait() == 64)
        #expect(process.stderr.contains("--sqlite"))
    }
}
