import Foundation
import GRDB
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// `isp-checker-monitor backup|restore|verify` on real SQLite files, one with the monitor
/// writing to it (issue 22, part 5; docs/operations.md).
@Suite("SQLite backup, restore and verify", .enabled(if: FileManager.default.isExecutableFile(atPath: monitorExecutable), "build isp-checker-monitor first"))
struct BackupTests {
    private func acknowledged(_ process: Subprocess) -> [String] {
        process.stdout.split(separator: "\n").compactMap { line in
            line.hasPrefix("stored ") ? String(line.dropFirst("stored ".count)) : nil
        }
    }

    /// Every run id in the SQLite history at `path`, read through the store.
    private func storedIDs(_ path: String) async throws -> Set<String> {
        let store = try await SQLiteRunStore(path: path)
        var ids = Set<String>()
        var offset = 0
        while true {
            let page = try await store.runs(matching: RunQuery(limit: RunQuery.maximumLimit, offset: offset))
            ids.formUnion(page.runs.map(\.id))
            offset += RunQuery.maximumLimit
            if offset >= page.total { return ids }
        }
    }

    private func verifyJSON(_ path: String) throws -> [String: Any] {
        let output = try run(monitorExecutable, ["verify", "--sqlite", path, "--json"])
        return try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "\(output.stdout)")
    }

    @Test("a backup taken while the monitor writes every 100 ms restores to a verified history holding every run acknowledged before it")
    func backupWhileWriting() async throws {
        let directory = try makeTemporaryDirectory("mn-backup")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let live = "\(directory)/runs.sqlite"
        let monitor = try Subprocess(monitorExecutable, ["--sqlite", live, "--port", "0", "--demo-runs", "0", "--demo-interval-ms", "100",
                                                         "--demo-target", "a.invalid", "--demo-target", "b.invalid"])
        defer { monitor.terminate(); monitor.wait() }
        #expect(try await eventually { acknowledged(monitor).count >= 10 }, "\(monitor.stderr)")
        let before = Set(acknowledged(monitor))

        let backup = try run(monitorExecutable, ["backup", "--sqlite", live, "--to", "\(directory)/backup.sqlite"])
        #expect(backup.stdout.contains("backed up \(live) to \(directory)/backup.sqlite"), "\(backup.stdout)")
        // The monitor went on writing after the backup: the copy was taken from a live history.
        let count = acknowledged(monitor).count
        #expect(try await eventually { acknowledged(monitor).count > count }, "\(monitor.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/backup.sqlite.partial"))
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/backup.sqlite-wal"), "a backup is one file")

        let restored = "\(directory)/restored.sqlite"
        let restore = try run(monitorExecutable, ["restore", "--from", "\(directory)/backup.sqlite", "--sqlite", restored])
        #expect(restore.stdout.contains("\(restored): ok"), "\(restore.stdout)")
        let verified = try verifyJSON(restored)
        #expect(verified["integrity"] as? String == "ok")
        let tables = try #require(verified["tables"] as? [String: Int])
        let ids = try await storedIDs(restored)
        #expect(before.subtracting(ids).isEmpty, "acknowledged before the backup but missing: \(before.subtracting(ids).sorted())")
        #expect(tables["runs"] == ids.count)
        #expect(verified["schema_versions"] as? [Int] == SchemaMigrations.all.map(\.version))
        let newest = try #require(verified["newest_run"] as? [String: Any])
        #expect(ids.contains(try #require(newest["id"] as? String)))
    }

    @Test("every table is copied and counted, also one this build does not know (a later migration's)")
    func copiesEveryTable() async throws {
        let directory = try makeTemporaryDirectory("mn-backup")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let live = "\(directory)/runs.sqlite"
        let store = try await SQLiteRunStore(path: live)
        let base = Date(timeIntervalSince1970: 1_796_000_000)
        let runs = (0..<3).map { sampleRun($0, timestamp: base.addingTimeInterval(Double($0))) }
        try await store.insert(runs)
        try await store.pool.write { db in
            try db.execute(sql: "CREATE TABLE later_events (id INTEGER PRIMARY KEY, note TEXT)")
            for note in ["a", "b", "c", "d"] { try db.execute(sql: "INSERT INTO later_events (note) VALUES (?)", arguments: [note]) }
        }
        try run(monitorExecutable, ["backup", "--sqlite", live, "--to", "\(directory)/backup.sqlite"])
        let text = try run(monitorExecutable, ["verify", "--sqlite", "\(directory)/backup.sqlite"]).stdout
        // Every table, by name: also those of migrations after this test was written.
        let tables = try #require(text.split(separator: "\n").first { $0.contains("tables: ") }, "\(text)")
        let counts = tables.split(separator: ":", maxSplits: 1)[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(counts.contains("later_events 4"), "\(text)")
        #expect(counts.contains("runs 3") && counts.contains("schema_migrations \(SchemaMigrations.all.count)"), "\(text)")
        #expect(counts == counts.sorted(), "tables by name: \(counts)")
        #expect(text.contains("newest run: \(runs[2].id) lab.invalid"), "\(text)")
    }

    @Test("restore refuses to replace a history without --force, and with it replaces its content")
    func restoreNeedsForce() async throws {
        let directory = try makeTemporaryDirectory("mn-backup")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = Date(timeIntervalSince1970: 1_796_000_000)
        let source = try await SQLiteRunStore(path: "\(directory)/a.sqlite")
        let kept = sampleRun(1, target: "a.invalid", timestamp: base)
        try await source.insert([kept])
        let other = try await SQLiteRunStore(path: "\(directory)/b.sqlite")
        try await other.insert([sampleRun(2, target: "b.invalid", timestamp: base), sampleRun(3, target: "b.invalid", timestamp: base)])
        try run(monitorExecutable, ["backup", "--sqlite", "\(directory)/a.sqlite", "--to", "\(directory)/a.backup"])

        let refused = try run(monitorExecutable, ["restore", "--from", "\(directory)/a.backup", "--sqlite", "\(directory)/b.sqlite"], check: false)
        #expect(refused.status == 73)
        #expect(refused.stderr.contains("pass --force"), "\(refused.stderr)")
        #expect(try await storedIDs("\(directory)/b.sqlite").count == 2, "a refused restore changes nothing")

        try run(monitorExecutable, ["restore", "--from", "\(directory)/a.backup", "--sqlite", "\(directory)/b.sqlite", "--force"])
        #expect(try await storedIDs("\(directory)/b.sqlite") == [kept.id])
    }

    @Test("a missing, damaged or foreign file is refused with its exit code and what to do")
    func refusesBadFiles() async throws {
        let directory = try makeTemporaryDirectory("mn-backup")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Not a database: SQLite's header is missing.
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: "\(directory)/garbage.sqlite"))
        // A database, but not a run history.
        let foreign = try DatabaseQueue(path: "\(directory)/foreign.sqlite")
        try await foreign.write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        try foreign.close()
        // A run history with a page overwritten: integrity_check finds it.
        let history = "\(directory)/damaged.sqlite"
        let store = try await SQLiteRunStore(path: history)
        let base = Date(timeIntervalSince1970: 1_796_000_000)
        try await store.insert((0..<200).map { sampleRun($0, timestamp: base.addingTimeInterval(Double($0))) })
        try run(monitorExecutable, ["backup", "--sqlite", history, "--to", "\(directory)/whole.sqlite"])
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: "\(directory)/whole.sqlite"))
        // The b-tree page headers of pages 2 and 3 (the runs table and an index): an invalid page type.
        for page in [1, 2] {
            try handle.seek(toOffset: UInt64(4096 * page))
            try handle.write(contentsOf: Data(repeating: 0xFF, count: 16))
        }
        try handle.close()

        let cases: [([String], Int32, String)] = [
            (["verify", "--sqlite", "\(directory)/none.sqlite"], 66, "none.sqlite: No such file or directory"),
            (["backup", "--sqlite", "\(directory)/none.sqlite", "--to", "\(directory)/x"], 66, "No such file or directory"),
            (["verify", "--sqlite", "\(directory)/garbage.sqlite"], 65, "garbage.sqlite is damaged"),
            (["verify", "--sqlite", "\(directory)/foreign.sqlite"], 65, "is not an isp-checker run history: it has no runs table"),
            (["verify", "--sqlite", "\(directory)/whole.sqlite"], 65, "whole.sqlite is damaged"),
            (["restore", "--from", "\(directory)/whole.sqlite", "--sqlite", "\(directory)/new.sqlite"], 65, "restore an older backup"),
            (["backup", "--sqlite", history, "--to", "\(directory)/no/such/folder/b.sqlite"], 73, "cannot write"),
            (["backup", "--sqlite", history, "--to", history], 64, "same file"),
        ]
        for (arguments, status, message) in cases {
            let output = try run(monitorExecutable, arguments, check: false)
            #expect(output.status == status, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/new.sqlite"), "a refused restore creates nothing")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/x"))
    }
}
