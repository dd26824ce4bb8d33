import Foundation
import ISPChecker

/// The run history: where every `RunReport` the monitor produces is kept, so the API can list
/// them and several monitors can share them (PostgreSQL).
///
/// Implementations acknowledge a write (return from `insert`) only once it is durable, and
/// treat a second insert of the same `id` as a no-op, so that a retried write whose first
/// attempt did commit is harmless.
public protocol RunStore: Sendable {
    /// `sqlite` or `postgresql`, for `/health/detailed` and logs.
    var backendName: String { get }

    /// Brings the schema up to the newest version (idempotent; safe with several monitors).
    func migrate() async throws

    /// Writes the runs in one transaction; returns once they are durable. Throws
    /// `RunStoreError.rejected` when the database refuses the data itself (a value it cannot
    /// store): retrying that batch will not help, a smaller one without the bad run will.
    func insert(_ reports: [RunReport]) async throws

    /// The stored run with this id, or `nil`.
    func run(id: String) async throws -> StoredRun?

    /// Runs matching the query, newest first, and how many match in all.
    func runs(matching query: RunQuery) async throws -> RunPage

    /// Deletes runs whose timestamp is before `cutoff`; returns how many went.
    @discardableResult
    func deleteRuns(olderThan cutoff: Date) async throws -> Int

    /// Cheap round trip proving the database answers (`SELECT 1`).
    func ping() async throws

    /// The target's runs in the window aggregated per column, oldest first, one row per column
    /// that has runs: at most `window.columns` rows however long the window (the dashboard).
    func historyColumns(target: String, window: HistoryWindow) async throws -> [HistoryColumn]

    /// The newest run of each target, by target name, at most `limit` targets (the dashboard).
    func latestRunPerTarget(limit: Int) async throws -> [StoredRun]

    /// Path changes matching the query (target, time range, page), newest first, and how
    /// many match in all (`path_changes`, PathChanges.swift).
    func pathChanges(matching query: RunQuery) async throws -> PathChangePage

    /// The newest run of `target` from each vantage (runs without one count as one vantage),
    /// for the cross-vantage verdict; order unspecified.
    func latestRunPerVantage(target: String) async throws -> [StoredRun]
}

extension RunStore {
    /// A store that keeps no path changes (one written before schema version 4) says so: the
    /// API answers 500 for it, with the reason in the log.
    public func pathChanges(matching query: RunQuery) async throws -> PathChangePage {
        throw RunStoreError.unavailable("\(backendName) store keeps no path changes")
    }

    /// A store without SQL for it: the newest `RunQuery.maximumLimit` runs of the target, the
    /// newest of each vantage among them.
    public func latestRunPerVantage(target: String) async throws -> [StoredRun] {
        var seen = Set<String?>()
        var newest: [StoredRun] = []
        for run in try await runs(matching: RunQuery(target: target, limit: RunQuery.maximumLimit)).runs {
            let vantage = try? run.report().vantage
            if seen.insert(vantage).inserted { newest.append(run) }
        }
        return newest
    }

    /// Writes one run; returns once it is durable.
    public func insert(_ report: RunReport) async throws {
        try await insert([report])
    }
}

/// A run as the history keeps it: the indexed columns plus the report's JSON, served as is.
public struct StoredRun: Sendable, Equatable {
    public var id: String
    public var target: String
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var timestampMilliseconds: Int64
    /// The report in its runbook JSON shape (compact, sorted keys).
    public var json: String

    public init(id: String, target: String, timestampMilliseconds: Int64, json: String) {
        self.id = id
        self.target = target
        self.timestampMilliseconds = timestampMilliseconds
        self.json = json
    }

    /// Encodes a report the way the store keeps it.
    public init(_ report: RunReport) throws {
        self.id = report.id
        self.target = report.target
        self.timestampMilliseconds = Int64((report.timestamp.timeIntervalSince1970 * 1000).rounded(.down))
        self.json = String(decoding: try StoredRun.encoder.encode(report), as: UTF8.self)
    }

    /// The report decoded from its JSON.
    public func report() throws -> RunReport {
        try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8))
    }

    /// `RunReport.encoder`'s shape without the pretty printing: one line per run.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}

/// Which runs to list: optional target, vantage and time range (both ends inclusive), and a page.
public struct RunQuery: Sendable, Equatable {
    public var target: String?
    /// Only runs made from this vantage (`RunReport.vantage`, the `runs.vantage` column).
    public var vantage: String?
    public var since: Date?
    public var until: Date?
    /// Page size, 1 … `RunQuery.maximumLimit`.
    public var limit: Int
    /// Runs to skip, newest first.
    public var offset: Int

    public static let defaultLimit = 50
    public static let maximumLimit = 1000

    public init(target: String? = nil, vantage: String? = nil, since: Date? = nil, until: Date? = nil,
                limit: Int = RunQuery.defaultLimit, offset: Int = 0) {
        self.target = target
        self.vantage = vantage
        self.since = since
        self.until = until
        self.limit = min(max(limit, 1), RunQuery.maximumLimit)
        self.offset = max(offset, 0)
    }

    var sinceMilliseconds: Int64? { since.map { Int64(($0.timeIntervalSince1970 * 1000).rounded(.down)) } }
    var untilMilliseconds: Int64? { until.map { Int64(($0.timeIntervalSince1970 * 1000).rounded(.down)) } }
}

/// One page of runs, newest first.
public struct RunPage: Sendable, Equatable {
    public var runs: [StoredRun]
    /// How many runs match the query in all (for paging).
    public var total: Int

    public init(runs: [StoredRun], total: Int) {
        self.runs = runs
        self.total = total
    }
}

/// Why the run history failed, and what to do.
public enum RunStoreError: Error, CustomStringConvertible, Equatable {
    /// The database could not be reached or answered with an error; the monitor keeps runs in
    /// memory and retries. Check the database is running and the URL/path is right.
    case unavailable(String)
    /// The URL given for PostgreSQL is not `postgres://user[:password]@host[:port]/database[?sslmode=…]`.
    /// The reason quotes the URL with its password replaced by `***`.
    case invalidURL(String)
    /// The operation took longer than the configured timeout.
    case timedOut(Duration)
    /// The database answered but refused the runs themselves (PostgreSQL SQLSTATE class 22
    /// "data exception" or 23 "integrity constraint violation", SQLite constraint/size errors,
    /// or a report that cannot be encoded). Retrying the same runs fails the same way: the
    /// recorder sets the refused run aside (logged, `isp_checker_store_rejected_runs_total`).
    case rejected(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): return "run store unavailable: \(reason) (check the database is running and reachable)"
        case .invalidURL(let reason): return "invalid PostgreSQL URL: \(reason)"
        case .timedOut(let limit): return "run store operation timed out after \(limit)"
        case .rejected(let reason): return "run store refused the run: \(reason) (retrying will not help; the run is set aside)"
        }
    }
}
