import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// The executable against a real PostgreSQL: the URL from a file or the environment, and the
/// spool file keeping the queue through `kill -9` during an outage.
@Suite("Monitor executable with PostgreSQL",
       .enabled(if: PostgresCluster.available && FileManager.default.isExecutableFile(atPath: monitorExecutable),
                "needs root, the PostgreSQL server and the built isp-checker-monitor"))
struct ExecutablePostgresTests {
    private func lines(_ process: Subprocess, _ prefix: String) -> [String] {
        process.stdout.split(separator: "\n").compactMap { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : nil }
    }

    private func storedIDs(_ url: String) async throws -> Set<String> {
        let store = try PostgresRunStore(url: url)
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        var ids = Set<String>()
        for try await id in try await store.client.query("SELECT id FROM runs").decode(String.self) { ids.insert(id) }
        return ids
    }

    @Test("kill -9 during an outage: every run acknowledged as spooled or stored reaches PostgreSQL after the next start; SIGTERM then exits 0")
    func spoolSurvivesKillNine() async throws {
        let cluster = try await PostgresCluster.make()
        defer { cluster.destroy() }
        let directory = try makeTemporaryDirectory("mn-spoolx")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Started as root, the monitor continues as nobody: the spool gets a folder of its own,
        // handed over like a SQLite store's, below one nobody may enter.
        #expect(chmod(directory, 0o711) == 0)
        let spool = "\(directory)/spool/queue.jsonl"
        try cluster.url.write(toFile: "\(directory)/url", atomically: true, encoding: .utf8)
        let arguments = ["--postgres-url-file", "\(directory)/url", "--spool", spool, "--port", "0"]

        let first = try Subprocess(monitorExecutable, arguments + ["--demo-runs", "0", "--demo-interval-ms", "5"])
        #expect(try await eventually { lines(first, "stored ").count >= 20 })
        try await cluster.stop()
        let spooledBefore = lines(first, "spooled ").count
        #expect(try await eventually(timeout: .seconds(60)) { lines(first, "spooled ").count >= spooledBefore + 200 },
                "\(first.stdout.suffix(300)) \(first.stderr.split(separator: "\n").filter { !$0.contains("Connection creation") }.suffix(15).joined(separator: "\n"))")
        kill(first.pid, SIGKILL)
        #expect(first.wait() == 128 + SIGKILL)
        // The outage's runs are in the file, not in the database.
        let spooledLines = try String(contentsOfFile: spool, encoding: .utf8).split(separator: "\n").count
        #expect(spooledLines >= 200)
        let storedBeforeRestart = Set(lines(first, "stored "))
        let acknowledged = Set(lines(first, "stored ") + lines(first, "spooled "))
        #expect(acknowledged.subtracting(storedBeforeRestart).count >= 200)

        try await cluster.restart()
        let second = try Subprocess("/usr/bin/env", ["ISP_CHECKER_POSTGRES_URL=\(cluster.url)", monitorExecutable,
                                                     "--spool", spool, "--port", "0", "--demo-runs", "1"])
        defer { if second.isRunning { kill(second.pid, SIGKILL) }; _ = second.wait() }
        #expect(try await eventually { second.stdout.contains("listening ") })
        var stored = Set<String>()
        #expect(try await eventually(timeout: .seconds(60)) {
            stored = try await storedIDs(cluster.url)
            return stored.isSuperset(of: acknowledged)
        })
        #expect(acknowledged.subtracting(stored).isEmpty, "lost \(acknowledged.subtracting(stored).count) acknowledged runs")
        #expect(try await eventually {
            ((try? FileManager.default.attributesOfItem(atPath: spool)[.size] as? Int) ?? -1) == 0
        })
        // SIGTERM stops the PostgreSQL client too: the process exits 0, promptly.
        second.terminate()
        #expect(try await eventually(timeout: .seconds(20)) { !second.isRunning })
        #expect(second.wait() == 0, "\(second.stderr.suffix(2000))")
    }
}
