import Foundation
import Hummingbird
import ISPChecker

extension DashboardPages {
    /// Incidents the overview lists: every open one and the newest closed ones.
    static let recentClosedIncidents = 10

    /// The overview's incidents: open ones first, then the newest closed, each linking to its
    /// page (`/incidents/{id}`: the runbook's documents, as the API's `/report` gives them).
    static func incidentsSection(open: [Incident], closed: [Incident], now: Date) -> String {
        var html = "<h2>Incidents</h2><table class=\"incidents\"><thead><tr><th>ID</th><th>Target</th><th>Severity</th><th>State</th><th>Started</th><th>Duration</th><th>Diagnosis</th></tr></thead><tbody>"
        for incident in open + closed {
            let report = "incidents/\(HTML.pathSegment(incident.id))"
            html += "<tr class=\"incident \(incident.state.rawValue)\" data-incident=\"\(HTML.escape(incident.id))\">"
            html += "<td><a href=\"\(report)\">\(HTML.escape(incident.id))</a></td>"
            html += "<td><a href=\"targets/\(HTML.pathSegment(incident.target))\">\(HTML.escape(incident.target))</a></td>"
            html += "<td>\(severityBadge(incident.severity))</td><td>\(incident.state.rawValue)</td>"
            html += "<td>\(HTML.escape(HTML.timestamp(incident.startedAt)))</td>"
            html += "<td>\(HTML.escape(IncidentTime.duration(incident.duration(now: now))))\(incident.state == .open ? " so far" : "")</td>"
            html += "<td>\(HTML.escape(incident.components.joined(separator: ", ")))</td></tr>"
        }
        if open.isEmpty && closed.isEmpty { html += "<tr><td colspan=\"7\">No incidents.</td></tr>" }
        return html + "</tbody></table>"
    }
}

extension DashboardPages {
    /// An incident's page: its ticket (and post-incident report once closed) as the markdown
    /// the API serves, preformatted, with a link to its target.
    static func incident(_ incident: Incident, now: Date) -> String {
        let markdown = IncidentDocuments.markdown(incident, reporter: "isp-checker-monitor", now: now)
        let body = "<h1>\(HTML.escape(incident.id))</h1><p class=\"sub\"><a href=\"../targets/\(HTML.pathSegment(incident.target))\">\(HTML.escape(incident.target))</a> · \(severityBadge(incident.severity)) · \(incident.state.rawValue)</p>"
            + "<pre class=\"incident-report\">\(HTML.escape(markdown))</pre>"
        return page(title: incident.id, base: "../", body: body)
    }
}

extension DashboardController {
    /// `GET /incidents/{id}`: behind the dashboard's key (cookie), unlike `/api/v1/incidents/{id}/report`.
    func incidentPage(context: Context) async throws -> Response {
        guard let raw = context.parameters.get("id"), let id = raw.removingPercentEncoding, !id.isEmpty else {
            throw HTTPError(.badRequest, message: "missing incident id")
        }
        guard let incidents = store as? any IncidentStore else { throw HTTPError(.notFound, message: "no incidents kept") }
        let incident: Incident?
        do {
            incident = try await incidents.incident(id: id)
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        guard let incident else { throw HTTPError(.notFound, message: "no incident with id \(id)") }
        return Self.html(DashboardPages.incident(incident, now: now()))
    }

    /// The incidents section, or nothing when the store keeps none or cannot be read now.
    func incidentsSection(context: Context) async -> String {
        guard let incidents = store as? any IncidentStore else { return "" }
        do {
            let open = try await incidents.incidents(matching: IncidentQuery(state: .open, limit: maximumTargets)).incidents
            let closed = try await incidents.incidents(matching: IncidentQuery(state: .closed, limit: DashboardPages.recentClosedIncidents)).incidents
            return DashboardPages.incidentsSection(open: open, closed: closed, now: now())
        } catch {
            context.logger.error("dashboard: cannot read the incidents", metadata: ["error": "\(error)"])
            return "<h2>Incidents</h2><p class=\"warning\">The incidents cannot be read right now (details in the monitor's log).</p>"
        }
    }
}
