import FoundationEssentials
import ISPCheckerPrimitives
import ISPCheckerResults

/// Runs many probes at once with at most `maxConcurrent` in flight, results in input order.
///
/// ```swift
/// let urls = try ServiceTargets.load(path: "urls.txt").map(\.target)
/// let results = await ServiceBulk.run(urls, maxConcurrent: 16) { url in
///     try await HTTPProbe().fetch(url)
/// }
/// ```
public enum ServiceBulk {
    /// One target's result: the value, or the typed error its input gave.
    public struct Outcome<Value: Sendable>: Sendable {
        public var target: String
        public var result: Result<Value, ProbeError>
    }

    /// `inputs` may be target strings, `ServiceTargets.Row`s or anything else; `name` gives
    /// each outcome's `target`.
    public static func run<Input: Sendable, Value: Sendable>(
        _ inputs: [Input], maxConcurrent: Int, name: (Input) -> String = { "\($0)" },
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
        _ probe: @escaping @Sendable (Input) async throws(ProbeError) -> Value
    ) async -> [Outcome<Value>] {
        let targets = inputs
        let bound = max(1, maxConcurrent)
        var results = [Outcome<Value>?](repeating: nil, count: targets.count)
        await withTaskGroup(of: (Int, Result<Value, ProbeError>).self) { group in
            var next = 0
            func launch() {
                let index = next
                let target = inputs[index]
                next += 1
                group.addTask {
                    do throws(ProbeError) { return (index, .success(try await probe(target))) } catch { return (index, .failure(error)) }
                }
            }
            while next < targets.count && next < bound { launch() }
            var done = 0
            while let (index, result) = await group.next() {
                results[index] = Outcome(target: name(inputs[index]), result: result)
                done += 1
                progress?(done, targets.count)
                if next < targets.count && !Task.isCancelled { launch() }
            }
        }
        return targets.indices.map { results[$0] ?? Outcome(target: name(inputs[$0]), result: .failure(.cancelled)) }
    }
}

/// A targets file: one target per line, or CSV whose first column is the target and whose
/// other columns are per-target options (the CLI reads a DNS type or an expected status
/// there). Blank lines and lines starting with `#` are skipped; a first line whose first
/// column is `target`, `url`, `host` or `name` is a header.
public enum ServiceTargets {
    public struct Row: Sendable, Equatable {
        public var target: String
        public var columns: [String]

        public init(target: String, columns: [String] = []) {
            self.target = target
            self.columns = columns
        }
    }

    public static func parse(_ text: String) -> [Row] {
        var rows: [Row] = []
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let trimmed = String(line).trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            if index == 0, ["target", "url", "host", "name"].contains(fields[0].lowercased()) { continue }
            rows.append(Row(target: fields[0], columns: Array(fields.dropFirst())))
        }
        return rows
    }

    public static func load(path: String) throws(ProbeError) -> [Row] {
        do { return parse(try TextFile.read(path)) } catch {
            throw .unreadableTargets(path: path, reason: error.reason)
        }
    }
}
