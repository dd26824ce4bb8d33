import Foundation
import Hummingbird
import ISPChecker

extension DashboardPages {
    /// Incidents the overview lists: every open one and the newest closed ones.
    static let recentClosedIncidents = 10

    /// The overview's incidents: open ones first, then the newest closed, each linking to its
    /// markdown report (`/api/v1/incidents/{id}/report`).
    static func incidentsSection(open: [Incident], closed: [Incident], now: Date) -> String {
        var html = "<h2>Incidents</h2><table class=\"incidents\"><thead><tr><th>ID</th><th>Target</th><th>Severity</th><th>State</th><th>Started</th><th>Duration</th><th>Diagnosis</th></tr></thead><tbody>"
        for incident in open + closed {
            let report = "api/v1/incidents/\(HTML.pathSegment(incident.id))/report?format=markdown"
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

extension DashboardController {
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
