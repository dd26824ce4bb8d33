import Foundation
import GRDB
import ISPChecker
import Logging
import PostgresNIO

/// A path change as the history keeps it (table `path_changes`, schema version 4): the run
/// whose path left the target's previous run's, where, and both paths.
///
/// Detected by the store when it inserts a run, in the same transaction: the run's fingerprint
/// (`PathFingerprint`) is compared with the reference kept in the newest earlier run of the
/// target that has one (`runs.path_fingerprint`: that run's path, its silent hops filled from
/// the reference before it, `PathFingerprint.next`). So
/// the event is durable exactly when the run is, is written once (keyed by the run's id, a
/// retried insert adds nothing), and several monitors sharing a PostgreSQL history agree on it.
public struct StoredPathChange: Sendable, Equatable {
    /// The run whose path changed.
    public var runID: String
    public var target: String
    /// The run's time, milliseconds since 1970-01-01T00:00:00Z.
    public var timestampMilliseconds: Int64
    /// The earlier run it was compared with.
    public var previousRunID: String
    /// The first differing hop and its addresses before and after.
    public var change: PathChange
    /// Both fingerprints in `PathFingerprint.text` form.
    public var previousPath: String
    public var path: String

    /// `{"from":[…],"hop":3,"path":"…","previous_path":"…","previous_run_id":"…","run_id":"…",
    /// "summary":"hop 3: … → …","target":"…","timestamp":"…"}`.
    var json: String {
        struct Body: Encodable {
            var from: [String]
            var hop: Int
            var path: String
            var previous_path: String
            var previous_run_id: String
            var run_id: String
            var summary: String
            var target: String
            var timestamp: Date
            var to: [String]
        }
        let body = Body(from: change.from, hop: change.hop, path: path, previous_path: previousPath, previous_run_id: previousRunID,
                        run_id: runID, summary: change.description, target: target,
                        timestamp: Date(timeIntervalSince1970: Double(timestampMilliseconds) / 1000), to: change.to)
        return String(decoding: (try? StoredRun.encoder.encode(body)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// One page of path changes, newest first.
public struct PathChangePage: Sendable, Equatable {
    public var changes: [StoredPathChange]
    /// How many match the query in all.
    public var total: Int
}

enum PathChangeDetection {
    /// What the store writes for a run with path `path`, given the newest earlier run of its
    /// target with a stored path (its id and `PathFingerprint.text`): the reference to keep in
    /// the run's `path_fingerprint` (`PathFingerprint.next`) and the change row, if any.
    static func evaluate(_ report: RunReport, path: PathFingerprint, previous: (id: String, path: String)?) -> (reference: String, change: StoredPathChange?) {
        let before = previous.flatMap { PathFingerprint(text: $0.path) }
        let (change, reference) = PathFingerprint.next(previous: before, current: path)
        guard let change, let previous else { return (reference.text, nil) }
        return (reference.text, StoredPathChange(
            runID: report.id, target: report.target, timestampMilliseconds: milliseconds(report),
            previousRunID: previous.id, change: change, previousPath: previous.path, path: path.text))
    }

    static func milliseconds(_ report: RunReport) -> Int64 { Int64((report.timestamp.timeIntervalSince1970 * 1000).rounded(.down)) }

    static let insertColumns = "run_id, target, timestamp_ms, previous_run_id, hop, from_addresses, to_addresses, previous_path, path"
}

// MARK: - SQLite

extension SQLiteRunStore {
    /// Inside `insert`'s write transaction, before the run's row: the newest earlier run of the
    /// target with a path, and what to write (`PathChangeDetection.evaluate`).
    static func evaluatePath(_ db: Database, report: RunReport, path: PathFingerprint) throws -> (reference: String, change: StoredPathChange?) {
        let previous = try Row.fetchOne(db, sql: """
            SELECT id, path_fingerprint FROM runs
            WHERE target = ? AND vantage IS ? AND timestamp_ms < ? AND path_fingerprint IS NOT NULL
            ORDER BY timestamp_ms DESC, id DESC LIMIT 1
            """, arguments: [report.target, report.vantage, PathChangeDetection.milliseconds(report)])
            .map { (id: $0["id"] as String, path: $0["path_fingerprint"] as String) }
        return PathChangeDetection.evaluate(report, path: path, previous: previous)
    }

    /// Inside `insert`'s write transaction, once the run's row is in.
    static func recordPathChange(_ db: Database, _ row: StoredPathChange) throws {
        try db.execute(
            sql: "INSERT INTO path_changes (\(PathChangeDetection.insertColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
            arguments: [row.runID, row.target, row.timestampMilliseconds, row.previousRunID, row.change.hop,
                        row.change.from.joined(separator: "|"), row.change.to.joined(separator: "|"), row.previousPath, row.path])
    }

    public func pathChanges(matching query: RunQuery) async throws -> PathChangePage {
        let (whereClause, filterArguments) = query.sqliteFilter
        let pageArguments = filterArguments + [query.limit, query.offset]
        return try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM path_changes \(whereClause)", arguments: filterArguments) ?? 0
            let changes = try Row.fetchAll(
                db,
                sql: "SELECT \(PathChangeDetection.insertColumns) FROM path_changes \(whereClause) ORDER BY timestamp_ms DESC, run_id DESC LIMIT ? OFFSET ?",
                arguments: pageArguments
            ).map { row in
                StoredPathChange(runID: row["run_id"], target: row["target"], timestampMilliseconds: row["timestamp_ms"],
                                 previousRunID: row["previous_run_id"],
                                 change: PathChange(hop: row["hop"], from: Self.addresses(row["from_addresses"]), to: Self.addresses(row["to_addresses"])),
                                 previousPath: row["previous_path"], path: row["path"])
            }
            return PathChangePage(changes: changes, total: total)
        }
    }

    static func addresses(_ text: String) -> [String] { text.split(separator: "|").map(String.init) }
}

// MARK: - PostgreSQL

extension PostgresRunStore {
    /// Called inside `insert`'s transaction, after the runs' rows: one change row per run whose
    /// path left its target's previous run's (a run already stored finds the same change again,
    /// and `ON CONFLICT` keeps one).
    ///
    /// One query per target of the batch (its reference before the batch's first run), then the
    /// batch is chained in memory, so a long batch (a drained queue) costs no round trip per run;
    /// only the rare rows whose reference differs from their own path are updated.
    static func recordPathChanges(_ connection: PostgresConnection, reports: [RunReport], logger: Logger) async throws {
        let traced = reports.compactMap { report in report.pathFingerprint.map { (report, $0) } }
            .sorted { $0.0.timestamp < $1.0.timestamp }
        var references: [String: (id: String, path: String)?] = [:]
        for (report, path) in traced {
            let target = report.target
            let milliseconds = PathChangeDetection.milliseconds(report)
            if references[target] == nil {
                var previous: (id: String, path: String)?
                let rows = try await connection.query("""
                    SELECT id, path_fingerprint FROM runs
                    WHERE target = \(target) AND vantage IS NOT DISTINCT FROM \(report.vantage)
                      AND timestamp_ms < \(milliseconds) AND path_fingerprint IS NOT NULL
                    ORDER BY timestamp_ms DESC, id DESC LIMIT 1
                    """, logger: logger)
                for try await (id, text) in rows.decode((String, String).self) { previous = (id, text) }
                references[target] = .some(previous)
            }
            let (reference, change) = PathChangeDetection.evaluate(report, path: path, previous: references[target] ?? nil)
            references[target] = .some((report.id, reference))
            let id = report.id
            if reference != path.text {
                try await connection.query("UPDATE runs SET path_fingerprint = \(reference) WHERE id = \(id)", logger: logger)
            }
            guard let row = change else { continue }
            let hop = Int64(row.change.hop)
            let from = row.change.from.joined(separator: "|"), to = row.change.to.joined(separator: "|")
            try await connection.query("""
                INSERT INTO path_changes (run_id, target, timestamp_ms, previous_run_id, hop, from_addresses, to_addresses, previous_path, path)
                VALUES (\(row.runID), \(row.target), \(row.timestampMilliseconds), \(row.previousRunID), \(hop), \(from), \(to), \(row.previousPath), \(row.path))
                ON CONFLICT (run_id) DO NOTHING
                """, logger: logger)
        }
    }

    public func pathChanges(matching query: RunQuery) async throws -> PathChangePage {
        let (whereClause, binds) = query.postgresFilter
        let countQuery = PostgresQuery(unsafeSQL: "SELECT COUNT(*)::BIGINT FROM path_changes \(whereClause)", binds: binds)
        var pageBinds = binds
        pageBinds.append(Int64(query.limit))
        pageBinds.append(Int64(query.offset))
        let pageQuery = PostgresQuery(
            unsafeSQL: "SELECT \(PathChangeDetection.insertColumns) FROM path_changes \(whereClause) ORDER BY timestamp_ms DESC, run_id DESC LIMIT $\(pageBinds.count - 1) OFFSET $\(pageBinds.count)",
            binds: pageBinds)
        return try await timed { [client] in
            var total = 0
            for try await count in try await client.query(countQuery).decode(Int64.self) { total = Int(count) }
            var changes: [StoredPathChange] = []
            for try await (runID, target, timestamp, previousRunID, hop, from, to, previousPath, path) in try await client.query(pageQuery)
                .decode((String, String, Int64, String, Int32, String, String, String, String).self) {
                changes.append(StoredPathChange(runID: runID, target: target, timestampMilliseconds: timestamp, previousRunID: previousRunID,
                                                change: PathChange(hop: Int(hop), from: SQLiteRunStore.addresses(from), to: SQLiteRunStore.addresses(to)),
                                                previousPath: previousPath, path: path))
            }
            return PathChangePage(changes: changes, total: total)
        }
    }
}
