import ISPCheckerResults

/// The formats of other tools' results that replay imports. The raw value is the report's
/// `source.format`.
public enum ImportFormat: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// `mtr --json` (mtr 0.9x): `{"report": {"mtr": {...}, "hubs": [...]}}`.
    case mtrJSON = "mtr_json"
    /// `mtr --csv`: a header line `Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt,...` and a line a hop.
    case mtrCSV = "mtr_csv"
    /// scamper's JSON records, one a line: `sc_warts2json` of a warts file, or `scamper -O json`.
    case scamperJSON = "scamper_json"
    /// RIPE Atlas traceroute and ping results (https://atlas.ripe.net/docs/apis/result-format/):
    /// one result object, an array of them, or one a line.
    case atlasJSON = "atlas_json"

    /// The tool that writes the format, as the report's `source.tool` names it.
    public var tool: String {
        switch self {
        case .mtrJSON, .mtrCSV: return "mtr"
        case .scamperJSON: return "scamper"
        case .atlasJSON: return "ripe_atlas"
        }
    }

    public var description: String {
        switch self {
        case .mtrJSON: return "mtr --json"
        case .mtrCSV: return "mtr --csv"
        case .scamperJSON: return "scamper JSON"
        case .atlasJSON: return "RIPE Atlas JSON"
        }
    }
}

/// Why another tool's result file cannot be imported. Every case says what is wrong and where;
/// nothing of a refused file reaches the analysis.
public enum ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is none of the kinds replay reads.
    case unknownFormat(path: String, reason: String)
    /// The file starts like `format` but is not valid: what is wrong, and where (a JSON path, a line).
    case malformed(format: ImportFormat, reason: String)
    /// A number outside what a run report allows (`ReportLimits`), by its place in the file.
    case valueOutOfRange(format: ImportFormat, field: String, value: String, allowed: String)
    /// The file is valid but holds no traceroute or ping this program can diagnose.
    case noMeasurement(format: ImportFormat, reason: String)
    /// `--target` names none of the file's targets.
    case targetNotFound(target: String, available: [String])
    /// The file holds several targets and `--target` did not pick one.
    case severalTargets([String])

    /// The kinds of input replay reads, for the error that lists them.
    public static let kindsRead = "a run report (JSON, as --output writes it), mtr --json, mtr --csv, scamper JSON (sc_warts2json or scamper -O json), "
        + "RIPE Atlas traceroute or ping results (JSON), or a packet capture (pcap, pcapng)"

    public var description: String {
        switch self {
        case .unknownFormat(let path, let reason):
            return "'\(path)' is not an input replay reads (\(reason)); replay reads \(Self.kindsRead)"
        case .malformed(let format, let reason):
            return "not a valid \(format) file: \(reason)"
        case .valueOutOfRange(let format, let field, let value, let allowed):
            return "\(format): \(field) is \(value), outside the allowed \(allowed): the file is damaged or was crafted; fix or drop it"
        case .noMeasurement(let format, let reason):
            return "\(format): nothing to diagnose: \(reason)"
        case .targetNotFound(let target, let available):
            return "no result for '\(target)' in the file; it has: \(available.joined(separator: ", "))"
        case .severalTargets(let targets):
            return "the file has results for \(targets.joined(separator: ", ")); pick one with --target"
        }
    }
}
