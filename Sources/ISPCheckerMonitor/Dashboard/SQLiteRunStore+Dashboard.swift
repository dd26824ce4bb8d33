import GRDB

extension SQLiteRunStore {
    public func historyColumns(target: String, window: HistoryWindow) async throws -> [HistoryColumn] {
        let arguments: StatementArguments = [window.startMilliseconds, window.columnMilliseconds, target, window.endMilliseconds]
        return try await pool.read { db in
            try Row.fetchAll(db, sql: HistoryColumn.sql(placeholder: "?"), arguments: arguments).map { row in
                HistoryColumn(index: Int(row[0] as Int64), runs: row[1], scoreAverage: row[2], scoreMax: row[3],
                              lossAveragePercent: row[4], lossMaxPercent: row[5], rttRuns: row[6],
                              rttP10Milliseconds: row[7], rttP25Milliseconds: row[8], rttMedianMilliseconds: row[9],
                              rttP75Milliseconds: row[10], rttP90Milliseconds: row[11], rttMaxMilliseconds: row[12])
            }
        }
    }

    public func latestRunPerTarget(limit: Int) async throws -> [StoredRun] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: HistoryColumn.latestPerTargetSQL(limit: "?"), arguments: [limit])
            return Self.firstPerTarget(rows.map {
                StoredRun(id: $0["id"], target: $0["target"], timestampMilliseconds: $0["timestamp_ms"], json: $0["report_json"])
            })
        }
    }
}

extension RunStore {
    /// Two runs of a target at the same newest millisecond: keep one (the first by id).
    static func firstPerTarget(_ runs: [StoredRun]) -> [StoredRun] {
        var seen = Set<String>()
        return runs.filter { seen.insert($0.target).inserted }
    }
}
