import FoundationEssentials
import ISPCheckerResults

/// The runbook's incident priority for a score: P1 > 80, P2 40–80, P3 20–40, P4 < 20.
public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    case p1 = "P1"
    case p2 = "P2"
    case p3 = "P3"
    case p4 = "P4"

    /// The band a score (0 healthy … 100 outage) falls in.
    public init(score: Double) {
        switch score {
        case let s where s > 80: self = .p1
        case let s where s >= 40: self = .p2
        case let s where s >= 20: self = .p3
        default: self = .p4
        }
    }

    /// P1 is the worst, so it sorts last.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rawValue > rhs.rawValue }
}

/// A piece of evidence behind a diagnosis: which probe, and which hop when it is about a path.
public struct Evidence: Sendable, Codable, Equatable {
    public var probe: String
    public var hop: Int?
    public var detail: String

    public init(probe: String, hop: Int? = nil, detail: String) {
        self.probe = probe
        self.hop = hop
        self.detail = detail
    }
}

/// What is broken, how sure we are, and what to do: the runbook's diagnosis entry.
public struct Diagnosis: Sendable, Codable, Equatable {
    /// The runbook's component names: `Local Network`, `ISP Access`, `Peering/Transit`,
    /// `Transit`, `DNS`, `Destination`, `Upstream`, and the informational `ICMP Rate Limiting`,
    /// `Baseline` and `Measurement` (constants in `DiagnosisComponent`).
    public var component: String
    /// 0 … 1.
    public var confidence: Double
    public var explanation: String
    public var suggestedAction: String
    public var evidence: [Evidence]
    /// An informational note (such as ICMP rate limiting) rather than a fault.
    public var informational: Bool

    public init(component: String, confidence: Double, explanation: String, suggestedAction: String,
                evidence: [Evidence] = [], informational: Bool = false) {
        self.component = component
        self.confidence = confidence
        self.explanation = explanation
        self.suggestedAction = suggestedAction
        self.evidence = evidence
        self.informational = informational
    }

    enum CodingKeys: String, CodingKey {
        case component, confidence, explanation, evidence, informational
        case suggestedAction = "suggested_action"
    }
}

/// How a run's data was obtained.
public enum RunMode: String, Sendable, Codable {
    /// Probes sent now.
    case live
    /// Re-scored from a saved report or capture, or from another tool's results (`source` says which).
    case replay
}

/// One check of one target: every probe's entry, the health score (0 healthy … 100 complete
/// outage, the runbook's direction), its severity band and the diagnosis. Encodes to the
/// runbook's JSON shape (snake_case keys) with `RunReport.encoder`.
public struct RunReport: Sendable, Codable, Equatable {
    /// Stable identifier (UUID string) used by the run history and its API.
    public var id: String
    public var target: String
    public var timestamp: Date
    public var mode: RunMode
    public var probes: [ProbeReport]
    /// 0 = healthy … 100 = complete outage.
    public var score: Double
    public var severity: Severity
    public var diagnosis: [Diagnosis]
    /// The full traceroute behind the `traceroute` probe, when one ran (hop evidence for
    /// replay and for the history).
    public var trace: TraceResult?
    /// Where a replayed run's data came from (tool, format, file) and which probes it lacks;
    /// nil for a live run. The score and the diagnosis use only the probes present.
    public var source: DataSource?
    /// One verdict per address family when the check ran over both (IPv4 first); nil when it ran
    /// over one. `probes`, `trace` and the other fields are the preferred family's.
    public var families: [FamilyVerdict]?
    /// Where the monitor that made the run stands (its `vantage:`, by default its host name),
    /// so runs of one target from several places can be told apart and compared
    /// (`CrossVantageVerdict`); nil for a run not made by a monitor.
    public var vantage: String?

    public init(id: String = UUID().uuidString, target: String, timestamp: Date = Date(), mode: RunMode = .live,
                probes: [ProbeReport], score: Double, severity: Severity? = nil, diagnosis: [Diagnosis] = [],
                trace: TraceResult? = nil, source: DataSource? = nil, families: [FamilyVerdict]? = nil,
                vantage: String? = nil) {
        self.families = families
        self.vantage = vantage
        self.id = id
        self.target = target
        self.timestamp = timestamp
        self.mode = mode
        self.probes = probes
        self.score = score
        self.severity = severity ?? Severity(score: score)
        self.diagnosis = diagnosis
        self.trace = trace
        self.source = source
    }

    /// The worst probe status of the run (`ok` when there are no probes).
    public var worstStatus: ProbeStatus { probes.map(\.status).max() ?? .ok }

    /// JSON the way the runbook shows it: ISO 8601 timestamps, sorted keys.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension RunReport {
    /// The version of the JSON layout in docs/report-schema.md (`schema_version`).
    public static let schemaVersion = 1

    enum CodingKeys: String, CodingKey {
        case id, target, timestamp, mode, probes, score, severity, diagnosis, trace, source, families, vantage
        case schemaVersion = "schema_version"
    }

    /// The trace is `TraceResult`'s own JSON: the report's snake_case form, the same wherever a
    /// trace is written (docs/report.schema.json, `$defs/trace`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
        try container.encode(id, forKey: .id)
        try container.encode(target, forKey: .target)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(mode, forKey: .mode)
        try container.encode(probes, forKey: .probes)
        try container.encode(score, forKey: .score)
        try container.encode(severity, forKey: .severity)
        try container.encode(diagnosis, forKey: .diagnosis)
        try container.encodeIfPresent(trace, forKey: .trace)
        try container.encodeIfPresent(source, forKey: .source)
        try container.encodeIfPresent(families, forKey: .families)
        try container.encodeIfPresent(vantage, forKey: .vantage)
    }

    /// - Throws: `DecodingError` for JSON that is not a run report, `ReportValueError` (naming the
    ///   field) for a number outside `ReportLimits`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decodeIfPresent(Int.self, forKey: .schemaVersion) ?? Self.schemaVersion
        guard version <= Self.schemaVersion else {
            throw DecodingError.dataCorruptedError(forKey: .schemaVersion, in: container,
                                                   debugDescription: "report schema version \(version) is newer than this library's \(Self.schemaVersion): upgrade isp-checker to read it")
        }
        let trace = try container.decodeIfPresent(TraceResult.self, forKey: .trace)
        // Range checks before the report is made: nothing out of range reaches the analysis.
        let probes = try container.decode([ProbeReport].self, forKey: .probes)
        let score = try container.decode(Double.self, forKey: .score)
        let diagnosis = try container.decode([Diagnosis].self, forKey: .diagnosis)
        try Self.validateDecodedValues(probes: probes, score: score, diagnosis: diagnosis, trace: trace)
        let families = try container.decodeIfPresent([FamilyVerdict].self, forKey: .families)
        try Self.validateDecodedFamilies(families)
        self.init(id: try container.decode(String.self, forKey: .id),
                  target: try container.decode(String.self, forKey: .target),
                  timestamp: try container.decode(Date.self, forKey: .timestamp),
                  mode: try container.decode(RunMode.self, forKey: .mode),
                  probes: probes,
                  score: score,
                  severity: try container.decode(Severity.self, forKey: .severity),
                  diagnosis: diagnosis,
                  trace: trace,
                  source: try container.decodeIfPresent(DataSource.self, forKey: .source),
                  families: families,
                  vantage: try container.decodeIfPresent(String.self, forKey: .vantage))
    }
}
