import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// The database going away while the monitor runs: runs wait in memory and are written when it is back.
@Suite("Store outage", .enabled(if: PostgresCluster.available, "needs root and the PostgreSQL server (Debian postgresql)"))
struct StoreOutageTests {
    @Test("PostgreSQL stopped mid-run and restarted: every run reaches the history, none twice")
    func postgresRestartLosesNoRun() async throws {
        try await withStore(.postgresql) { store, cluster in
            let cluster = try #require(cluster)
            let monitor = try await InProcessMonitor(store: store)
            var submitted: [RunReport] = []
            func submit(_ count: Int) async throws {
                for _ in 0..<count {
                    let run = sampleRun(submitted.count, timestamp: Date())
                    submitted.append(run)
                    monitor.submit(run)
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            do {
                try await submit(20)
                #expect(try await monitor.waitForStoredRuns(20))
                try await cluster.stop()
                try await submit(20)  // the store is gone: these wait in memory
                #expect(try await eventually { await monitor.recorder.pendingCount > 0 })
                let health = try await httpGet(port: monitor.port, "/health/detailed")
                #expect(health.status == 503)
                #expect((try health.json()["store"] as? [String: Any])?["reachable"] as? Bool == false)
                try await cluster.restart()
                try await submit(10)
                #expect(try await eventually(timeout: .seconds(60)) { await monitor.recorder.pendingCount == 0 })
                #expect(try await monitor.waitForStoredRuns(50))
                let stored = try await store.runs(matching: RunQuery(limit: 1000))
                #expect(stored.total == 50)
                #expect(Set(stored.runs.map(\.id)) == Set(submitted.map(\.id)))
            } catch {
                await monitor.stop()
                throw error
            }
            await monitor.stop()
        }
    }
}

/// A SQLite file that cannot be written stands in for a store gone away, without root.
@Suite("Recorder")
struct RunRecorderTests {
    /// Fails while `failing` is set, then writes through to SQLite.
    actor FlakyStore: RunStore {
        nonisolated var backendName: String { "flaky" }
        let inner: SQLiteRunStore
        var failing = true
        init(inner: SQLiteRunStore) { self.inner = inner }
        func heal() { failing = false }
        func migrate() async throws { try await inner.migrate() }
        func insert(_ reports: [RunReport]) async throws {
            if failing { throw RunStoreError.unavailable("test outage") }
            try await inner.insert(reports)
        }
        func run(id: String) async throws -> StoredRun? { try await inner.run(id: id) }
        func runs(matching query: RunQuery) async throws -> RunPage { try await inner.runs(matching: query) }
        func deleteRuns(olderThan cutoff: Date) async throws -> Int { try await inner.deleteRuns(olderThan: cutoff) }
        func ping() async throws { if failing { throw RunStoreError.unavailable("test outage") } }
    }

    @Test("runs recorded while the store fails are queued, then flushed once it is back")
    func queuesAndFlushes() async throws {
        let directory = try makeTemporaryDirectory("mn-rec")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FlakyStore(inner: try await SQLiteRunStore(path: "\(directory)/runs.sqlite"))
        let recorder = RunRecorder(store: store, backoff: RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)))
        let runs = (0..<5).map { sampleRun($0, timestamp: Date()) }
        for run in runs { #expect(await recorder.record(run) == .queued) }
        #expect(await recorder.pendingCount == 5)
        #expect(await recorder.storeReachable == false)
        #expect(await recorder.flush(timeout: .milliseconds(100)) == 5)  // still failing: nothing lost, nothing written
        await store.heal()
        #expect(await recorder.flush(timeout: .seconds(5)) == 0)
        #expect(try await store.runs(matching: RunQuery()).total == 5)
        #expect(await recorder.record(sampleRun(5, timestamp: Date())) == .stored)
    }

    @Test("the store reconnects by default after 250 ms, doubling to 10 s")
    func defaultReconnectDoublesToTenSeconds() {
        #expect((1...7).map { RetryPolicy.storeReconnect.backoff(afterFailures: $0) } ==
                [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10)])
    }
}
