import FoundationEssentials
import ISPCheckerResults

/// What one run did to an incident: the incident as it is now, and the timeline entries the run
/// added (none when it only added evidence: a newer run, a worse score in the same band).
public struct IncidentChange: Sendable, Equatable {
    public var incident: Incident
    public var events: [IncidentEvent]

    public init(incident: Incident, events: [IncidentEvent]) {
        self.incident = incident
        self.events = events
    }
}

/// Turns each target's runs into incidents by an `IncidentPolicy`: `openAfterRuns` bad runs in a
/// row open one (dated from the first of them), bad runs while it lasts update it, and
/// `closeAfterRuns` healthy runs in a row close it (ended at the first of them). A healthy run
/// between bad ones resets the count, so a single good run does not close a lasting fault and a
/// single bad run does not open one.
///
/// A value with no clock and no I/O: the monitor keeps one (in `IncidentRecorder`) and stores
/// what it returns; the CLI uses `incident(fromSingleRun:)`.
public struct IncidentTracker: Sendable {
    public let policy: IncidentPolicy
    /// Most timeline entries an incident keeps: diagnosis changes beyond it are only counted
    /// (`Incident.timelineDropped`), so a flapping diagnosis cannot grow a row without bound.
    public static let maximumTimeline = 200

    private struct TargetState: Sendable {
        /// Bad runs in a row while no incident is open (fewer than `openAfterRuns`).
        var pending: [RunReport] = []
        /// Path changes among the pending runs: the incident they open counts them.
        var pendingPathChanges = 0
        /// Healthy runs in a row while one is open, and when the first of them ran.
        var healthyRuns = 0
        var firstHealthyAt: Date?
        var open: Incident?
    }

    private var targets: [String: TargetState] = [:]

    public init(policy: IncidentPolicy = .default) {
        self.policy = policy
    }

    /// The incidents open now, by target name.
    public var openIncidents: [Incident] {
        targets.values.compactMap(\.open).sorted { $0.target < $1.target }
    }

    /// Takes over incidents that were open when the last process stopped (from the store), so a
    /// restart continues them instead of opening new ones. Closed ones are ignored.
    public mutating func resume(_ incidents: [Incident]) {
        for incident in incidents where incident.state == .open {
            targets[incident.target, default: TargetState()].open = incident
        }
    }

    /// Feeds one run; returns the incident it opened, updated or closed, or `nil` when it
    /// touched none (a healthy run with nothing open, or a bad run not yet enough to open one).
    public mutating func observe(_ report: RunReport) -> IncidentChange? {
        var state = targets[report.target] ?? TargetState()
        defer { targets[report.target] = state }
        if policy.isUnhealthy(report) {
            state.healthyRuns = 0
            state.firstHealthyAt = nil
            if var incident = state.open {
                let events = Self.add(report, to: &incident)
                state.open = incident
                return IncidentChange(incident: incident, events: events)
            }
            state.pending.append(report)
            guard state.pending.count >= policy.openAfterRuns else { return nil }
            var incident = Self.open(from: state.pending)
            incident.pathChanges = state.pendingPathChanges
            state.pending = []
            state.pendingPathChanges = 0
            state.open = incident
            return IncidentChange(incident: incident, events: incident.timeline)
        }
        state.pending = []
        state.pendingPathChanges = 0
        guard var incident = state.open else { return nil }
        state.healthyRuns += 1
        if state.healthyRuns == 1 { state.firstHealthyAt = report.timestamp }
        guard state.healthyRuns >= policy.closeAfterRuns else { return nil }
        let endedAt = state.firstHealthyAt ?? report.timestamp
        incident.state = .closed
        incident.endedAt = endedAt
        let event = IncidentEvent(
            kind: .closed, timestamp: report.timestamp, severity: incident.severity, components: [], runID: report.id,
            detail: "closed after \(state.healthyRuns) healthy runs (score \(Self.text(report.score))); restored at \(IncidentTime.extended(endedAt)), lasted \(IncidentTime.duration(incident.duration()))")
        incident.timeline.append(event)
        state = TargetState()
        return IncidentChange(incident: incident, events: [event])
    }

