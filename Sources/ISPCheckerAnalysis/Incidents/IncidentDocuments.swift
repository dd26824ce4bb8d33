import FoundationEssentials
import ISPCheckerResults

/// The runbook's incident documents, filled in from an incident: the §3.1.2 ticket and, once it
/// is closed, the §3.4.1 post-incident report skeleton. One renderer for the monitor's
/// `/api/v1/incidents/{id}/report` and the CLI's `run --incident-report`, so both print the same.
///
/// What the checker knows is filled in (ids, times, scores, targets, symptoms, diagnosis,
/// evidence, timeline, duration); what only people know (reporter's name, customer impact in
/// business terms, the fix applied, lessons) keeps a `_to be filled in_` line to complete.
public enum IncidentDocuments {
    /// Who files the ticket.
    public static let defaultReporter = "isp-checker (automatic)"
    static let toFill = "_to be filled in by the incident owner_"

    /// The §3.1.2 ticket; followed by the §3.4.1 report when the incident is closed.
    public static func markdown(_ incident: Incident, reporter: String = defaultReporter, now: Date = Date()) -> String {
        var text = ticket(incident, reporter: reporter, now: now)
        if incident.state == .closed {
            text += "\n" + postIncidentReport(incident)
        }
        return text
    }

    /// The runbook's §3.1.2 incident ticket, with a Diagnosis section (the evidence and the
    /// suggested action) and the checker's incident facts.
    public static func ticket(_ incident: Incident, reporter: String = defaultReporter, now: Date = Date()) -> String {
        var lines: [String] = []
        lines.append("## Incident Summary")
        lines.append("- **ID**: \(incident.id)")
        lines.append("- **Severity**: \(incident.severity.rawValue) (\(severityName(incident.severity)))")
        lines.append("- **Start Time**: \(IncidentTime.extended(incident.startedAt))")
        lines.append("- **Reporter**: \(reporter)")
        lines.append("- **Affected Services**: ISP Health Checker")
        lines.append("- **State**: \(incident.state.rawValue)"
                     + (incident.endedAt.map { ", restored \(IncidentTime.extended($0)) after \(IncidentTime.duration(incident.duration()))" }
                        ?? ", lasting \(IncidentTime.duration(incident.duration(now: now))) so far"))
        lines.append("")
        lines.append("## Initial Assessment")
        lines.append("- **Health Score**: \(IncidentTracker.text(incident.lastScore)) / 100 (worst \(IncidentTracker.text(incident.worstScore)); 0 healthy, 100 complete outage)")
        lines.append("- **Affected Targets**: \(one(incident.target))")
        lines.append("- **Primary Symptoms**: \(symptoms(incident))")
        lines.append("- **Customer Impact**: \(impact(incident.severity))")
        lines.append("")
        lines.append("## Diagnosis")
        if incident.diagnosis.isEmpty {
            lines.append("No fault diagnosed: the score alone crossed the threshold. Check the runs behind the incident.")
        }
        for diagnosis in incident.diagnosis {
            lines.append("- **\(one(diagnosis.component))** (confidence \(Int((diagnosis.confidence * 100).rounded())) %): \(one(diagnosis.explanation))")
            for evidence in diagnosis.evidence {
                lines.append("  - Evidence: \(evidence.probe)\(evidence.hop.map { " hop \($0)" } ?? ""): \(one(evidence.detail))")
            }
            lines.append("  - Suggested action: \(one(diagnosis.suggestedAction))")
        }
        lines.append("- Components diagnosed while it lasted: \(incident.components.isEmpty ? "none" : one(incident.components.joined(separator: ", ")))")
        lines.append("- Evidence runs: first \(incident.firstEvidenceRunID), newest \(incident.lastEvidenceRunID) at \(IncidentTime.extended(incident.lastEvidenceAt)) (\(incident.runCount) bad run\(incident.runCount == 1 ? "" : "s"))")
        if incident.pathChanges > 0 { lines.append("- Path changes while it lasted: \(incident.pathChanges)") }
        lines.append("")
        lines.append("## Initial Actions")
        lines.append("- [ ] Checked pod status")
        lines.append("- [ ] Reviewed recent logs")
        lines.append("- [ ] Verified database connectivity")
        lines.append("- [ ] Checked network connectivity")
        lines.append("")
        lines.append("## Next Steps")
        lines.append("- [ ] Investigate root cause" + (incident.primaryDiagnosis.map { ": start with \($0.component) (\(one($0.suggestedAction)))" } ?? ""))
        lines.append("- [ ] Implement temporary fix")
        lines.append("- [ ] Plan permanent resolution")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The runbook's §3.4.1 post-incident report with the summary's duration, the timeline and
    /// the primary cause filled in; the rest for people to write.
    public static func postIncidentReport(_ incident: Incident) -> String {
        let end = incident.endedAt.map(IncidentTime.extended) ?? "ongoing"
        var lines: [String] = []
        lines.append("# Post-Incident Report: \(incident.id)")
        lines.append("")
        lines.append("## Executive Summary")
        lines.append("- **Duration**: \(IncidentTime.extended(incident.startedAt)) to \(end) (\(IncidentTime.duration(incident.duration())))")
        lines.append("- **Impact**: \(impact(incident.severity)) (\(one(incident.target)), worst score \(IncidentTracker.text(incident.worstScore)), \(incident.severity.rawValue))")
        lines.append("- **Root Cause**: " + (incident.primaryDiagnosis.map { "\($0.component): \(one($0.explanation))" } ?? toFill))
        lines.append("- **Resolution**: " + (incident.endedAt.map { "service seen restored at \(IncidentTime.extended($0)); fix applied: \(toFill)" } ?? toFill))
        lines.append("")
        lines.append("## Timeline")
        lines.append("| Time | Event | Owner |")
        lines.append("|------|-------|-------|")
        lines.append("| \(IncidentTime.extended(incident.startedAt)) | First bad run (\(incident.firstEvidenceRunID)) | System |")
        for event in incident.timeline {
            lines.append("| \(IncidentTime.extended(event.timestamp)) | \(cell(eventTitle(event.kind) + ": " + event.detail)) | System |")
        }
        if incident.timelineDropped > 0 {
            lines.append("| | \(incident.timelineDropped) more diagnosis changes not listed | System |")
        }
        if let endedAt = incident.endedAt {
            lines.append("| \(IncidentTime.extended(endedAt)) | Service restored (first healthy run) | System |")
        }
        lines.append("")
        lines.append("## Root Cause Analysis")
        lines.append("### Primary Cause")
        if let primary = incident.primaryDiagnosis {
            lines.append("\(one(primary.component)) (confidence \(Int((primary.confidence * 100).rounded())) %): \(one(primary.explanation)).")
            for evidence in primary.evidence {
                lines.append("- \(evidence.probe)\(evidence.hop.map { " hop \($0)" } ?? ""): \(one(evidence.detail))")
            }
        } else {
            lines.append(toFill)
        }
        lines.append("")
        lines.append("### Contributing Factors")
        let others = incident.components.filter { $0 != incident.primaryDiagnosis?.component }
        lines.append(others.isEmpty ? toFill : "Also diagnosed while it lasted: \(others.joined(separator: ", ")).")
        lines.append("")
        lines.append("### Detection Gaps")
        lines.append("Detected by the monitor after \(incident.timeline.first.map { IncidentTime.duration(.milliseconds(Int64(max($0.timestamp.timeIntervalSince(incident.startedAt), 0) * 1000))) } ?? "0s") "
                     + "(the incident policy's consecutive bad runs). \(toFill)")
        lines.append("")
        lines.append("## Resolution Actions")
        lines.append("### Immediate Actions")
        lines.append(incident.primaryDiagnosis.map { "Suggested by the diagnosis: \(one($0.suggestedAction)). Applied: \(toFill)" } ?? toFill)
        lines.append("")
        lines.append("### Long-term Actions")
        lines.append(toFill)
        lines.append("")
        lines.append("## Lessons Learned")
        lines.append("### What Went Well")
        lines.append(toFill)
        lines.append("")
        lines.append("### Areas for Improvement")
        lines.append(toFill)
        lines.append("")
        lines.append("### Action Items")
        lines.append("| Item | Owner | Due Date | Status |")
        lines.append("|------|-------|----------|--------|")
        lines.append("| \(toFill) | | | |")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A score as the documents write it: one decimal at most (`87.5`, `100`).
    public static func number(_ value: Double) -> String { IncidentTracker.text(value) }

    /// The runbook's words for a band (§3.1.1).
    public static func severityName(_ severity: Severity) -> String {
        switch severity {
        case .p1: return "Critical"
        case .p2: return "High"
        case .p3: return "Medium"
        case .p4: return "Low"
        }
    }

    /// §3.1.1's description of each band.
    static func impact(_ severity: Severity) -> String {
        switch severity {
        case .p1: return "Complete service outage"
        case .p2: return "Significant degradation"
        case .p3: return "Minor issues"
        case .p4: return "Informational"
        }
    }

    static func symptoms(_ incident: Incident) -> String {
        var parts: [String] = []
        if !incident.failedProbes.isEmpty { parts.append("critical probes: \(incident.failedProbes.joined(separator: ", "))") }
        if let primary = incident.primaryDiagnosis { parts.append(one(primary.explanation)) }
        return parts.isEmpty ? "score \(IncidentTracker.text(incident.worstScore)) without a failing probe" : parts.joined(separator: "; ")
    }

    static func eventTitle(_ kind: IncidentEvent.Kind) -> String {
        switch kind {
        case .opened: return "Alert triggered"
        case .severityChanged: return "Severity changed"
        case .diagnosisChanged: return "Diagnosis changed"
        case .closed: return "Incident closed"
        }
    }

    /// Text from a report (a replayed file may hold anything) on one line: no newline may start
    /// a heading or a list of its own.
    static func one(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// A table cell: no pipe or newline may break the row.
    static func cell(_ text: String) -> String {
        var cell = ""
        for character in text {
            if character == "|" { cell += "\\|" } else if character.isNewline { cell += " " } else { cell.append(character) }
        }
        return cell
    }
}
