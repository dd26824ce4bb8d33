import Foundation
import GRDB
import ISPChecker

/// The embedded run history: one SQLite file, opened in WAL mode with `synchronous=FULL` so a
/// committed insert survives a crash of the process or the machine.
public struct SQLiteRunStore: RunStore {
    public var backendName: String { "sqlite" }
    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens (creating if needed) the file and migrates it.
    public init(path: String) async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL is DatabasePool's journal mode; FULL syncs the WAL at every commit, so an
            // acknowledged write is on disk (https://www.sqlite.org/pragma.html#pragma_synchronous).
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.path = path
        do {
            self.pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw RunStoreError.unavailable("cannot open SQLite database at \(path): \(error)")
        }
        try await migrate()
    }

    public func migrate() async throws {
        try await pool.write { db in
            try db.execute(sql: SchemaMigrations.createTable.sqlite)
            let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations"))
            for migration in SchemaMigrations.all where !applied.contains(migration.version) {
                for statement in migration.sqlite { try db.execute(sql: statement) }
                try db.execute(
                    sql: "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (?, ?, ?)",
                    arguments: [migration.version, migration.description, Int64(Date().timeIntervalSince1970 * 1000)])
            }
        }
    }

    /// The versions recorded in `schema_migrations`, ascending.
    public func appliedMigrations() async throws -> [Int] {
        try await pool.read { db in try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version") }
    }

    public func insert(_ reports: [RunReport]) async throws {
        guard !reports.isEmpty else { return }
        let rows: [(RunReport, StoredRun)]
        do {
            rows = try reports.map { ($0, try StoredRun($0)) }
        } catch {
            throw RunStoreError.rejected("cannot encode the report: \(error)")
        }
        do {
            try await write(rows)
        } catch let error as DatabaseError where [.SQLITE_CONSTRAINT, .SQLITE_TOOBIG, .SQLITE_MISMATCH].contains(error.resultCode) {
            throw RunStoreError.rejected("SQLite \(error.resultCode): \(error.message ?? "no message")")
        }
    }

    private func write(_ rows: [(RunReport, StoredRun)]) async throws {
        try await pool.write { db in
            for (report, row) in rows {
                let ping = PingColumns(report)
                let evaluated = try report.pathFingerprint.map { try Self.evaluatePath(db, report: report, path: $0) }
                try db.execute(
                    sql: """
                    INSERT INTO runs (id, target, timestamp_ms, score, severity, report_json,
                                      ping_loss_percent, ping_rtt_avg_ms, ping_rtt_max_ms, path_fingerprint, vantage)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                    """,
                    arguments: [row.id, row.target, row.timestampMilliseconds, report.score,
                                report.severity.rawValue, row.json,
                                ping.lossPercent, ping.rttAvgMilliseconds, ping.rttMaxMilliseconds, evaluated?.reference,
                                report.vantage])
                if db.changesCount == 1, let change = evaluated?.change { try Self.recordPathChange(db, change) }
            }
        }
    }

    public func run(id: String) async throws -> StoredRun? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, target, timestamp_ms, report_json FROM runs WHERE id = ?",
                             arguments: [id]).map(Self.storedRun)
        }
    }

    public func runs(matching query: RunQuery) async throws -> RunPage {
        let (whereClause, filterArguments) = query.sqliteFilter
        let pageArguments = filterArguments + [query.limit, query.offset]
        return try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs \(whereClause)", arguments: filterArguments) ?? 0
            let runs = try Row.fetchAll(
                db,
                sql: """
                SELECT id, target, timestamp_ms, report_json FROM runs \(whereClause)
                ORDER BY timestamp_ms DESC, id DESC LIMIT ? OFFSET ?
                """,
                arguments: pageArguments
            ).map(Self.storedRun)
            return RunPage(runs: runs, total: total)
        }
    }

    @discardableResult
    public func deleteRuns(olderThan cutoff: Date) async throws -> Int {
        let cutoffMilliseconds = Int64((cutoff.timeIntervalSince1970 * 1000).rounded(.down))
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM runs WHERE timestamp_ms < ?", arguments: [cutoffMilliseconds])
            let deleted = db.changesCount
            try db.execute(sql: "DELETE FROM path_changes WHERE timestamp_ms < ?", arguments: [cutoffMilliseconds])
            return deleted
        }
    }

    /// SQLite's bare columns beside `MAX()` come from the row holding the maximum.
    public func latestRunPerVantage(target: String) async throws -> [StoredRun] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, target, MAX(timestamp_ms) AS timestamp_ms, report_json FROM runs
                WHERE target = ? GROUP BY vantage
                """, arguments: [target]).map(Self.storedRun)
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    private static func storedRun(_ row: Row) -> StoredRun {
        StoredRun(id: row["id"], target: row["target"], timestampMilliseconds: row["timestamp_ms"], json: row["report_json"])
    }
}

extension RunQuery {
    /// The `WHERE` clause of the target, vantage and time filters and its arguments, for SQLite
    /// (runs and path changes share the columns `target`, `vantage` and `timestamp_ms`).
    var sqliteFilter: (clause: String, arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let target { conditions.append("target = ?"); arguments += [target] }
        if let vantage { conditions.append("vantage = ?"); arguments += [vantage] }
        if let sinceMilliseconds { conditions.append("timestamp_ms >= ?"); arguments += [sinceMilliseconds] }
        if let untilMilliseconds { conditions.append("timestamp_ms <= ?"); arguments += [untilMilliseconds] }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), arguments)
    }
}
