import Foundation
import ISPChecker

/// A time window cut into equal columns: the x axis of a dashboard graph. However many runs
/// the window holds, the store answers with at most `columns` aggregated rows.
public struct HistoryWindow: Sendable, Equatable {
    /// First millisecond of the window (since 1970), inclusive.
    public var startMilliseconds: Int64
    /// End of the window, exclusive.
    public var endMilliseconds: Int64
    /// Number of columns, 1 … `HistoryWindow.maximumColumns`.
    public var columns: Int

    /// Most columns a graph may ask for (a graph is a few hundred pixels wide).
    public static let maximumColumns = 2000

    /// The `span` ending at `end`, in `columns` columns.
    public init(end: Date, span: Duration, columns: Int) {
        let endMilliseconds = Int64((end.timeIntervalSince1970 * 1000).rounded(.down)) + 1
        let spanMilliseconds = max(1, span.components.seconds * 1000 + span.components.attoseconds / 1_000_000_000_000_000)
        self.init(startMilliseconds: endMilliseconds - spanMilliseconds, endMilliseconds: endMilliseconds, columns: columns)
    }

    public init(startMilliseconds: Int64, endMilliseconds: Int64, columns: Int) {
        self.startMilliseconds = startMilliseconds
        self.endMilliseconds = max(endMilliseconds, startMilliseconds + 1)
        self.columns = min(max(columns, 1), Self.maximumColumns)
    }

    /// Width of one column, rounded up so that `columns` columns cover the window.
    public var columnMilliseconds: Int64 {
        let span = endMilliseconds - startMilliseconds
        return max(1, (span + Int64(columns) - 1) / Int64(columns))
    }

    /// The column a time falls in, or nil outside the window.
    public func column(ofMilliseconds time: Int64) -> Int? {
        guard time >= startMilliseconds, time < endMilliseconds else { return nil }
        return Int((time - startMilliseconds) / columnMilliseconds)
    }

    /// The start of column `index`.
    public func startOfColumn(_ index: Int) -> Int64 { startMilliseconds + Int64(index) * columnMilliseconds }
}

/// The runs of one column of a graph, aggregated: what a SmokePing column shows (the spread
/// of the probes and the loss) plus the score.
///
/// A run's ping gives its average and highest RTT, not each reply; so the column's median line
/// and bands are taken over the runs' average RTTs (quantile `q` of `k` sorted values: the value at
/// rank `1 + ⌊(k − 1)·q⌋`), and its top is the highest reply of any run. A column of one run
/// shows that run's average as the median and its highest reply as the top of the smoke.
public struct HistoryColumn: Sendable, Equatable {
    public var index: Int
    /// Runs in the column.
    public var runs: Int
    public var scoreAverage: Double
    public var scoreMax: Double
    /// Percent, over the runs with a ping; nil when none had one.
    public var lossAveragePercent: Double?
    public var lossMaxPercent: Double?
    /// Runs with an average RTT (the quantiles below are over these).
    public var rttRuns: Int
    public var rttP10Milliseconds: Double?
    public var rttP25Milliseconds: Double?
    public var rttMedianMilliseconds: Double?
    public var rttP75Milliseconds: Double?
    public var rttP90Milliseconds: Double?
    /// The highest RTT any run of the column saw.
    public var rttMaxMilliseconds: Double?

    public init(index: Int, runs: Int, scoreAverage: Double, scoreMax: Double, lossAveragePercent: Double? = nil,
                lossMaxPercent: Double? = nil, rttRuns: Int = 0, rttP10Milliseconds: Double? = nil,
                rttP25Milliseconds: Double? = nil, rttMedianMilliseconds: Double? = nil, rttP75Milliseconds: Double? = nil,
                rttP90Milliseconds: Double? = nil, rttMaxMilliseconds: Double? = nil) {
        self.index = index
        self.runs = runs
        self.scoreAverage = scoreAverage
        self.scoreMax = scoreMax
        self.lossAveragePercent = lossAveragePercent
        self.lossMaxPercent = lossMaxPercent
        self.rttRuns = rttRuns
        self.rttP10Milliseconds = rttP10Milliseconds
        self.rttP25Milliseconds = rttP25Milliseconds
        self.rttMedianMilliseconds = rttMedianMilliseconds
        self.rttP75Milliseconds = rttP75Milliseconds
        self.rttP90Milliseconds = rttP90Milliseconds
        self.rttMaxMilliseconds = rttMaxMilliseconds
    }

    /// The quantiles the columns carry, in percent (the SQL and `aggregate` use the same ranks).
    static let quantilePercents = [10, 25, 50, 75, 90]

    /// The rank (1-based) of quantile `percent` among `count` sorted values.
    static func rank(percent: Int, count: Int) -> Int { 1 + ((count - 1) * percent) / 100 }

    /// One run as a column sees it.
    public struct Sample: Sendable, Equatable {
        public var timestampMilliseconds: Int64
        public var score: Double
        public var ping: PingColumns

        public init(timestampMilliseconds: Int64, score: Double, ping: PingColumns) {
            self.timestampMilliseconds = timestampMilliseconds
            self.score = score
            self.ping = ping
        }
    }

