import Foundation
import Hummingbird
import ISPChecker
import NIOCore

/// `/api/v1/incidents`, `/api/v1/incidents/{id}` and `/api/v1/incidents/{id}/report`: the
/// incidents as JSON, each with its timeline and the runs behind it, and the runbook's documents
/// (docs/incidents.md).
struct IncidentsController<Context: RequestContext> {
    let incidents: any IncidentStore
    let runs: any RunStore
    /// Runs listed with one incident (its target's runs from start to end, newest first).
    var runsPerIncident = 100
    var now: @Sendable () -> Date = Date.init

    func register(on group: RouterGroup<Context>) {
        group.get("incidents") { request, context in try await list(request, context: context) }
        group.get("incidents/:id") { _, context in try await one(context) }
        group.get("incidents/:id/report") { request, context in try await report(request, context: context) }
    }

    /// Query parameters: `target`, `state` (`open`|`closed`), `since` (ISO 8601: started since,
    /// or still open), `limit` (1…1000, default 50), `offset`.
    /// Body: `{"incidents":[…],"limit","next_offset","offset","total"}`.
    func list(_ request: Request, context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        let runQuery = try RunsController<Context>.parseQuery(parameters)
        var state: IncidentState?
        if let text = parameters.get("state"), !text.isEmpty {
            guard let parsed = IncidentState(rawValue: text) else {
                throw HTTPError(.badRequest, message: "state must be open or closed")
            }
            state = parsed
        }
        let query = IncidentQuery(target: runQuery.target, state: state, since: runQuery.since,
                                  limit: runQuery.limit, offset: runQuery.offset)
        let page: IncidentPage
        do {
            page = try await incidents.incidents(matching: query)
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        let nextOffset = query.offset + page.incidents.count < page.total ? "\(query.offset + page.incidents.count)" : "null"
        var body = "{\"incidents\":["
        for (index, incident) in page.incidents.enumerated() {
            if index > 0 { body += "," }
            body += try Self.json(incident)
        }
        body += "],\"limit\":\(query.limit),\"next_offset\":\(nextOffset),\"offset\":\(query.offset),\"total\":\(page.total)}"
        return RunsController<Context>.json(body)
    }

    /// The incident with its `timeline` and `runs`: `{"id": …, …, "runs": {"runs": [summaries], "total": N}}`.
    func one(_ context: Context) async throws -> Response {
        let incident = try await find(context)
        let page: RunPage
        do {
            // Its target's runs from the first bad one to the first healthy one (to now while open).
            page = try await runs.runs(matching: RunQuery(target: incident.target, since: incident.startedAt,
                                                          until: incident.endedAt ?? now(), limit: runsPerIncident))
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        var summaries: [String] = []
        for row in page.runs {
            guard let report = try? row.report() else { continue }
            let faults = report.faults.map { "\"\(Self.escape($0.component))\"" }.joined(separator: ",")
            summaries.append("{\"components\":[\(faults)],\"id\":\"\(Self.escape(report.id))\",\"score\":\(report.score),"
                             + "\"severity\":\"\(report.severity.rawValue)\",\"timestamp\":\"\(IncidentTime.extended(report.timestamp))\"}")
        }
        var body = try Self.json(incident)
        body.removeLast()  // the closing brace: the runs go inside
        body += ",\"runs\":{\"runs\":[\(summaries.joined(separator: ","))],\"total\":\(page.total)}}"
        return RunsController<Context>.json(body)
    }

    /// `?format=markdown` (the default and only format): the §3.1.2 ticket, and the §3.4.1
    /// post-incident report once closed.
    func report(_ request: Request, context: Context) async throws -> Response {
        let format = request.uri.queryParameters.get("format") ?? "markdown"
        guard format == "markdown" else { throw HTTPError(.badRequest, message: "format must be markdown") }
        let incident = try await find(context)
        let text = IncidentDocuments.markdown(incident, reporter: "isp-checker-monitor", now: now())
        return Response(status: .ok, headers: [.contentType: "text/markdown; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    private func find(_ context: Context) async throws -> Incident {
        guard let id = context.parameters.get("id") else { throw HTTPError(.badRequest, message: "missing incident id") }
        let incident: Incident?
        do {
            incident = try await incidents.incident(id: id)
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        guard let incident else { throw HTTPError(.notFound, message: "no incident with id \(id)") }
        return incident
    }

    static func json(_ incident: Incident) throws -> String {
        String(decoding: try Incident.encoder.encode(incident), as: UTF8.self)
    }

    /// A string for inside JSON quotes.
    static func escape(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
