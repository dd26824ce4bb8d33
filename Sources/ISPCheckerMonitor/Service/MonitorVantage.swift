import Foundation

/// The monitor's vantage when neither `--vantage` nor the file's `vantage:` names one.
public enum MonitorVantage {
    /// The host name (`gethostname`), cut at its first dot, with any character a vantage does
    /// not take (`MonitorConfiguration.isValidVantage`) replaced by `-`, at most 64 of them;
    /// `localhost` when there is none.
    public static var hostDefault: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return sanitized(name)
    }

    static func sanitized(_ name: String) -> String {
        let short = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        let cleaned = String(short.unicodeScalars.prefix(64).map { scalar -> Character in
            let allowed = scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == "-")
            return allowed ? Character(scalar) : "-"
        })
        return cleaned.isEmpty ? "localhost" : cleaned
    }
}
