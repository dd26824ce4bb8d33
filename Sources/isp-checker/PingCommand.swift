import ArgumentParser
import FoundationEssentials
import ISPChecker

struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "ICMP echo with kernel-timestamped round-trip times."
    )

    @Argument(help: "Host name or IPv4/IPv6 address.")
    var target: String

    @Option(name: .shortAndLong, help: "Number of probes.")
    var count = 5

    @Option(name: .shortAndLong, help: "Seconds between probes.")
    var interval = 1.0

    @Option(name: [.customShort("W"), .long], help: "Seconds to wait for each reply.")
    var timeout = 2.0

    @Option(name: [.customShort("s"), .long], help: "ICMP payload bytes (12-1400).")
    var size = 56

    @OptionGroup var family: FamilyFlags

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only the summary.")
    var quiet = false

    @OptionGroup var engineOptions: EngineOptions

    func validate() throws {
        try OptionRange.seconds(interval, flag: "--interval", allowsMinimum: true)
        try OptionRange.seconds(timeout, flag: "--timeout")
        try OptionRange.integer(count, flag: "--count", 1...1_000_000)
        try OptionRange.integer(size, flag: "--size", 12...1400, unit: "bytes")
    }

    func run() throws {
        let engine: ProbeEngine
        do { engine = try engineOptions.makeEngine() } catch { throw CLIError(error) }
        let preference = family.preference
        let (target, count, interval, timeout, size, json, quiet) = (target, count, interval, timeout, size, json, quiet)
        if !json && !quiet {
            output("PING \(target): \(count) probes, \(size) data bytes, clock \(engine.status.bestClock)\(engine.status.captureDevice.map { " (capture on \($0))" } ?? "")")
        }
        let progress: (@Sendable (PingProbe) -> Void)? = json || quiet ? nil : { @Sendable probe in output(PingText.line(for: probe)) }
        let result: PingResult
        do {
            result = try runBlocking { () async throws -> PingResult in
                try await engine.ping(
                    target, count: count, interval: .seconds(interval), timeout: .seconds(timeout),
                    payloadSize: size, family: preference, progress: progress
                )
            }
        } catch { throw CLIError(error) }
        if json {
            output(try JSONOutput.document(PingReport(ping: result, engine: engine.status)))
        } else {
            output(PingText.summary(result))
        }
        if result.received == 0 { throw ExitCode(1) }
    }
}

/// The JSON the CLI prints: the result and how the engine measured it (docs/ping.schema.json).
struct PingReport: Codable {
    var ping: PingResult
    var engine: EngineStatus
}

enum PingText {
    static func line(for probe: PingProbe) -> String {
        switch probe.status {
        case .received:
            let ttl = probe.replyTTL.map { " ttl=\($0)" } ?? ""
            return "seq=\(probe.sequence)\(ttl) time=\(format(probe.rttMilliseconds ?? 0)) ms (\(probe.clock?.description ?? "?"))"
        case .timedOut:
            return "seq=\(probe.sequence) timeout"
        case .sendFailed:
            return "seq=\(probe.sequence) send failed: \(probe.error ?? "unknown error")"
        }
    }

    static func summary(_ result: PingResult) -> String {
        var text = "--- \(result.target) (\(result.address)) ping statistics ---\n"
        text += "\(result.probes.count) probes, \(result.sent) transmitted, \(result.received) received, \(format(result.lossPercent, digits: 1))% packet loss, \(result.socketKind) socket"
        if let min = result.minMilliseconds, let avg = result.avgMilliseconds, let max = result.maxMilliseconds, let mdev = result.mdevMilliseconds {
            text += "\nrtt min/avg/max/mdev = \(format(min))/\(format(avg))/\(format(max))/\(format(mdev)) ms, clock \(result.clockSource?.description ?? "?")"
        }
        return text
    }

    static func format(_ value: Double, digits: Int = 3) -> String {
        fixed(value, digits: digits)
    }
}
