import FoundationEssentials
import ISPCheckerResults

/// When runs of a target make an incident (runbook §3.1): how bad a run must be, and for how
/// many runs in a row, to open one; how many healthy runs in a row close it.
public struct IncidentPolicy: Sendable, Equatable {
    /// A run at this severity or worse counts against the target (P2: score 40 and above).
    public var openSeverity: Severity
    /// Consecutive such runs that open an incident, 1 … 1000.
    public var openAfterRuns: Int
    /// Consecutive better runs that close it, 1 … 1000.
    public var closeAfterRuns: Int

    /// The runs counts a configuration may set.
    public static let runsRange = 1...1000

    /// P2 or worse, two runs to open, two healthy runs to close (issue 22).
    public static let `default` = IncidentPolicy()

    public init(openSeverity: Severity = .p2, openAfterRuns: Int = 2, closeAfterRuns: Int = 2) {
        self.openSeverity = openSeverity
        self.openAfterRuns = min(max(openAfterRuns, Self.runsRange.lowerBound), Self.runsRange.upperBound)
        self.closeAfterRuns = min(max(closeAfterRuns, Self.runsRange.lowerBound), Self.runsRange.upperBound)
    }

    /// Whether a run counts against its target.
    public func isUnhealthy(_ report: RunReport) -> Bool { report.severity >= openSeverity }
}

/// Whether an incident still lasts.
public enum IncidentState: String, Sendable, Codable, CaseIterable {
    case open
    case closed
}

/// One entry of an incident's timeline.
public struct IncidentEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Enough bad runs in a row: the incident exists (its `timestamp` is the run that decided it).
        case opened
        /// The worst score so far moved into a worse band (severity only rises while an incident lasts).
        case severityChanged = "severity_changed"
        /// A bad run diagnosed other components than the run before it.
        case diagnosisChanged = "diagnosis_changed"
        /// Enough healthy runs in a row: the incident is over.
        case closed
    }

    public var kind: Kind
    /// The run's timestamp that caused the event.
    public var timestamp: Date
    /// The incident's severity after the event.
    public var severity: Severity
    /// The fault components the run diagnosed (empty for `closed`).
    public var components: [String]
    public var runID: String
    /// One line for people: "opened at P1 (score 100): Upstream".
    public var detail: String

    public init(kind: Kind, timestamp: Date, severity: Severity, components: [String], runID: String, detail: String) {
        self.kind = kind
        self.timestamp = timestamp
        self.severity = severity
        self.components = components
        self.runID = runID
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case kind, timestamp, severity, components, detail
        case runID = "run_id"
    }
}

/// A fault of one target that lasted several runs: from the first bad run to the first healthy
/// run of the streak that closed it, with what the runs showed meanwhile. Encodes to snake_case
/// JSON (the API's and the webhooks' shape, docs/incidents.md).
public struct Incident: Sendable, Codable, Equatable {
    /// `INC-{timestamp}-{suffix}`: the runbook's `INC-{timestamp}` (the start, UTC, basic ISO 8601)
    /// made unique by a suffix derived from the target and the first bad run.
    public var id: String
    public var target: String
    public var state: IncidentState
    /// The band of `worstScore` (runbook §3.1.1): it only rises while the incident lasts.
    public var severity: Severity
    /// Highest score of its runs (0 healthy … 100 outage).
    public var worstScore: Double
    /// Score of the newest bad run.
    public var lastScore: Double
    /// The first bad run's timestamp: when the fault was first seen.
    public var startedAt: Date
    /// The first healthy run of the closing streak: when the service was seen restored. `nil` while open.
    public var endedAt: Date?
    /// First and newest bad run (their ids and timestamps).
    public var firstEvidenceRunID: String
    public var lastEvidenceRunID: String
    public var lastEvidenceAt: Date
    /// Fault components diagnosed by any of its runs, in the order they first appeared.
    public var components: [String]
    /// The newest bad run's faults, with their evidence and suggested actions.
    public var diagnosis: [Diagnosis]
    /// Probes that were critical in any of its runs, sorted.
    public var failedProbes: [String]
    /// Bad runs so far.
    public var runCount: Int
    /// Changes of the path to the target seen while it lasted. Nothing fills it yet: the path
    /// change events (issue 22, another branch) are wired in by `IncidentTracker.notePathChange`.
    public var pathChanges: Int
    /// Opened, severity and diagnosis changes, closed; at most `IncidentTracker.maximumTimeline`
    /// entries (`timelineDropped` counts diagnosis changes left out beyond it).
    public var timeline: [IncidentEvent]
    public var timelineDropped: Int

    public init(id: String, target: String, state: IncidentState, severity: Severity, worstScore: Double, lastScore: Double,
                startedAt: Date, endedAt: Date?, firstEvidenceRunID: String, lastEvidenceRunID: String, lastEvidenceAt: Date,
                components: [String], diagnosis: [Diagnosis], failedProbes: [String], runCount: Int, pathChanges: Int = 0,
                timeline: [IncidentEvent], timelineDropped: Int = 0) {
        self.id = id
        self.target = target
        self.state = state
        self.severity = severity
        self.worstScore = worstScore
        self.lastScore = lastScore
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.firstEvidenceRunID = firstEvidenceRunID
        self.lastEvidenceRunID = lastEvidenceRunID
        self.lastEvidenceAt = lastEvidenceAt
        self.components = components
        self.diagnosis = diagnosis
        self.failedProbes = failedProbes
        self.runCount = runCount
        self.pathChanges = pathChanges
        self.timeline = timeline
        self.timelineDropped = timelineDropped
    }

