import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Logging
import Testing

/// A long PostgreSQL outage, and runs the database refuses: the queue drains in chunks, every
/// run is written once, a refused run is set aside instead of blocking the rest.
@Suite("Store drain", .enabled(if: PostgresCluster.available, "needs root and the PostgreSQL server (Debian postgresql)"))
struct StoreDrainTests {
    static let targets = 100
    static let outageSeconds = 300
    /// The bound the drain is held to once the server is back: 30,000 queued runs.
    static let drainBound: Duration = .seconds(45)

    private func quietLogger() -> Logger {
        var logger = Logger(label: "drain-test")
        logger.logLevel = .critical
        return logger
    }

    /// Every id in the `runs` table.
    private func storedIDs(_ store: PostgresRunStore) async throws -> [String] {
        var ids: [String] = []
        for try await id in try await store.client.query("SELECT id FROM runs").decode(String.self) { ids.append(id) }
        return ids
    }

    @Test("5 minutes of 100 targets checked every second, PostgreSQL stopped: all 30,000 runs written once within 45 s of its restart")
    func longOutageDrains() async throws {
        try await withStore(.postgresql) { store, cluster in
            let store = try #require(store as? PostgresRunStore)
            let cluster = try #require(cluster)
            let metrics = MonitorMetrics()
            let recorder = RunRecorder(store: store, backoff: RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1)),
                                       metrics: metrics, logger: quietLogger())
            let flusher = Task { await recorder.runFlusher() }
            defer { flusher.cancel() }
            try await cluster.stop()
            // Compressed clock: the outage's 300 rounds of 100 targets, timestamped one second apart.
            let start = Date().addingTimeInterval(-Double(Self.outageSeconds))
            var submitted: [String] = []
            submitted.reserveCapacity(Self.targets * Self.outageSeconds + 1000)
            for second in 0..<Self.outageSeconds {
                for target in 0..<Self.targets {
                    let run = sampleRun(submitted.count, target: "t\(target).invalid", timestamp: start.addingTimeInterval(Double(second)))
                    submitted.append(run.id)
                    #expect(await recorder.record(run) == .queued)
                }
            }
            #expect(await recorder.pendingCount == Self.targets * Self.outageSeconds)
            #expect(metrics.renderText().contains("isp_checker_store_pending_runs 30000.0"))

            try await cluster.restart()
            let restarted = ContinuousClock.now
            // The checks go on while the queue drains: 10 more rounds at the real pace.
            for round in 0..<10 {
                for target in 0..<Self.targets {
                    let run = sampleRun(submitted.count, target: "t\(target).invalid", timestamp: Date())
                    submitted.append(run.id)
                    await recorder.record(run)
                }
                if round < 9 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(try await eventually(timeout: Self.drainBound) { await recorder.pendingCount == 0 })
            let drained = ContinuousClock.now - restarted
            print("drain of \(submitted.count) runs after restart: \(drained)")
            #expect(drained < Self.drainBound)
            let stored = try await storedIDs(store)
            #expect(stored.count == submitted.count)
            #expect(Set(stored) == Set(submitted))
            #expect(await recorder.rejectedCount == 0)
            #expect(await recorder.droppedCount == 0)
            #expect(metrics.renderText().contains("isp_checker_store_pending_runs 0.0"))
        }
    }

    @Test("after failing longer than its renewal period the store replaces its client, and works on the new one once the server is back")
    func clientRenewedAfterLongOutage() async throws {
        let cluster = try await PostgresCluster.make()
        defer { cluster.destroy() }
        let store = try PostgresRunStore(url: cluster.url, operationTimeout: .milliseconds(500), clientRenewal: .seconds(1),
                                         logger: quietLogger())
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        try await store.migrate()
        let first = ObjectIdentifier(store.client)
        try await cluster.stop()
        let outageEnd = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < outageEnd {
            try? await store.ping()
            try await Task.sleep(for: .milliseconds(100))
        }
        let renewed = ObjectIdentifier(store.client)
        #expect(renewed != first)
        try await cluster.restart()
        let restarted = ContinuousClock.now
        #expect(try await eventually(timeout: .seconds(20)) { (try? await store.ping()) != nil })
        print("first ping after restart: \(ContinuousClock.now - restarted)")
        try await store.insert(sampleRun(1, timestamp: Date()))
        #expect(try await store.runs(matching: RunQuery()).total == 1)
    }

    @Test("runs PostgreSQL refuses (a NUL byte in the target) are set aside and counted; the runs around them are written")
    func refusedRunIsSetAside() async throws {
        try await withStore(.postgresql) { store, cluster in
            let store = try #require(store as? PostgresRunStore)
            let cluster = try #require(cluster)
            let metrics = MonitorMetrics()
            let recorder = RunRecorder(store: store, backoff: RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .milliseconds(200)),
                                       chunkSize: 100, metrics: metrics, logger: quietLogger())
            // With the store up, a refused run does not queue, and the next run is stored.
            #expect(await recorder.record(sampleRun(0, target: "bad\u{0}target", timestamp: Date())) == .rejected)
            #expect(await recorder.record(sampleRun(1, timestamp: Date())) == .stored)

            try await cluster.stop()
            var good: [String] = []
            for index in 2..<1002 {
                let refused = [17, 350, 999].contains(index)
                let run = sampleRun(index, target: refused ? "t\u{0}\(index)" : "t\(index % 7).invalid", timestamp: Date())
                if !refused { good.append(run.id) }
                await recorder.record(run)
            }
            try await cluster.restart()
            #expect(await recorder.flush(timeout: .seconds(30)) == 0)
            let stored = Set(try await storedIDs(store))
            #expect(stored.count == good.count + 1)
            #expect(stored.isSuperset(of: good))
            #expect(await recorder.rejectedCount == 4)
            #expect(metrics.renderText().contains("isp_checker_store_rejected_runs_total 4"))
        }
    }

    @Test("one insert of more rows than one statement takes (12,000) is written whole, in one transaction")
    func insertLargerThanOneStatement() async throws {
        try await withStore(.postgresql) { _, cluster in
            let cluster = try #require(cluster)
            // The recorder writes 500 at a time; a direct insert this large gets a longer timeout.
            let store = try PostgresRunStore(url: cluster.url, operationTimeout: .seconds(60))
            let pool = Task { try await store.run() }
            defer { pool.cancel() }
            let count = PostgresRunStore.maximumRowsPerStatement + 2_000
            let runs = (0..<count).map { sampleRun($0, target: "t\($0 % 50).invalid", timestamp: Date()) }
            try await store.insert(runs)
            #expect(try await store.runs(matching: RunQuery(limit: 1)).total == count)
            try await store.insert(Array(runs[0..<10]))  // ids it has: nothing written twice
            #expect(try await store.runs(matching: RunQuery(limit: 1)).total == count)
            // A refused row in the second statement rolls back the first statement's rows too.
            let more = (count..<(count + PostgresRunStore.maximumRowsPerStatement + 1)).map { sampleRun($0, timestamp: Date()) }
                + [sampleRun(0, target: "bad\u{0}", timestamp: Date())]
            await #expect(throws: RunStoreError.self) { try await store.insert(more) }
            #expect(try await store.runs(matching: RunQuery(limit: 1)).total == count)
        }
    }
}

