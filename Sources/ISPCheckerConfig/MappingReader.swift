import Yams

/// Reads one YAML mapping key by key, collecting a `ConfigurationProblem` (with the key's path
/// and line) for each wrong type, and for each key nobody asked for.
struct MappingReader {
    let path: String
    private var entries: [(key: String, keyNode: Node, value: Node)] = []
    private var consumed: Set<String> = []
    private(set) var problems: [ConfigurationProblem] = []

    /// `node` must be a mapping; `nil` (an empty section) reads as a mapping with no keys.
    init(_ node: Node?, path: String) {
        self.path = path
        guard let node else { return }
        guard case .mapping(let mapping) = node else {
            problems.append(problem(path, at: node, "expected a mapping of settings, got \(Self.describe(node))"))
            return
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                problems.append(problem(path, at: keyNode, "keys must be strings, got \(Self.describe(keyNode))"))
                continue
            }
            if entries.contains(where: { $0.key == key }) {
                problems.append(problem(full(key), at: keyNode, "appears twice"))
                continue
            }
            entries.append((key, keyNode, value))
        }
    }

    func full(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node of `key`, marking the key as known. A key with no value (`key:`) reads as absent.
    mutating func node(_ key: String) -> Node? {
        consumed.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        if case .scalar(let scalar) = entry.value, scalar.style == .plain, entry.value.null != nil {
            return nil
        }
        return entry.value
    }

    mutating func int(_ key: String) -> Int? {
        guard let node = node(key) else { return nil }
        if case .scalar = node, let value = node.int { return value }
        problems.append(problem(full(key), at: node, "expected a whole number, got \(Self.describe(node))"))
        return nil
    }

    mutating func double(_ key: String) -> Double? {
        guard let node = node(key) else { return nil }
        if case .scalar = node, let value = node.int.map(Double.init) ?? node.float { return value }
        problems.append(problem(full(key), at: node, "expected a number, got \(Self.describe(node))"))
        return nil
    }

    mutating func duration(_ key: String) -> Duration? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            problems.append(problem(full(key), at: node, "expected a duration such as 30s, got \(Self.describe(node))"))
            return nil
        }
        switch DurationParsing.parse(scalar.string) {
        case .success(let duration): return duration
        case .failure(let error):
            problems.append(problem(full(key), at: node, error.description))
            return nil
        }
    }

    /// A non-empty string.
    mutating func string(_ key: String) -> String? {
        guard let node = node(key) else { return nil }
        if case .scalar(let scalar) = node, !scalar.string.isEmpty { return scalar.string }
        problems.append(problem(full(key), at: node, "expected a non-empty string, got \(Self.describe(node))"))
        return nil
    }

    /// A list of non-empty strings.
    mutating func strings(_ key: String) -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            problems.append(problem(full(key), at: node, "expected a list of strings, got \(Self.describe(node))"))
            return nil
        }
        var values: [String] = []
        for item in sequence {
            if case .scalar(let scalar) = item, !scalar.string.isEmpty {
                values.append(scalar.string)
            } else {
                problems.append(problem(full(key), at: item, "expected a non-empty string, got \(Self.describe(item))"))
            }
        }
        return values
    }

    /// A string that must be one of `choices`.
    mutating func choice(_ key: String, from choices: [String]) -> String? {
        guard let node = node(key) else { return nil }
        if case .scalar(let scalar) = node, choices.contains(scalar.string) { return scalar.string }
        problems.append(problem(full(key), at: node, "expected one of \(choices.joined(separator: ", ")), got \(Self.describe(node))"))
        return nil
    }

    /// A list of strings, each one of `choices`.
    mutating func choices(_ key: String, from choices: [String]) -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let sequence) = node else {
            problems.append(problem(full(key), at: node, "expected a list of \(choices.joined(separator: ", ")), got \(Self.describe(node))"))
            return nil
        }
        var values: [String] = []
        var valid = true
        for item in sequence {
            if case .scalar(let scalar) = item, choices.contains(scalar.string) {
                values.append(scalar.string)
            } else {
                valid = false
                problems.append(problem(full(key), at: item, "expected one of \(choices.joined(separator: ", ")), got \(Self.describe(item))"))
            }
        }
        return valid ? values : nil
    }

    /// Problems for every key present that nothing read.
    mutating func rejectUnknownKeys(known: String) {
        for entry in entries where !consumed.contains(entry.key) {
            problems.append(problem(full(entry.key), at: entry.keyNode, "unknown key; \(known)"))
        }
    }

    mutating func addProblem(_ problem: ConfigurationProblem) { problems.append(problem) }

    /// Marks `key` as handled elsewhere.
    mutating func allow(_ key: String) { consumed.insert(key) }

    /// The line of `key`'s value, if present (for problems found after reading).
    func mark(of key: String) -> Mark? { entries.first { $0.key == key }?.value.mark ?? entries.first { $0.key == key }?.keyNode.mark }

    func problem(_ key: String, at node: Node?, _ reason: String) -> ConfigurationProblem {
        ConfigurationProblem(key: key, line: node?.mark?.line, column: node?.mark?.column, reason: reason)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "nothing" : "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}
