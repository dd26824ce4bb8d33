import Foundation
import ISPChecker

/// Synthetic runs for demos, tests and benchmarks: no packet is sent. Each run has a `ping`
/// and a `dns` probe whose figures vary with the run number, so the metrics move.
public struct DemoRunSource: AsyncSequence, Sendable {
    public typealias Element = RunReport

    /// Targets taken in turn.
    public var targets: [String]
    /// Runs to produce; `nil` for no end.
    public var count: Int?
    /// Pause between runs.
    public var interval: Duration

    public init(targets: [String] = ["demo.invalid"], count: Int? = nil, interval: Duration = .seconds(1)) {
        precondition(!targets.isEmpty, "DemoRunSource needs at least one target")
        self.targets = targets
        self.count = count
        self.interval = interval
    }

    /// The `index`-th synthetic run for `target` (deterministic but for its id and timestamp).
    public static func report(index: Int, target: String, timestamp: Date = Date()) -> RunReport {
        let loss = index % 10 == 9 ? 20.0 : 0.0
        let latency = 10.0 + Double(index % 7) * 3.5
        let pingStatus: ProbeStatus = loss > 10 ? .crit : (latency > 25 ? .warn : .ok)
        let ping = ProbeReport(
            name: "ping", status: pingStatus,
            details: ["target_ip": .string("192.0.2.1"), "packets_sent": .int(10), "packets_received": .int(Int(10 - loss / 10)),
                      "packet_loss": .double(loss), "latency_avg_ms": .double(latency), "clock": .string("demo")],
            error: loss > 0 ? "\(Int(loss))% packet loss" : nil)
        let dns = ProbeReport(name: "dns", status: .ok,
                              details: ["query": .string("example.invalid"), "latency_ms": .double(4 + Double(index % 3)), "outcome": .string("ok")])
        let score = Swift.min(100, loss * 2 + Swift.max(0, latency - 20))
        return RunReport(target: target, timestamp: timestamp, probes: [ping, dns], score: score)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: DemoRunSource
        var produced = 0

        public mutating func next() async throws -> RunReport? {
            if let count = source.count, produced >= count { return nil }
            if produced > 0 { try await Task.sleep(for: source.interval) }
            let target = source.targets[produced % source.targets.count]
            defer { produced += 1 }
            return DemoRunSource.report(index: produced, target: target)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}
