import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ISPChecker
import ISPCheckerPrimitives

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Ping thousands of addresses at a fixed packet rate (like fping -c).",
        discussion: """
            Targets are IPv4/IPv6 addresses or CIDR prefixes (every address of the prefix). Needs a raw ICMP socket (root or CAP_NET_RAW).

            With --trace, the targets that answered are traced once the pings are done (--trace-all: every target), \
            --trace-concurrency at once, and one line per target is printed as its trace finishes: hops, whether the \
            destination was reached, where loss that persists to the end starts. With --json the output is JSON lines: \
            the sweep report first, then one object per trace (index in the sweep, address, hops, destination_reached, \
            loss_start_ttl, trace or error), then {"trace_summary": …}. The exit status is 1 when a target did not answer or a trace did not reach its target.
            """
    )

    @Argument(help: "Addresses or CIDR prefixes, e.g. 10.77.128.0/20.")
    var targets: [String] = []

    @Option(name: .customLong("targets"), help: "Read more targets from this file, one per line ('#' starts a comment).")
    var targetsFile: String?

    @Option(help: "Packets per second over the whole sweep.")
    var rate = 1_000

    @Option(name: .customShort("c"), help: "Probes per target.")
    var count = 1

    @Option(name: [.customShort("W"), .long], help: "Seconds to wait for each reply.")
    var timeout = 1.0

    @Option(name: [.customShort("s"), .long], help: "ICMP payload bytes (12-1400).")
    var size = 56

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only the summary.")
    var quiet = false

    @OptionGroup(title: "Tracing") var tracing: SweepTraceArguments

    @OptionGroup var engineOptions: EngineOptions

    func validate() throws {
        try OptionRange.seconds(timeout, flag: "-W/--timeout")
        try OptionRange.integer(rate, flag: "--rate", 1...10_000_000, unit: "packets per second")
        try OptionRange.integer(count, flag: "-c", 1...1000, unit: "probes per target")
        try OptionRange.integer(size, flag: "-s/--size", 12...1400, unit: "bytes")
        guard !targets.isEmpty || targetsFile != nil else { throw ValidationError("give targets as arguments or with --targets FILE") }
    }

    /// The targets of a `--targets` file: one per line, `#` starts a comment, blanks around
    /// are ignored. (Foundation's `trimmingCharacters` was 6 % of a 4,096-target sweep's CPU.)
    static func targetLines(_ text: String) -> [String] {
        // By bytes: a file of 65,536 addresses took milliseconds of grapheme breaking by
        // Character. Lines end at LF or CR; `SweepTargets.expand` trims any other whitespace.
        var text = text
        return text.withUTF8 { bytes in
            var lines: [String] = []
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0x0D { end += 1 }
                var first = start
                var last = start
                while last < end && bytes[last] != UInt8(ascii: "#") { last += 1 }
                while first < last && (bytes[first] == 0x20 || bytes[first] == 0x09) { first += 1 }
                while last > first && (bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09) { last -= 1 }
                if first < last {
                    lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[first..<last]), as: UTF8.self))
                }
                start = end + 1
            }
            return lines
        }
    }

    func run() throws {
        var specs = targets
        if let targetsFile {
            let text: String
            do { text = try TextFile.read(targetsFile) } catch {
                throw CLIError(ProbeError.unreadableTargets(path: targetsFile, reason: error.reason))
            }
            specs += Self.targetLines(text)
        }
        let options = SweepOptions(probesPerTarget: count, packetsPerSecond: rate, timeout: .seconds(timeout), payloadSize: size)
        // Checked before any ping goes out, so a bad trace option costs no sweep.
        let traceOptions: SweepTraceOptions?
        do { traceOptions = tracing.enabled ? try tracing.options() : nil } catch { throw CLIError(error) }
        let engine: ProbeEngine
        let stream: AsyncThrowingStream<[SweepResult], any Error>
        let addresses: [IPAddress]
        do {
            addresses = try SweepTargets.expand(specs)
            // Socket timestamps, as trace: opening and closing a capture costs a sweep of
            // 4,096 addresses 40 ms of its 80 (RCU waits) and 6 MiB; `--capture` for pcap.
            engine = try engineOptions.makeEngine(captureByDefault: false, traceroute: tracing.enabled, families: Set(addresses.map(\.family)))
            stream = try engine.sweepBatches(addresses, options: options)
        } catch { throw CLIError(error) }

        let (json, quiet) = (json, quiet)
        let progress = standardErrorIsTerminal ? SweepProgress(targets: addresses.count) : nil
        let started = ContinuousClock.now
        let results: [SweepResult]
        do {
            results = try runBlocking { () async throws -> [SweepResult] in
                var results: [SweepResult] = []
                results.reserveCapacity(addresses.count)
                for try await batch in stream {
                    results.append(contentsOf: batch)
                    if !json && !quiet { output(batch.map(SweepText.line(for:)).joined(separator: "\n")) }
                    progress?.update(done: results.count)
                }
                return results
            }
        } catch { throw CLIError(error) }
        progress?.finish()
        let summary = SweepSummary(results: results, seconds: (ContinuousClock.now - started).seconds, peakInFlight: engine.peakSweepInFlightProbes)
        if json {
            let report = SweepReport(summary: summary, results: results.sorted { $0.index < $1.index }, engine: engine.status)
            output(try JSONOutput.line(report))
        } else {
            output(SweepText.summary(summary))
        }
        var tracesReached = true
        if let traceOptions {
            let traced = results.sorted { $0.index < $1.index }.filter { tracing.traceAll || $0.received > 0 }
            if !traced.isEmpty {
                tracesReached = try SweepTracing.run(engine, traced, options: traceOptions, json: json, quiet: quiet).allReached
            }
        }
        if summary.targetsWithoutReply > 0 || !tracesReached { throw ExitCode(1) }
    }
}

