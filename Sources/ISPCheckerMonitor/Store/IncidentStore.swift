import Foundation
import ISPChecker

/// Where incidents are kept, beside the runs (schema migration 3). Both run stores are one;
/// kept apart from `RunStore` so that a store used only for runs need not implement it.
public protocol IncidentStore: Sendable {
    /// Inserts the incident or replaces the stored one with the same id.
    func save(_ incident: Incident) async throws

    /// The stored incident with this id, or `nil`.
    func incident(id: String) async throws -> Incident?

    /// Incidents matching the query, newest start first, and how many match in all. Rows that
    /// do not decode are left out of the page (still counted in `total`).
    func incidents(matching query: IncidentQuery) async throws -> IncidentPage

    /// Deletes closed incidents that ended before `cutoff` (open ones are kept however old);
    /// returns how many went.
    @discardableResult
    func deleteIncidents(endedBefore cutoff: Date) async throws -> Int
}

/// Which incidents to list: optional target, state and earliest start, and a page.
public struct IncidentQuery: Sendable, Equatable {
    public var target: String?
    public var state: IncidentState?
    /// Incidents that started at or after this time, or are still open (an open incident that
    /// began before `since` is still news).
    public var since: Date?
    /// Page size, 1 … `RunQuery.maximumLimit`.
    public var limit: Int
    public var offset: Int

    public init(target: String? = nil, state: IncidentState? = nil, since: Date? = nil,
                limit: Int = RunQuery.defaultLimit, offset: Int = 0) {
        self.target = target
        self.state = state
        self.since = since
        self.limit = min(max(limit, 1), RunQuery.maximumLimit)
        self.offset = max(offset, 0)
    }

    var sinceMilliseconds: Int64? { since.map(IncidentRow.milliseconds) }
}

/// One page of incidents, newest start first.
public struct IncidentPage: Sendable, Equatable {
    public var incidents: [Incident]
    public var total: Int

    public init(incidents: [Incident], total: Int) {
        self.incidents = incidents
        self.total = total
    }
}

/// An incident as its table row holds it.
struct IncidentRow: Sendable {
    var id: String
    var target: String
    var state: String
    var severity: String
    var startedAtMilliseconds: Int64
    var endedAtMilliseconds: Int64?
    var json: String

    init(_ incident: Incident) throws {
        id = incident.id
        target = incident.target
        state = incident.state.rawValue
        severity = incident.severity.rawValue
        startedAtMilliseconds = Self.milliseconds(incident.startedAt)
        endedAtMilliseconds = incident.endedAt.map(Self.milliseconds)
        do {
            json = String(decoding: try Incident.encoder.encode(incident), as: UTF8.self)
        } catch {
            throw RunStoreError.rejected("cannot encode incident \(incident.id): \(error)")
        }
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The incident in a row's JSON; a row that does not decode is an error naming its id.
    static func decode(id: String, json: String) throws -> Incident {
        do {
            return try Incident.decoder.decode(Incident.self, from: Data(json.utf8))
        } catch {
            throw RunStoreError.unavailable("stored incident \(id) does not decode: \(error)")
        }
    }

    /// The WHERE clause of a query with `?`-style or `$n`-style placeholders.
    static func conditions(_ query: IncidentQuery, placeholder: (Int) -> String) -> (sql: String, values: [IncidentValue]) {
        var conditions: [String] = []
        var values: [IncidentValue] = []
        if let target = query.target { values.append(.text(target)); conditions.append("target = \(placeholder(values.count))") }
        if let state = query.state { values.append(.text(state.rawValue)); conditions.append("state = \(placeholder(values.count))") }
        if let since = query.sinceMilliseconds {
            values.append(.integer(since))
            conditions.append("(started_at_ms >= \(placeholder(values.count)) OR state = 'open')")
        }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), values)
    }
}

enum IncidentValue: Sendable {
    case text(String)
    case integer(Int64)
}
