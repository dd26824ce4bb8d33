import PostgresNIO

extension PostgresRunStore {
    public func historyColumns(target: String, window: HistoryWindow) async throws -> [HistoryColumn] {
        var binds = PostgresBindings()
        binds.append(window.startMilliseconds)
        binds.append(window.columnMilliseconds)
        binds.append(target)
        binds.append(window.endMilliseconds)
        let query = PostgresQuery(unsafeSQL: HistoryColumn.sql(placeholder: "$"), binds: binds)
        return try await timed { [client] in
            var columns: [HistoryColumn] = []
            let rows = try await client.query(query)
            for try await (index, runs, scoreAverage, scoreMax, lossAverage, lossMax, rttRuns, p10, p25, p50, p75, p90, rttMax) in rows.decode(
                (Int64, Int64, Double, Double, Double?, Double?, Int64, Double?, Double?, Double?, Double?, Double?, Double?).self) {
                columns.append(HistoryColumn(
                    index: Int(index), runs: Int(runs), scoreAverage: scoreAverage, scoreMax: scoreMax,
                    lossAveragePercent: lossAverage, lossMaxPercent: lossMax, rttRuns: Int(rttRuns),
                    rttP10Milliseconds: p10, rttP25Milliseconds: p25, rttMedianMilliseconds: p50,
                    rttP75Milliseconds: p75, rttP90Milliseconds: p90, rttMaxMilliseconds: rttMax))
            }
            return columns
        }
    }

    public func latestRunPerTarget(limit: Int) async throws -> [StoredRun] {
        var binds = PostgresBindings()
        binds.append(Int64(limit))
        let query = PostgresQuery(unsafeSQL: HistoryColumn.latestPerTargetSQL(limit: "$1"), binds: binds)
        return try await timed { [client] in
            var runs: [StoredRun] = []
            for try await (id, target, timestamp, json) in try await client.query(query).decode((String, String, Int64, String).self) {
                runs.append(StoredRun(id: id, target: target, timestampMilliseconds: timestamp, json: json))
            }
            return Self.firstPerTarget(runs)
        }
    }
}