@Suite("Spool")
struct RunSpoolTests {
    @Test("runs queued while the store fails are in the spool file; a new recorder reads them back and writes them; the file empties")
    func spoolSurvivesRecorder() async throws {
        let directory = try makeTemporaryDirectory("mn-spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = RunRecorderTests.FlakyStore(inner: try await SQLiteRunStore(path: "\(directory)/runs.sqlite"))
        let spool = "\(directory)/queue.jsonl"
        let runs = (0..<5).map { sampleRun($0, timestamp: Date()) }
        do {
            let first = RunRecorder(store: store, backoff: RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)))
            #expect(try await first.openSpool(at: spool) == 0)
            for run in runs { #expect(await first.record(run) == .queued) }
        }  // the first recorder is gone, as after kill -9
        let lines = try String(contentsOfFile: spool, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 5)
        // A line cut short by a crash mid-write is skipped, not fatal.
        let handle = try #require(FileHandle(forWritingAtPath: spool))
        handle.seekToEndOfFile()
        handle.write(Data("{\"id\":\"cut-sh".utf8))
        try handle.close()

        let second = RunRecorder(store: store, backoff: RetryPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(50)))
        #expect(try await second.openSpool(at: spool) == 5)
        #expect(await second.pendingCount == 5)
        await store.heal()
        #expect(await second.flush(timeout: .seconds(5)) == 0)
        #expect(Set(try await store.runs(matching: RunQuery()).runs.map(\.id)) == Set(runs.map(\.id)))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: spool)[.size] as? Int)
        #expect(size == 0)
    }

    @Test("an unwritable spool path is a clear error")
    func unwritableSpool() async throws {
        let directory = try makeTemporaryDirectory("mn-spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recorder = RunRecorder(store: try await SQLiteRunStore(path: "\(directory)/runs.sqlite"))
        await #expect(throws: RunSpoolError.self) { try await recorder.openSpool(at: "/nonexistent-dir/queue.jsonl") }
    }
}

extension MonitorMetrics {
    /// The exposition as text.
    func renderText() -> String { String(decoding: render(), as: UTF8.self) }
}

@Suite("Store operation timeout")
struct StoreTimeoutTests {
    @Test("withTimeout returns at the deadline even when the operation ignores cancellation")
    func timeoutDoesNotWaitForStuckOperation() async throws {
        let started = ContinuousClock.now
        await #expect(throws: RunStoreError.timedOut(.milliseconds(200))) {
            try await withTimeout(.milliseconds(200)) {
                // A driver call that does not honour cancellation, for 3 s.
                let end = ContinuousClock.now + .seconds(3)
                while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
                return 1
            }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try await withTimeout(.seconds(5)) { 7 } == 7)
        await #expect(throws: RunStoreError.unavailable("x")) {
            try await withTimeout(.seconds(5)) { () async throws -> Int in throw RunStoreError.unavailable("x") }
        }
    }
}
