import FoundationEssentials
import ISPCheckerResults

/// What another tool measured toward one target from one place, as this program's typed results:
/// the trace and the ping it holds (either may be absent), and where the data came from.
public struct ImportedRun: Sendable, Equatable {
    /// The target as the tool named it (a name or an address).
    public var target: String
    /// The target's address as the tool measured it.
    public var address: IPAddress
    /// How `--target` names this run when the file holds several, and how the listing shows it:
    /// the target, then `@` and the origin (RIPE Atlas probe id, scamper source address) when known.
    public var selector: String
    /// When the measurement started, when the file says.
    public var timestamp: Date?
    public var trace: TraceResult?
    public var ping: PingResult?
    /// Tool, format, file, origin, the probes measured and those missing.
    public var source: DataSource

    package init(target: String, address: IPAddress, originKey: String?, timestamp: Date?, trace: TraceResult?, ping: PingResult?, source: DataSource) {
        self.target = target
        self.address = address
        self.selector = originKey.map { "\(target)@\($0)" } ?? target
        self.timestamp = timestamp
        self.trace = trace
        self.ping = ping
        self.source = source
    }
}

/// The kinds of input `run --mode replay` reads.
public enum ReplayInputKind: Sendable, Equatable {
    /// A run report this program wrote (`--output`, `--json`).
    case runReport
    /// A packet capture: pcap (either byte order, µs or ns) or pcapng.
    case capture
    /// Another tool's results.
    case imported(ImportFormat)
}

/// Reads other tools' result files: detects the kind from the content (never the file name) and
/// turns it into `ImportedRun`s.
public enum Importer {
    /// Whether the first bytes of a file are a capture's: pcap's magic number in either byte order
    /// (microsecond or nanosecond timestamps) or pcapng's section header block type.
    public static func isCapture(head: [UInt8]) -> Bool {
        guard head.count >= 4 else { return false }
        let magic = Array(head.prefix(4))
        return [[0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d],
                [0x0a, 0x0d, 0x0d, 0x0a]].contains(magic)
    }

    /// Whether the first bytes of a file may be one of the text kinds (JSON, mtr CSV): a file
    /// that is neither this nor a capture is refused before it is read whole.
    public static func looksLikeText(head: [UInt8]) -> Bool {
        var bytes = head[...]
        if bytes.starts(with: [0xef, 0xbb, 0xbf]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop { [0x20, 0x09, 0x0a, 0x0d].contains($0) }
        return bytes.first == UInt8(ascii: "{") || bytes.first == UInt8(ascii: "[") || bytes.starts(with: Array("Mtr_Version,".utf8))
    }

    /// The kind of a whole input file (captures are told by `isCapture(head:)` from their first
    /// bytes; this reads the text kinds).
    /// - Throws: `ImportError.unknownFormat` naming what was found and listing the kinds read.
    public static func kind(of bytes: [UInt8], path: String) throws(ImportError) -> ReplayInputKind {
        if isCapture(head: Array(bytes.prefix(4))) { return .capture }
        var start = bytes.startIndex
        if bytes.starts(with: [0xef, 0xbb, 0xbf]) { start += 3 }   // a UTF-8 byte order mark
        while start < bytes.endIndex, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[start]) { start += 1 }
        guard start < bytes.endIndex else { throw .unknownFormat(path: path, reason: "it is empty") }
        let text = bytes[start...]
        if text.starts(with: Array("Mtr_Version,".utf8)) { return .imported(.mtrCSV) }
        guard text.first == UInt8(ascii: "{") || text.first == UInt8(ascii: "[") else {
            throw .unknownFormat(path: path, reason: "it is neither JSON, mtr CSV nor a capture")
        }
        // The whole file as one JSON value, else its first line (scamper and Atlas write a record a line).
        let sniff: JSONSniff
        if let whole = try? JSONDecoder().decode(JSONSniff.self, from: Data(text)) {
            sniff = whole
        } else {
            let line = text.prefix { $0 != 0x0a }
            do { sniff = try JSONDecoder().decode(JSONSniff.self, from: Data(line)) } catch {
                throw .unknownFormat(path: path, reason: "it starts like JSON but is not valid JSON")
            }
        }
        guard let kind = sniff.kind else {
            throw .unknownFormat(path: path, reason: "it is JSON, but none of the formats below (keys: \(sniff.keys.prefix(8).joined(separator: ", ")))")
        }
        return kind
    }

