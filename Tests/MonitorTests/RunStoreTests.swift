import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// The history's contract, checked on SQLite and (as root, with the server installed) on a
/// real PostgreSQL cluster started for each test.
@Suite("Run store")
struct RunStoreTests {
    let base = Date(timeIntervalSince1970: 1_796_000_000)

    @Test("migrations are recorded once, in the schema_migrations table", arguments: Backend.availableCases)
    func migrationsRecordedOnce(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            try await store.migrate()  // a second time: nothing new
            let applied: [Int]
            if let sqlite = store as? SQLiteRunStore { applied = try await sqlite.appliedMigrations() }
            else { applied = try await (store as! PostgresRunStore).appliedMigrations() }
            #expect(applied == SchemaMigrations.all.map(\.version))
        }
    }

    @Test("an inserted run reads back by id, whole; an unknown id is nil", arguments: Backend.availableCases)
    func insertAndGet(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let report = sampleRun(3, timestamp: base)
            try await store.insert(report)
            #expect(try await store.run(id: report.id)?.report() == report)
            #expect(try await store.run(id: "no-such-run") == nil)
        }
    }

    @Test("inserting the same id twice keeps one run", arguments: Backend.availableCases)
    func duplicateInsertIsNoOp(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let report = sampleRun(1, timestamp: base)
            try await store.insert([report, report])
            try await store.insert(report)
            #expect(try await store.runs(matching: RunQuery()).total == 1)
        }
    }

    @Test("listing filters by target and inclusive time range, newest first, in pages", arguments: Backend.availableCases)
    func listFiltersAndPages(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let runs = (0..<10).map { sampleRun($0, target: $0 % 2 == 0 ? "a.invalid" : "b.invalid", timestamp: base.addingTimeInterval(Double($0) * 60)) }
            try await store.insert(runs)
            let all = try await store.runs(matching: RunQuery(limit: 100))
            #expect(all.runs.map(\.id) == runs.reversed().map(\.id))
            let a = try await store.runs(matching: RunQuery(target: "a.invalid", limit: 100))
            #expect(a.total == 5 && a.runs.allSatisfy { $0.target == "a.invalid" })
            let window = try await store.runs(matching: RunQuery(since: base.addingTimeInterval(120), until: base.addingTimeInterval(300), limit: 100))
            #expect(window.runs.map(\.id) == runs[2...5].reversed().map(\.id))
            let page2 = try await store.runs(matching: RunQuery(limit: 3, offset: 3))
            #expect(page2.total == 10)
            #expect(page2.runs.map(\.id) == runs.reversed()[3..<6].map(\.id))
        }
    }

    @Test("retention deletes runs older than 30 days and keeps the rest", arguments: Backend.availableCases)
    func retentionDeletesOldRuns(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let now = base
            let old = (0..<3).map { sampleRun($0, timestamp: now.addingTimeInterval(-31 * 86400 - Double($0))) }
            let recent = (0..<2).map { sampleRun($0, timestamp: now.addingTimeInterval(-29 * 86400 + Double($0))) }
            try await store.insert(old + recent)
            let job = RetentionJob(store: store, now: { now })
            #expect(try await job.runOnce() == 3)
            let left = try await store.runs(matching: RunQuery(limit: 100))
            #expect(Set(left.runs.map(\.id)) == Set(recent.map(\.id)))
        }
    }
}