    /// From start to end (to `now` while open).
    public func duration(now: Date = Date()) -> Duration {
        let seconds = (endedAt ?? now).timeIntervalSince(startedAt)
        return .milliseconds(Int64((max(seconds, 0) * 1000).rounded()))
    }

    /// The newest bad run's first fault: what the ticket and the notifications lead with.
    public var primaryDiagnosis: Diagnosis? { diagnosis.first }

    enum CodingKeys: String, CodingKey {
        case id, target, state, severity, components, diagnosis, timeline
        case worstScore = "worst_score"
        case lastScore = "last_score"
        case startedAt = "started_at"
        case endedAt = "ended_at"
        case firstEvidenceRunID = "first_evidence_run_id"
        case lastEvidenceRunID = "last_evidence_run_id"
        case lastEvidenceAt = "last_evidence_at"
        case failedProbes = "failed_probes"
        case runCount = "run_count"
        case pathChanges = "path_changes"
        case timelineDropped = "timeline_dropped"
        case durationSeconds = "duration_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(target, forKey: .target)
        try container.encode(state, forKey: .state)
        try container.encode(severity, forKey: .severity)
        try container.encode(worstScore, forKey: .worstScore)
        try container.encode(lastScore, forKey: .lastScore)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(endedAt, forKey: .endedAt)
        // Only a closed incident has a duration that does not depend on when it is read.
        if let endedAt { try container.encode(max(endedAt.timeIntervalSince(startedAt), 0), forKey: .durationSeconds) }
        try container.encode(firstEvidenceRunID, forKey: .firstEvidenceRunID)
        try container.encode(lastEvidenceRunID, forKey: .lastEvidenceRunID)
        try container.encode(lastEvidenceAt, forKey: .lastEvidenceAt)
        try container.encode(components, forKey: .components)
        try container.encode(diagnosis, forKey: .diagnosis)
        try container.encode(failedProbes, forKey: .failedProbes)
        try container.encode(runCount, forKey: .runCount)
        try container.encode(pathChanges, forKey: .pathChanges)
        try container.encode(timeline, forKey: .timeline)
        try container.encode(timelineDropped, forKey: .timelineDropped)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id),
                  target: try container.decode(String.self, forKey: .target),
                  state: try container.decode(IncidentState.self, forKey: .state),
                  severity: try container.decode(Severity.self, forKey: .severity),
                  worstScore: try container.decode(Double.self, forKey: .worstScore),
                  lastScore: try container.decode(Double.self, forKey: .lastScore),
                  startedAt: try container.decode(Date.self, forKey: .startedAt),
                  endedAt: try container.decodeIfPresent(Date.self, forKey: .endedAt),
                  firstEvidenceRunID: try container.decode(String.self, forKey: .firstEvidenceRunID),
                  lastEvidenceRunID: try container.decode(String.self, forKey: .lastEvidenceRunID),
                  lastEvidenceAt: try container.decode(Date.self, forKey: .lastEvidenceAt),
                  components: try container.decode([String].self, forKey: .components),
                  diagnosis: try container.decode([Diagnosis].self, forKey: .diagnosis),
                  failedProbes: try container.decode([String].self, forKey: .failedProbes),
                  runCount: try container.decode(Int.self, forKey: .runCount),
                  pathChanges: try container.decodeIfPresent(Int.self, forKey: .pathChanges) ?? 0,
                  timeline: try container.decode([IncidentEvent].self, forKey: .timeline),
                  timelineDropped: try container.decodeIfPresent(Int.self, forKey: .timelineDropped) ?? 0)
    }

    /// Compact JSON, sorted keys, ISO 8601 times (the store's and the webhooks' form).
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static var decoder: JSONDecoder { RunReport.decoder }
}

extension Incident {
    /// The runbook's `INC-{timestamp}` for an incident of `target` whose first bad run is
    /// `runID` at `start`: `INC-20261206T234024Z-5f3a9c1e`. The suffix (FNV-1a of target and run
    /// id) keeps two targets failing in the same second apart, and gives a replayed report the
    /// same id every time.
    public static func makeID(target: String, start: Date, runID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(target.utf8) + [0] + Array(runID.utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let suffix = String(UInt32(truncatingIfNeeded: hash ^ (hash >> 32)), radix: 16)
        let padded = String(repeating: "0", count: 8 - suffix.count) + suffix
        return "INC-\(IncidentTime.basic(start))-\(padded)"
    }
}

/// How incident documents and ids write times: UTC, ISO 8601.
public enum IncidentTime {
    /// `20261206T234024Z`.
    public static func basic(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateSeparator: .omitted, dateTimeSeparator: .standard, timeSeparator: .omitted))
    }

    /// `2026-12-06T23:40:24Z`.
    public static func extended(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    /// `1h 02m 05s`, `4m 10s`, `12s` (whole seconds, rounded).
    public static func duration(_ duration: Duration) -> String {
        let total = Int64((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18).rounded())
        let hours = total / 3600, minutes = (total % 3600) / 60, seconds = total % 60
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if hours > 0 { return "\(hours)h \(two(minutes))m \(two(seconds))s" }
        if minutes > 0 { return "\(minutes)m \(two(seconds))s" }
        return "\(seconds)s"
    }
}