    /// Every run the file holds, one a target and origin.
    /// - Throws: `ImportError` for a file that is not valid `format`, a number outside the report's
    ///   ranges, or a file that holds nothing to diagnose.
    public static func runs(from bytes: [UInt8], format: ImportFormat, file: String?) throws(ImportError) -> [ImportedRun] {
        let runs: [ImportedRun]
        switch format {
        case .mtrJSON: runs = [try MtrImport.json(bytes, file: file)]
        case .mtrCSV: runs = [try MtrImport.csv(bytes, file: file)]
        case .scamperJSON: runs = try ScamperImport.runs(bytes, file: file)
        case .atlasJSON: runs = try AtlasImport.runs(bytes, file: file)
        }
        guard !runs.isEmpty else { throw .noMeasurement(format: format, reason: "the file holds no traceroute and no ping") }
        return runs
    }

    /// The run `target` names (its target, address or selector), or the only one.
    /// - Throws: `ImportError.targetNotFound`, or `.severalTargets` when `target` is nil (or
    ///   matches several) and the file holds more than one.
    public static func select(_ runs: [ImportedRun], target: String?) throws(ImportError) -> ImportedRun {
        guard let target else {
            guard runs.count == 1, let only = runs.first else { throw .severalTargets(runs.map(\.selector)) }
            return only
        }
        let address = IPAddress(target)
        let exact = runs.filter { $0.selector == target }
        let matching = exact.isEmpty ? runs.filter { $0.target == target || (address != nil && $0.address == address) } : exact
        guard let first = matching.first else { throw .targetNotFound(target: target, available: runs.map(\.selector)) }
        guard matching.count == 1 else { throw .severalTargets(matching.map(\.selector)) }
        return first
    }
}

/// Just enough of a JSON value's top level to tell the formats apart.
struct JSONSniff: Decodable {
    var keys: [String] = []
    var type: String?
    var isMtr = false
    var isArray = false
    var firstElement: [String] = []
    var firstType: String?

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct MtrReport: Decodable {
        var mtr: [String: JSONText]?
    }

    struct Element: Decodable {
        var keys: [String]
        var type: String?
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            keys = container.allKeys.map(\.stringValue)
            type = try? container.decodeIfPresent(String.self, forKey: AnyKey(stringValue: "type"))
        }
    }

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            isArray = true
            if !list.isAtEnd, let element = try? list.decode(Element.self) {
                firstElement = element.keys
                firstType = element.type
            }
            return
        }
        let container = try decoder.container(keyedBy: AnyKey.self)
        keys = container.allKeys.map(\.stringValue)
        type = try? container.decodeIfPresent(String.self, forKey: AnyKey(stringValue: "type"))
        if let report = try? container.decodeIfPresent(MtrReport.self, forKey: AnyKey(stringValue: "report")), report.mtr != nil { isMtr = true }
    }

    static let scamperTypes: Set<String> = ["cycle-start", "cycle-def", "cycle-stop", "trace", "ping", "tracelb", "dealias", "neighbourdisc",
                                            "tbit", "sting", "sniff", "host", "http", "udpprobe", "list"]

    static func isAtlas(_ keys: [String]) -> Bool {
        let set = Set(keys)
        return set.contains("fw") || set.contains("msm_id") || set.contains("prb_id")
    }

    var kind: ReplayInputKind? {
        if isArray {
            return Self.isAtlas(firstElement) ? .imported(.atlasJSON) : nil
        }
        if isMtr { return .imported(.mtrJSON) }
        if keys.contains("schema_version") || keys.contains("probes") { return .runReport }
        if Self.isAtlas(keys) { return .imported(.atlasJSON) }
        if let type, Self.scamperTypes.contains(type) { return .imported(.scamperJSON) }
        return nil
    }
}
