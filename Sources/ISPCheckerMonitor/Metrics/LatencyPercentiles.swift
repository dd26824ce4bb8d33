import Foundation
import ISPChecker

/// Percentiles of a target's latencies over the run history: p50, p95 and p99 of the ping's
/// RTT and of the HTTP fetch's total time (one sample per run, `LatencySamples`) over the last
/// 5 minutes, hour and day. `GET /api/v1/targets/{target}/latency` serves them.
public struct LatencyReport: Sendable, Equatable, Encodable {
    /// Percentiles of one kind of sample in one window; `nil` percentiles without samples.
    public struct Summary: Sendable, Equatable, Encodable {
        public var samples: Int
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?

        /// Nearest-rank percentiles (the smallest sample with at least p % of the samples at or
        /// below it): always a latency that was measured, never one interpolated between two.
        public init(_ values: [Double]) {
            let sorted = values.sorted()
            samples = sorted.count
            p50 = Self.percentile(sorted, 50)
            p95 = Self.percentile(sorted, 95)
            p99 = Self.percentile(sorted, 99)
        }

        static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank, 1), sorted.count) - 1]
        }
    }

    /// One window's summaries.
    public struct Window: Sendable, Equatable, Encodable {
        public var seconds: Int
        public var rttMilliseconds: Summary
        public var httpTotalMilliseconds: Summary

        enum CodingKeys: String, CodingKey {
            case seconds
            case rttMilliseconds = "rtt_ms"
            case httpTotalMilliseconds = "http_total_ms"
        }
    }

    /// The windows, by name, shortest first.
    public static let windows: [(name: String, length: Duration)] = [("5m", .seconds(300)), ("1h", .seconds(3600)), ("1d", .seconds(86_400))]
    /// Most runs read for one report (the newest): a day of runs every 5 s.
    public static let maximumRuns = 17_280

    public var target: String
    public var generatedAt: Date
    public var windows: [String: Window]
    /// Runs of the longest window read from the history (those that decode).
    public var runsRead: Int
    /// Whether the longest window held more runs than `maximumRuns` (its oldest were left out).
    public var truncated: Bool

    enum CodingKeys: String, CodingKey {
        case target, windows, truncated
        case generatedAt = "generated_at"
        case runsRead = "runs_read"
        case percentileMethod = "percentile_method"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(generatedAt, forKey: .generatedAt)
        try container.encode(windows, forKey: .windows)
        try container.encode(runsRead, forKey: .runsRead)
        try container.encode(truncated, forKey: .truncated)
        try container.encode("nearest-rank", forKey: .percentileMethod)
    }

    /// The report of `runs` (any order; runs of other targets or outside the longest window are ignored) as of `now`.
    public init(target: String, runs: [RunReport], now: Date = Date(), truncated: Bool = false) {
        self.target = target
        self.generatedAt = now
        self.truncated = truncated
        let samples = runs.filter { $0.target == target && $0.timestamp <= now }.map { ($0.timestamp, LatencySamples($0)) }
        var windows: [String: Window] = [:]
        var read = 0
        for (name, length) in Self.windows {
            let seconds = Int(length.components.seconds)
            let start = now.addingTimeInterval(-Double(seconds))
            let inWindow = samples.filter { $0.0 >= start }.map(\.1)
            read = max(read, inWindow.count)
            windows[name] = Window(seconds: seconds,
                                   rttMilliseconds: Summary(inWindow.compactMap(\.rttMilliseconds)),
                                   httpTotalMilliseconds: Summary(inWindow.compactMap(\.httpTotalMilliseconds)))
        }
        self.windows = windows
        self.runsRead = read
    }

    /// The report of `target` from `store`: its runs of the last day, newest first, at most `maximumRuns`.
    /// Rows that do not decode are skipped (as the baseline skips them).
    public static func load(target: String, from store: any RunStore, now: Date = Date()) async throws -> LatencyReport {
        let since = now.addingTimeInterval(-86_400)
        var runs: [RunReport] = []
        var offset = 0
        var total = 0
        repeat {
            let page = try await store.runs(matching: RunQuery(target: target, since: since, until: now,
                                                               limit: RunQuery.maximumLimit, offset: offset))
            total = page.total
            runs += page.runs.compactMap { try? $0.report() }
            offset += page.runs.count
            if page.runs.isEmpty { break }
        } while offset < min(total, maximumRuns)
        return LatencyReport(target: target, runs: runs, now: now, truncated: total > maximumRuns)
    }
}
