/// One thing wrong in a configuration file: where (key path, line, column) and why.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// The full key path (`circuit_breaker.failure_threshold`), empty for the document itself.
    public var key: String
    /// 1-based line and column in the YAML text, when known.
    public var line: Int?
    public var column: Int?
    public var reason: String

    public init(key: String, line: Int? = nil, column: Int? = nil, reason: String) {
        self.key = key
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        var place = key.isEmpty ? "configuration" : key
        if let line {
            place += " (line \(line)" + (column.map { ", column \($0)" } ?? "") + ")"
        }
        return "\(place): \(reason)"
    }
}

/// A configuration that cannot be used, with every problem found (not just the first), each
/// naming its key and line.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the text came from (a file path), when known.
    public var source: String?
    public var problems: [ConfigurationProblem]

    public init(source: String? = nil, problems: [ConfigurationProblem]) {
        self.source = source
        self.problems = problems
    }

    public var description: String {
        let head = "invalid configuration" + (source.map { " in \($0)" } ?? "")
        if problems.count == 1 { return "\(head): \(problems[0])" }
        return head + ":\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }

    /// The problem about `key`, if any (for tests and tools).
    public func problem(at key: String) -> ConfigurationProblem? { problems.first { $0.key == key } }
}
