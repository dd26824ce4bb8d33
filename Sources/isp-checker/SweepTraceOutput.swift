import ArgumentParser
import FoundationEssentials
import ISPChecker

/// The traces of `sweep --trace`: run them, print one line per target as it finishes.
enum SweepTracing {
    /// Totals over the traces of a sweep; with `--json`, the last line (`{"trace_summary": …}`).
    struct Summary: Encodable {
        var traced = 0
        var reached = 0
        var failed = 0
        var seconds = 0.0
        /// Every trace reached its destination.
        var allReached: Bool { reached == traced }
    }

    /// Traces the targets of `selected` and prints each result as it completes: a text line, or
    /// (with `json`) one JSON object per line whose `index` is the target's index in the sweep;
    /// then the summary.
    /// Progress goes to a terminal's stderr.
    static func run(_ engine: ProbeEngine, _ selected: [SweepResult], options: SweepTraceOptions, json: Bool, quiet: Bool) throws -> Summary {
        let addresses = selected.map(\.address)
        let sweepIndex = selected.map(\.index)
        let stream: AsyncThrowingStream<SweepTraceResult, any Error>
        do { stream = try engine.sweepTraces(addresses, options: options) } catch { throw CLIError(error) }
        let progress = standardErrorIsTerminal ? SweepProgress(targets: addresses.count, noun: "traces") : nil
        let started = ContinuousClock.now
        var summary: Summary
        do {
            summary = try runBlocking { () async throws -> Summary in
                var summary = Summary()
                let encoder = JSONOutput.linesEncoder()
                for try await traced in stream {
                    var result = traced
                    result.index = sweepIndex[traced.index]
                    summary.traced += 1
                    if result.trace?.destinationReached == true { summary.reached += 1 }
                    if result.error != nil { summary.failed += 1 }
                    if json {
                        output(try JSONOutput.line(SweepTraceLine(result), encoder: encoder))
                    } else if !quiet {
                        output(SweepTraceText.line(for: result))
                    }
                    progress?.update(done: summary.traced)
                }
                return summary
            }
        } catch { throw CLIError(error) }
        progress?.finish()
        summary.seconds = (ContinuousClock.now - started).seconds
        if json {
            do { output(try JSONOutput.line(["trace_summary": summary])) } catch { throw CLIError(error) }
        } else {
            output(SweepTraceText.summary(summary))
        }
        return summary
    }
}

/// One JSON line of `sweep --trace --json`: the target, a summary of its trace, and the trace
/// itself (or the error that stopped it). docs/sweep-trace.schema.json.
struct SweepTraceLine: Codable {
    var index: Int
    var address: IPAddress
    /// The number of hops the trace reports (first hop to the last that matters).
    var hops: Int?
    var destinationReached: Bool?
    /// First TTL of loss that persists to the end of the trace (nil: none).
    var lossStartTTL: Int?
    var trace: TraceResult?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case index, address, hops, trace, error
        case destinationReached = "destination_reached"
        case lossStartTTL = "loss_start_ttl"
    }

    init(_ result: SweepTraceResult) {
        index = result.index
        address = result.address
        switch result.outcome {
        case .success(let trace):
            hops = trace.hops.count
            destinationReached = trace.destinationReached
            lossStartTTL = trace.persistentLossStartTTL()
            self.trace = trace
        case .failure(let failure):
            error = failure.description
        }
    }
}

enum SweepTraceText {
    /// `10.77.128.5 : 4 hops, destination reached, no loss, last hop 10.77.128.5, 1.2 ms`
    static func line(for result: SweepTraceResult) -> String {
        let trace: TraceResult
        switch result.outcome {
        case .failure(let error): return "\(result.address) : trace failed: \(error)"
        case .success(let value): trace = value
        }
        let stop: String = switch trace.stop {
        case .destinationReached: "destination reached"
        case .unreachable(let code): "unreachable \(code)"
        case .maxHopsReached: "destination not reached"
        }
        let loss = trace.persistentLossStartTTL().map { "loss from hop \($0)" } ?? "no loss"
        let last = trace.hops.last { $0.received > 0 }
        let lastText = last.map { hop in "last answer hop \(hop.ttl) \(hop.addresses.first.map { "\($0.address)" } ?? "?")" } ?? "no hop answered"
        return "\(result.address) : \(trace.hops.count) hops, \(stop), \(loss), \(lastText), \(PingText.format(trace.durationMilliseconds, digits: 1)) ms"
    }

    static func summary(_ summary: SweepTracing.Summary) -> String {
        "--- traces: \(summary.traced) traced, \(summary.reached) reached their destination, \(summary.failed) failed, \(PingText.format(summary.seconds, digits: 2)) s ---"
    }
}
