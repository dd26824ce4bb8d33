import Foundation
import ISPChecker
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The shared run history: several monitors write to one PostgreSQL database. Commits are
/// synchronous (`synchronous_commit=on` is asked for at connection start), so an acknowledged
/// insert is in the server's WAL on disk.
///
/// The connection pool must run: add the store to the `ServiceGroup` (it is a `Service`), or
/// call `run()` in a task. When the server goes away, operations fail (after
/// `operationTimeout` at most) and the pool reconnects on a later attempt; after 30 s of
/// failures the client is replaced so that its reconnect backoff starts again.
public struct PostgresRunStore: RunStore, Service {
    public var backendName: String { "postgresql" }
    /// The client operations use now (replaced after a long outage, see `RenewingPostgresClient`).
    public var client: PostgresClient { clients.current }
    private let clients: RenewingPostgresClient
    /// Longest a single store operation may take before it counts as failed.
    public let operationTimeout: Duration
    private let logger: Logger

    /// Most rows in one `INSERT` statement (11 bind parameters each; PostgreSQL takes at most
    /// 65,535 per statement). `insert` splits a longer batch into several statements in one
    /// transaction.
    public static let maximumRowsPerStatement = 5_900

    /// - Parameter url: `postgres://user[:password]@host[:port]/database[?sslmode=MODE&sslrootcert=CA.pem]`.
    ///   `sslmode` as libpq's: `disable`, `prefer` (default: TLS when offered, certificate not
    ///   checked), `require`, `verify-ca`, `verify-full` (see `PostgresURL.SSLMode`).
    /// - Parameter clientRenewal: after operations have failed this long, the next failure
    ///   replaces the client (postgres-nio's reconnect backoff grows to 60 s otherwise).
    /// - Throws: `RunStoreError.invalidURL` (the URL quoted without its password), or when the
    ///   `sslrootcert` file cannot be read.
    public init(url: String, operationTimeout: Duration = .seconds(5), clientRenewal: Duration = .seconds(30),
                logger: Logger = Logger(label: "isp-checker.store")) throws {
        let parsed = try PostgresURL(url)
        var configuration: PostgresClient.Configuration
        if let socket = parsed.unixSocketPath {
            configuration = PostgresClient.Configuration(unixSocketPath: socket, username: parsed.username,
                                                         password: parsed.password, database: parsed.database)
        } else {
            configuration = PostgresClient.Configuration(
                host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password,
                database: parsed.database, tls: try Self.tls(for: parsed))
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        configuration.options.maximumConnections = 8
        self.clients = RenewingPostgresClient(configuration: configuration, renewal: clientRenewal, logger: logger)
        self.operationTimeout = operationTimeout
        self.logger = logger
    }

    /// Checks a URL the way `init(url:)` does, without creating a client (for argument validation).
    public static func validate(url: String) throws {
        _ = try tls(for: try PostgresURL(url))
    }

    /// `url` with its password replaced by `***`, for messages and logs.
    public static func redacted(url: String) -> String {
        PostgresURL.redacted(url)
    }

    /// The client's TLS for the URL's `sslmode`/`sslrootcert`, as libpq reads them.
    static func tls(for url: PostgresURL) throws -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = url.sslRootCertificatePath {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            } catch {
                throw RunStoreError.invalidURL("sslrootcert=\(path): cannot read a PEM certificate from it (\(error))")
            }
        }
        switch url.sslMode {
        case .disable:
            return .disable
        case .prefer:
            tls.certificateVerification = .none
            return .prefer(tls)
        case .require:
            tls.certificateVerification = url.sslRootCertificatePath == nil ? .none : .noHostnameVerification
            return .require(tls)
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
            return .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            return .require(tls)
        }
    }

    /// Runs the connection pool until cancelled or shut down.
    public func run() async throws {
        await clients.run()
    }

    public func migrate() async throws {
        let logger = self.logger
        try await timed { [client] in
            try await client.withTransaction(logger: logger) { connection in
                // Several monitors may start at once: one migrates, the others wait here.
                try await connection.query("SELECT pg_advisory_xact_lock(7007001)", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: SchemaMigrations.createTable.postgres), logger: logger)
                var applied = Set<Int64>()
                for try await version in try await connection.query(
                    "SELECT version::BIGINT FROM schema_migrations", logger: logger).decode(Int64.self) {
                    applied.insert(version)
                }
                for migration in SchemaMigrations.all where !applied.contains(Int64(migration.version)) {
                    for statement in migration.postgres {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    let version = Int64(migration.version)
                    let now = Int64(Date().timeIntervalSince1970 * 1000)
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES (\(version), \(migration.description), \(now))",
                        logger: logger)
                }
            }
        }
    }

    /// The versions recorded in `schema_migrations`, ascending.
    public func appliedMigrations() async throws -> [Int] {
        try await timed { [client] in
            var versions: [Int] = []
            for try await version in try await client.query("SELECT version::BIGINT FROM schema_migrations ORDER BY version").decode(Int64.self) {
                versions.append(Int(version))
            }
            return versions
        }
    }

    /// One multi-row `INSERT … ON CONFLICT (id) DO NOTHING` per `maximumRowsPerStatement`
    /// rows (one round trip each), all in one transaction when there are several.
    public func insert(_ reports: [RunReport]) async throws {
        guard !reports.isEmpty else { return }
        let rows: [InsertRow]
        do {
            rows = try reports.map { ($0.score, $0.severity.rawValue, try StoredRun($0), PingColumns($0), $0.pathFingerprint?.text, $0.vantage) }
        } catch {
            throw RunStoreError.rejected("cannot encode the report: \(error)")
        }
        var statements: [PostgresQuery] = []
        var start = 0
        while start < rows.count {
            let end = min(start + Self.maximumRowsPerStatement, rows.count)
            statements.append(Self.insertStatement(rows[start..<end]))
            start = end
        }
        let logger = self.logger
        // Runs with a path: their path changes are detected in the same transaction (PathChanges.swift).
        let traced = reports.filter { $0.trace != nil }
        try await timed { [client, statements] in
            if !traced.isEmpty {
                try await client.withTransaction(logger: logger) { connection in
                    for statement in statements {
                        for try await _ in try await connection.query(statement, logger: logger) {}
                    }
                    try await Self.recordPathChanges(connection, reports: traced, logger: logger)
                }
            } else if statements.count == 1 {
                // One statement is its own transaction.
                for try await _ in try await client.query(statements[0], logger: logger) {}
            } else {
                try await client.withTransaction(logger: logger) { connection in
                    for statement in statements {
                        for try await _ in try await connection.query(statement, logger: logger) {}
                    }
                }
            }
        }
    }

    typealias InsertRow = (score: Double, severity: String, run: StoredRun, ping: PingColumns, path: String?, vantage: String?)

    static func insertStatement(_ rows: ArraySlice<InsertRow>) -> PostgresQuery {
        let columns = 11
        var binds = PostgresBindings(capacity: rows.count * columns)
        var sql = "INSERT INTO runs (id, target, timestamp_ms, score, severity, report_json, "
            + "ping_loss_percent, ping_rtt_avg_ms, ping_rtt_max_ms, path_fingerprint, vantage) VALUES "
        sql.reserveCapacity(sql.utf8.count + rows.count * 72 + 32)
        for (index, row) in rows.enumerated() {
            let first = index * columns
            if index > 0 { sql += ", " }
            sql += "(" + (1...columns).map { "$\(first + $0)" }.joined(separator: ", ") + ")"
            binds.append(row.run.id)
            binds.append(row.run.target)
            binds.append(row.run.timestampMilliseconds)
            binds.append(row.score)
            binds.append(row.severity)
            binds.append(row.run.json)
            for value in [row.ping.lossPercent, row.ping.rttAvgMilliseconds, row.ping.rttMaxMilliseconds] {
                if let value { binds.append(value) } else { binds.appendNull() }
            }
            if let path = row.path { binds.append(path) } else { binds.appendNull() }
            if let vantage = row.vantage { binds.append(vantage) } else { binds.appendNull() }
        }
        sql += " ON CONFLICT (id) DO NOTHING"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    public func run(id: String) async throws -> StoredRun? {
        try await timed { [client] in
            let rows = try await client.query("SELECT id, target, timestamp_ms, report_json FROM runs WHERE id = \(id)")
            for try await (id, target, timestamp, json) in rows.decode((String, String, Int64, String).self) {
                return StoredRun(id: id, target: target, timestampMilliseconds: timestamp, json: json)
            }
            return nil
        }
    }

    public func runs(matching query: RunQuery) async throws -> RunPage {
        let (whereClause, binds) = query.postgresFilter
        let countQuery = PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM runs \(whereClause)", binds: binds)
        var pageBinds = binds
        pageBinds.append(Int64(query.limit))
        pageBinds.append(Int64(query.offset))
        let pageQuery = PostgresQuery(
            unsafeSQL: """
            SELECT id, target, timestamp_ms, report_json FROM runs \(whereClause)
            ORDER BY timestamp_ms DESC, id DESC LIMIT $\(binds.count + 1) OFFSET $\(binds.count + 2)
            """,
            binds: pageBinds)
        return try await timed { [client] in
            var total: Int64 = 0
            for try await count in try await client.query(countQuery).decode(Int64.self) { total = count }
            var runs: [StoredRun] = []
            for try await (id, target, timestamp, json) in try await client.query(pageQuery).decode((String, String, Int64, String).self) {
                runs.append(StoredRun(id: id, target: target, timestampMilliseconds: timestamp, json: json))
            }
            return RunPage(runs: runs, total: Int(total))
        }
    }

    @discardableResult
    public func deleteRuns(olderThan cutoff: Date) async throws -> Int {
        let cutoffMilliseconds = Int64((cutoff.timeIntervalSince1970 * 1000).rounded(.down))
        return try await timed { [client] in
            var deleted: Int64 = 0
            let rows = try await client.query(
                "WITH gone AS (DELETE FROM runs WHERE timestamp_ms < \(cutoffMilliseconds) RETURNING 1) SELECT COUNT(*) FROM gone")
            for try await count in rows.decode(Int64.self) { deleted = count }
            try await client.query("DELETE FROM path_changes WHERE timestamp_ms < \(cutoffMilliseconds)")
            return Int(deleted)
        }
    }

    public func latestRunPerVantage(target: String) async throws -> [StoredRun] {
        try await timed { [client] in
            var runs: [StoredRun] = []
            let rows = try await client.query("""
                SELECT DISTINCT ON (vantage) id, target, timestamp_ms, report_json FROM runs
                WHERE target = \(target) ORDER BY vantage, timestamp_ms DESC, id DESC
                """)
            for try await (id, target, timestamp, json) in rows.decode((String, String, Int64, String).self) {
                runs.append(StoredRun(id: id, target: target, timestampMilliseconds: timestamp, json: json))
            }
            return runs
        }
    }

    public func ping() async throws {
        try await timed { [client] in
            for try await _ in try await client.query("SELECT 1").decode(Int32.self) {}
        }
    }

    func timed<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let failure: RunStoreError
        do {
            let result = try await withTimeout(operationTimeout, operation)
            clients.noteSuccess()
            return result
        } catch let error as RunStoreError {
            failure = error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as PSQLError {
            failure = Self.classify(error)
        } catch {
            failure = RunStoreError.unavailable(String(describing: error))
        }
        if case .rejected = failure { clients.noteSuccess() } else { clients.noteUnavailable() }
        throw failure
    }

    /// The server refusing the data itself (SQLSTATE class 22 "data exception", 23 "integrity
    /// constraint violation") is `rejected`: the same rows fail again. Everything else (connection
    /// lost, server shutting down, table not migrated yet …) is `unavailable`: retry later.
    static func classify(_ error: PSQLError) -> RunStoreError {
        let state = error.serverInfo?[.sqlState]
        let message = error.serverInfo?[.message]
        if error.code == .server, let state, state.hasPrefix("22") || state.hasPrefix("23") {
            return .rejected("SQLSTATE \(state): \(message ?? "no message")")
        }
        if let state {
            return .unavailable("SQLSTATE \(state): \(message ?? "no message")")
        }
        return .unavailable("\(error.code)\(error.underlying.map { " (\($0))" } ?? "")")
    }
}

extension RunQuery {
    /// The `WHERE` clause of the target, vantage and time filters and its binds ($1 …), for
    /// PostgreSQL (runs and path changes share the columns `target`, `vantage` and `timestamp_ms`).
    var postgresFilter: (clause: String, binds: PostgresBindings) {
        var conditions: [String] = []
        var binds = PostgresBindings()
        if let target { binds.append(target); conditions.append("target = $\(binds.count)") }
        if let vantage { binds.append(vantage); conditions.append("vantage = $\(binds.count)") }
        if let sinceMilliseconds { binds.append(sinceMilliseconds); conditions.append("timestamp_ms >= $\(binds.count)") }
        if let untilMilliseconds { binds.append(untilMilliseconds); conditions.append("timestamp_ms <= $\(binds.count)") }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), binds)
    }
}