    /// Counts a change of the path to `target` (told after the run that changed it was
    /// observed) in its open incident; while bad runs are pending, in the incident they will
    /// open, so a path change at the start of a fault counts. `nil` when no incident is open.
    public mutating func notePathChange(target: String) -> IncidentChange? {
        if targets[target]?.open == nil, targets[target]?.pending.isEmpty == false {
            targets[target]?.pendingPathChanges += 1
            return nil
        }
        guard var incident = targets[target]?.open else { return nil }
        incident.pathChanges += 1
        targets[target]?.open = incident
        return IncidentChange(incident: incident, events: [])
    }

    /// One run as an incident of its own (the CLI's `--incident-report` of a saved report):
    /// opened by that run, whatever its severity.
    public static func incident(fromSingleRun report: RunReport) -> Incident {
        open(from: [report])
    }

    // MARK: - Building

    private static func open(from runs: [RunReport]) -> Incident {
        let first = runs[0]
        var incident = Incident(
            id: Incident.makeID(target: first.target, start: first.timestamp, runID: first.id),
            target: first.target, state: .open, severity: first.severity, worstScore: first.score, lastScore: first.score,
            startedAt: first.timestamp, endedAt: nil, firstEvidenceRunID: first.id, lastEvidenceRunID: first.id,
            lastEvidenceAt: first.timestamp, components: [], diagnosis: [], failedProbes: [], runCount: 0, timeline: [])
        // The runs before the deciding one are evidence, not events: the timeline starts at "opened".
        for run in runs { _ = add(run, to: &incident) }
        let last = runs[runs.count - 1]
        let components = last.faults.map(\.component)
        incident.timeline = [IncidentEvent(
            kind: .opened, timestamp: last.timestamp, severity: incident.severity, components: components, runID: last.id,
            detail: "opened at \(incident.severity.rawValue) (worst score \(text(incident.worstScore)) over \(runs.count) run\(runs.count == 1 ? "" : "s"))"
                + (components.isEmpty ? "" : ": \(components.joined(separator: ", "))"))]
        return incident
    }

    /// Folds a bad run into the incident; returns the timeline entries it caused.
    private static func add(_ report: RunReport, to incident: inout Incident) -> [IncidentEvent] {
        var events: [IncidentEvent] = []
        let previousComponents = incident.diagnosis.map(\.component)
        let previousSeverity = incident.severity
        incident.runCount += 1
        incident.worstScore = max(incident.worstScore, report.score)
        incident.lastScore = report.score
        incident.severity = max(incident.severity, report.severity)
        incident.lastEvidenceRunID = report.id
        incident.lastEvidenceAt = report.timestamp
        let faults = report.faults
        for component in faults.map(\.component) where !incident.components.contains(component) {
            incident.components.append(component)
        }
        // A bad run without a fault (a score from warnings alone) keeps the last diagnosis.
        if !faults.isEmpty { incident.diagnosis = faults }
        let failed = report.probes.filter { $0.status == .crit }.map(\.name)
        incident.failedProbes = Array(Set(incident.failedProbes).union(failed)).sorted()
        guard incident.runCount > 1 else { return [] }
        if incident.severity != previousSeverity {
            events.append(IncidentEvent(
                kind: .severityChanged, timestamp: report.timestamp, severity: incident.severity, components: faults.map(\.component),
                runID: report.id, detail: "severity \(previousSeverity.rawValue) -> \(incident.severity.rawValue) (score \(text(report.score)))"))
        }
        let components = faults.map(\.component)
        if !components.isEmpty, components.sorted() != previousComponents.sorted() {
            let event = IncidentEvent(
                kind: .diagnosisChanged, timestamp: report.timestamp, severity: incident.severity, components: components,
                runID: report.id,
                detail: "diagnosis \(previousComponents.isEmpty ? "none" : previousComponents.joined(separator: ", ")) -> \(components.joined(separator: ", "))")
            if incident.timeline.count + events.count < maximumTimeline {
                events.append(event)
            } else {
                incident.timelineDropped += 1
                return appending(events, to: &incident)
            }
        }
        return appending(events, to: &incident)
    }

    private static func appending(_ events: [IncidentEvent], to incident: inout Incident) -> [IncidentEvent] {
        incident.timeline += events
        return events
    }

    static func text(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    }
}