/// Totals over a whole sweep.
struct SweepSummary: Codable {
    var targets: Int
    var sent: Int
    var received: Int
    var lossPercent: Double
    var targetsWithoutReply: Int
    var seconds: Double
    var peakInFlight: Int

    enum CodingKeys: String, CodingKey {
        case targets, sent, received, seconds
        case lossPercent = "loss_percent"
        case targetsWithoutReply = "targets_without_reply"
        case peakInFlight = "peak_in_flight"
    }

    init(results: [SweepResult], seconds: Double, peakInFlight: Int) {
        targets = results.count
        sent = results.reduce(0) { $0 + $1.sent }
        received = results.reduce(0) { $0 + $1.received }
        let attempted = results.reduce(0) { $0 + $1.rttNanoseconds.count }
        lossPercent = attempted == 0 ? 0 : Double(attempted - received) * 100 / Double(attempted)
        targetsWithoutReply = results.filter { $0.received == 0 }.count
        self.seconds = seconds
        self.peakInFlight = peakInFlight
    }
}

/// The JSON the CLI prints: totals, every target in list order, and how the engine measured
/// (docs/sweep.schema.json).
struct SweepReport: Codable {
    var summary: SweepSummary
    var results: [SweepResult]
    var engine: EngineStatus
}

enum SweepText {
    /// fping's per-target summary line.
    static func line(for result: SweepResult) -> String {
        var text = "\(result.address) : xmt/rcv/%loss = \(result.sent)/\(result.received)/\(PingText.format(result.lossPercent, digits: 0))%"
        if let min = result.minMilliseconds, let avg = result.avgMilliseconds, let max = result.maxMilliseconds {
            text += ", min/avg/max = \(PingText.format(min))/\(PingText.format(avg))/\(PingText.format(max)) ms (\(result.clockSource?.description ?? "?"))"
        }
        if let error = result.error { text += ", send failed: \(error)" }
        return text
    }

    static func summary(_ summary: SweepSummary) -> String {
        "--- sweep: \(summary.targets) targets, \(summary.sent) sent, \(summary.received) received, \(PingText.format(summary.lossPercent, digits: 1))% loss, "
            + "\(summary.targetsWithoutReply) without reply, \(PingText.format(summary.seconds, digits: 2)) s, peak \(summary.peakInFlight) in flight ---"
    }
}

/// A one-line progress display on a terminal's stderr, redrawn at most ten times a second.
final class SweepProgress: @unchecked Sendable {
    // Only touched from the one task that consumes the sweep stream, then from run() after it.
    private let targets: Int
    private let noun: String
    private var lastDraw = ContinuousClock.now - .seconds(1)

    init(targets: Int, noun: String = "targets") {
        self.targets = targets
        self.noun = noun
    }

    func update(done: Int) {
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100) || done == targets else { return }
        lastDraw = now
        errorOutput("\r\(done)/\(targets) \(noun) done")
    }

    func finish() { errorOutput("\r\u{1B}[K") }
}