    /// The columns of `samples` in `window`, computed in Swift: what the stores compute in SQL
    /// (the reference the tests compare them with, and the fallback of a store without SQL).
    public static func aggregate(_ samples: [Sample], in window: HistoryWindow) -> [HistoryColumn] {
        var byColumn: [Int: [Sample]] = [:]
        for sample in samples {
            if let column = window.column(ofMilliseconds: sample.timestampMilliseconds) { byColumn[column, default: []].append(sample) }
        }
        return byColumn.keys.sorted().map { index in
            let runs = byColumn[index]!
            let losses = runs.compactMap(\.ping.lossPercent)
            let rtts = runs.compactMap(\.ping.rttAvgMilliseconds).sorted()
            let maxima = runs.compactMap(\.ping.rttMaxMilliseconds)
            func quantile(_ percent: Int) -> Double? { rtts.isEmpty ? nil : rtts[rank(percent: percent, count: rtts.count) - 1] }
            return HistoryColumn(
                index: index, runs: runs.count,
                scoreAverage: runs.map(\.score).reduce(0, +) / Double(runs.count), scoreMax: runs.map(\.score).max()!,
                lossAveragePercent: losses.isEmpty ? nil : losses.reduce(0, +) / Double(losses.count), lossMaxPercent: losses.max(),
                rttRuns: rtts.count, rttP10Milliseconds: quantile(10), rttP25Milliseconds: quantile(25),
                rttMedianMilliseconds: quantile(50), rttP75Milliseconds: quantile(75), rttP90Milliseconds: quantile(90),
                rttMaxMilliseconds: maxima.max())
        }
    }

    /// One query for both SQL stores (`?N` for SQLite, `$N` for PostgreSQL): parameters
    /// 1 start, 2 column width, 3 target, 4 end. Each run is ranked by its average RTT within
    /// its column (window functions: SQLite ≥ 3.25, any PostgreSQL), and the grouped select keeps
    /// the ranks of the quantiles; the answer has one row per column that has runs.
    static func sql(placeholder: String) -> String {
        let p = { (n: Int) in "\(placeholder)\(n)" }
        let column = "(timestamp_ms - \(p(1))) / \(p(2))"
        let quantiles = quantilePercents.map { percent in
            "MAX(CASE WHEN rtt IS NOT NULL AND rn = 1 + ((k - 1) * \(percent)) / 100 THEN rtt END)"
        }.joined(separator: ", ")
        return """
        WITH ranked AS (
            SELECT \(column) AS col, score, ping_loss_percent AS loss, ping_rtt_avg_ms AS rtt, ping_rtt_max_ms AS rtt_max,
                ROW_NUMBER() OVER (PARTITION BY \(column) ORDER BY ping_rtt_avg_ms IS NULL, ping_rtt_avg_ms) AS rn,
                COUNT(ping_rtt_avg_ms) OVER (PARTITION BY \(column)) AS k
            FROM runs WHERE target = \(p(3)) AND timestamp_ms >= \(p(1)) AND timestamp_ms < \(p(4))
        )
        SELECT col, COUNT(*), AVG(score), MAX(score), AVG(loss), MAX(loss), MAX(k), \(quantiles), MAX(rtt_max)
        FROM ranked GROUP BY col ORDER BY col
        """
    }

    /// The newest run of each target, one query: at most `limit` targets, by name.
    static func latestPerTargetSQL(limit placeholder: String) -> String {
        """
        SELECT r.id, r.target, r.timestamp_ms, r.report_json
        FROM (SELECT target, MAX(timestamp_ms) AS newest FROM runs GROUP BY target ORDER BY target LIMIT \(placeholder)) t
        JOIN runs r ON r.target = t.target AND r.timestamp_ms = t.newest
        ORDER BY r.target, r.id
        """
    }
}

/// The ping summary a run is stored with (`runs.ping_*` columns), for the dashboard's graphs.
public struct PingColumns: Sendable, Equatable {
    public var lossPercent: Double?
    public var rttAvgMilliseconds: Double?
    public var rttMaxMilliseconds: Double?

    public init(lossPercent: Double? = nil, rttAvgMilliseconds: Double? = nil, rttMaxMilliseconds: Double? = nil) {
        self.lossPercent = lossPercent
        self.rttAvgMilliseconds = rttAvgMilliseconds
        self.rttMaxMilliseconds = rttMaxMilliseconds
    }

    /// The run's `ping` entry as numbers (all nil without one). Non-finite values are dropped:
    /// neither database column takes them meaningfully.
    public init(_ report: RunReport) {
        guard case .ping(let ping)? = report.probe(ProbeName.ping)?.measurement else { self.init(); return }
        func finite(_ value: Double?) -> Double? { value.flatMap { $0.isFinite ? $0 : nil } }
        self.init(lossPercent: finite(ping.lossPercent), rttAvgMilliseconds: finite(ping.latencyAvgMilliseconds),
                  rttMaxMilliseconds: finite(ping.latencyMaxMilliseconds ?? ping.latencyAvgMilliseconds))
    }
}

extension RunStore {
    /// A store without SQL of its own: the newest `RunQuery.maximumLimit` runs of the window,
    /// aggregated in Swift.
    public func historyColumns(target: String, window: HistoryWindow) async throws -> [HistoryColumn] {
        let page = try await runs(matching: RunQuery(
            target: target, since: Date(timeIntervalSince1970: Double(window.startMilliseconds) / 1000),
            until: Date(timeIntervalSince1970: Double(window.endMilliseconds - 1) / 1000), limit: RunQuery.maximumLimit))
        let samples = page.runs.compactMap { row -> HistoryColumn.Sample? in
            guard let report = try? row.report() else { return nil }
            return .init(timestampMilliseconds: row.timestampMilliseconds, score: report.score, ping: PingColumns(report))
        }
        return HistoryColumn.aggregate(samples, in: window)
    }

    /// A store without SQL of its own: the targets of the newest `RunQuery.maximumLimit` runs.
    public func latestRunPerTarget(limit: Int) async throws -> [StoredRun] {
        var newest: [String: StoredRun] = [:]
        for run in try await runs(matching: RunQuery(limit: RunQuery.maximumLimit)).runs where newest[run.target] == nil {
            newest[run.target] = run
        }
        return newest.keys.sorted().prefix(limit).map { newest[$0]! }
    }
}
