import ISPCheckerPrimitives

/// Where a run's data came from when it was not measured now: the tool that measured it, the
/// file's format, the file, and which of a live run's probes the file holds and which it lacks.
/// A run report carries it as `source` (docs/report.schema.json, `$defs/source`); a live run has none.
public struct DataSource: Sendable, Codable, Equatable {
    /// Every probe a live run may make, in the report's order (the runbook's probe names).
    public static let allProbes = ["ping", "traceroute", "dns", "http", "tcp"]

    /// The tool that measured: `mtr`, `scamper`, `ripe_atlas`, `isp-checker`, `capture`.
    public var tool: String
    /// The file's format: `mtr_json`, `mtr_csv`, `mtr_xml`, `scamper_json`, `atlas_json`, `run_report`, `pcap`.
    public var format: String
    /// The tool's version when the file says (mtr's CSV `MTR.0.95`, Atlas's probe firmware `fw`).
    public var version: String?
    /// The file it was read from, as given on the command line.
    public var file: String?
    /// Where the tool measured from, when the file says: a source address, a RIPE Atlas probe.
    public var origin: String?
    /// The probes the file holds (`traceroute`, `ping`), scored and diagnosed.
    public var measuredProbes: [String]
    /// The probes a live run makes that the file lacks: not scored, never counted as failed.
    public var missingProbes: [String]
    /// What the reader had to assume, in a sentence each (mtr names no trace protocol, ...).
    public var notes: [String]

    public init(tool: String, format: String, version: String? = nil, file: String? = nil, origin: String? = nil,
                measuredProbes: [String], missingProbes: [String]? = nil, notes: [String] = []) {
        self.tool = tool
        self.format = format
        self.version = version
        self.file = file
        self.origin = origin
        self.measuredProbes = measuredProbes
        self.missingProbes = missingProbes ?? Self.allProbes.filter { !measuredProbes.contains($0) }
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case tool, format, version, file, origin, notes
        case measuredProbes = "measured_probes"
        case missingProbes = "missing_probes"
    }

    /// One line for people: `mtr 0.95 (mtr_json) from trace.json; measured traceroute; missing ping, dns, http, tcp`.
    public var summary: String {
        var text = tool + (version.map { " \($0)" } ?? "") + " (\(format))"
        if let file { text += " from \(file)" }
        if let origin { text += ", measured at \(origin)" }
        text += "; measured " + (measuredProbes.isEmpty ? "nothing" : measuredProbes.joined(separator: ", "))
        if !missingProbes.isEmpty { text += "; missing (not scored) " + missingProbes.joined(separator: ", ") }
        return text
    }
}
