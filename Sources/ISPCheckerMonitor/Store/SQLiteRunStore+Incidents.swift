import Foundation
import GRDB
import ISPChecker

extension SQLiteRunStore: IncidentStore {
    public func save(_ incident: Incident) async throws {
        let row = try IncidentRow(incident)
        try await pool.write { db in
            try db.execute(
                sql: """
                INSERT INTO incidents (id, target, state, severity, started_at_ms, ended_at_ms, incident_json)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
                    ended_at_ms = excluded.ended_at_ms, incident_json = excluded.incident_json
                """,
                arguments: [row.id, row.target, row.state, row.severity, row.startedAtMilliseconds,
                            row.endedAtMilliseconds, row.json])
        }
    }

    public func incident(id: String) async throws -> Incident? {
        let json = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT incident_json FROM incidents WHERE id = ?", arguments: [id])
        }
        return try json.map { try IncidentRow.decode(id: id, json: $0) }
    }

    public func incidents(matching query: IncidentQuery) async throws -> IncidentPage {
        let (whereClause, values) = IncidentRow.conditions(query) { _ in "?" }
        var arguments = StatementArguments()
        for value in values {
            switch value {
            case .text(let text): arguments += [text]
            case .integer(let number): arguments += [number]
            }
        }
        let filterArguments = arguments
        let pageArguments = arguments + [query.limit, query.offset]
        let (rows, total) = try await pool.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM incidents \(whereClause)", arguments: filterArguments) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                SELECT id, incident_json FROM incidents \(whereClause)
                ORDER BY started_at_ms DESC, id DESC LIMIT ? OFFSET ?
                """,
                arguments: pageArguments
            ).map { (id: $0["id"] as String, json: $0["incident_json"] as String) }
            return (rows, total)
        }
        // A row that does not decode (a shared database may hold rows another version wrote) is
        // left out of the page rather than failing it; `incident(id:)` names its error.
        return IncidentPage(incidents: rows.compactMap { try? IncidentRow.decode(id: $0.id, json: $0.json) }, total: total)
    }

    @discardableResult
    public func deleteIncidents(endedBefore cutoff: Date) async throws -> Int {
        let cutoffMilliseconds = IncidentRow.milliseconds(cutoff)
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM incidents WHERE state = 'closed' AND ended_at_ms < ?", arguments: [cutoffMilliseconds])
            return db.changesCount
        }
    }
}
