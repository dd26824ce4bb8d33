import Foundation
import ISPChecker
import PostgresNIO

extension PostgresRunStore: IncidentStore {
    public func save(_ incident: Incident) async throws {
        let row = try IncidentRow(incident)
        try await timed { [client] in
            for try await _ in try await client.query("""
                INSERT INTO incidents (id, target, state, severity, started_at_ms, ended_at_ms, incident_json)
                VALUES (\(row.id), \(row.target), \(row.state), \(row.severity), \(row.startedAtMilliseconds),
                        \(row.endedAtMilliseconds), \(row.json))
                ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, severity = EXCLUDED.severity,
                    ended_at_ms = EXCLUDED.ended_at_ms, incident_json = EXCLUDED.incident_json
                """) {}
        }
    }

    public func incident(id: String) async throws -> Incident? {
        let json: String? = try await timed { [client] in
            for try await json in try await client.query("SELECT incident_json FROM incidents WHERE id = \(id)").decode(String.self) {
                return json
            }
            return nil
        }
        return try json.map { try IncidentRow.decode(id: id, json: $0) }
    }

    public func incidents(matching query: IncidentQuery) async throws -> IncidentPage {
        let (whereClause, values) = IncidentRow.conditions(query) { "$\($0)" }
        var binds = PostgresBindings()
        for value in values {
            switch value {
            case .text(let text): binds.append(text)
            case .integer(let number): binds.append(number)
            }
        }
        let countQuery = PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM incidents \(whereClause)", binds: binds)
        var pageBinds = binds
        pageBinds.append(Int64(query.limit))
        pageBinds.append(Int64(query.offset))
        let pageQuery = PostgresQuery(
            unsafeSQL: """
            SELECT id, incident_json FROM incidents \(whereClause)
            ORDER BY started_at_ms DESC, id DESC LIMIT $\(binds.count + 1) OFFSET $\(binds.count + 2)
            """,
            binds: pageBinds)
        let (rows, total) = try await timed { [client] in
            var total: Int64 = 0
            for try await count in try await client.query(countQuery).decode(Int64.self) { total = count }
            var rows: [(id: String, json: String)] = []
            for try await (id, json) in try await client.query(pageQuery).decode((String, String).self) {
                rows.append((id, json))
            }
            return (rows, Int(total))
        }
        // A row that does not decode (a shared database may hold rows another version wrote) is
        // left out of the page rather than failing it; `incident(id:)` names its error.
        return IncidentPage(incidents: rows.compactMap { try? IncidentRow.decode(id: $0.id, json: $0.json) }, total: total)
    }

    @discardableResult
    public func deleteIncidents(endedBefore cutoff: Date) async throws -> Int {
        let cutoffMilliseconds = IncidentRow.milliseconds(cutoff)
        return try await timed { [client] in
            var deleted: Int64 = 0
            let rows = try await client.query(
                "WITH gone AS (DELETE FROM incidents WHERE state = 'closed' AND ended_at_ms < \(cutoffMilliseconds) RETURNING 1) SELECT COUNT(*) FROM gone")
            for try await count in rows.decode(Int64.self) { deleted = count }
            return Int(deleted)
        }
    }
}
