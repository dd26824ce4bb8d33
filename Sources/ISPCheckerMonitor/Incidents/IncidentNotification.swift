import Foundation
import ISPChecker

/// An incident event for the webhooks: the timeline entry and the incident as it is after it.
public struct IncidentNotification: Sendable, Equatable {
    public var event: IncidentEvent
    public var incident: Incident

    public init(event: IncidentEvent, incident: Incident) {
        self.event = event
        self.incident = incident
    }

    /// The kinds the webhooks are told of: opened, severity changed, closed (a diagnosis change
    /// is in the timeline and the next event, not a page of its own).
    public static let notifiedKinds: Set<IncidentEvent.Kind> = [.opened, .severityChanged, .closed]

    /// The JSON webhook body (docs/incidents.md):
    /// `{"event":"opened","incident":{…},"summary":"…","timestamp":"…","version":1}`.
    public func jsonBody() throws -> [UInt8] {
        struct Body: Encodable {
            var version = 1
            var event: String
            var timestamp: Date
            var summary: String
            var incident: Incident
        }
        return Array(try Incident.encoder.encode(Body(event: event.kind.rawValue, timestamp: event.timestamp,
                                                      summary: summary, incident: incident)))
    }

    /// One line: "INC-… P1 10.99.3.2 opened: Upstream — Complete connectivity failure detected".
    public var summary: String {
        var text = "\(incident.id) \(incident.severity.rawValue) \(incident.target) \(event.kind.rawValue.replacingOccurrences(of: "_", with: " "))"
        if let primary = incident.primaryDiagnosis { text += ": \(primary.component): \(primary.explanation)" }
        return text
    }

    /// Alertmanager's `POST /api/v2/alerts` body: one alert per incident, labelled so that its
    /// routes can match (`alertname`, `target`, `severity`, `incident_id`, `component`). A firing
    /// alert carries `endsAt` = now + `hold`, and the monitor sends it again with every bad run
    /// of the incident, as Prometheus re-sends firing alerts; the close sends `endsAt` = the time
    /// the service was seen restored, which resolves it.
    public func alertmanagerBody(hold: Duration = IncidentNotification.alertmanagerHold, now: Date = Date()) throws -> [UInt8] {
        struct Alert: Encodable {
            var labels: [String: String]
            var annotations: [String: String]
            var startsAt: Date
            var endsAt: Date
        }
        var labels = [
            "alertname": "ISPCheckerIncident",
            "target": incident.target,
            "severity": incident.severity.rawValue,
            "incident_id": incident.id,
        ]
        if let primary = incident.primaryDiagnosis { labels["component"] = primary.component }
        var annotations = ["summary": summary]
        if let primary = incident.primaryDiagnosis {
            annotations["description"] = primary.explanation
            annotations["suggested_action"] = primary.suggestedAction
        }
        annotations["worst_score"] = IncidentDocuments.number(incident.worstScore)
        let endsAt = incident.endedAt ?? now.addingTimeInterval(Double(hold.components.seconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode([Alert(labels: labels, annotations: annotations, startsAt: incident.startedAt, endsAt: endsAt)]))
    }

    /// How long Alertmanager keeps a firing alert without hearing of it again: one hour, so a
    /// monitor that stops does not leave it firing for ever, and longer than any probe interval.
    public static let alertmanagerHold: Duration = .seconds(3600)
}
