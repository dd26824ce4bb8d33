import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ISPChecker

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Traceroute with the TTLs up to the destination in flight at once, Paris-style stable flow, and mtr-like rounds."
    )

    enum Method: String, ExpressibleByArgument, CaseIterable { case udp, icmp, tcp }

    @Argument(help: "Host name or IPv4/IPv6 address.")
    var target: String

    @Option(name: [.customShort("M"), .long], help: "Probe method: udp, icmp or tcp.")
    var method: Method = .udp

    @Option(name: .shortAndLong, help: "Destination port for tcp (udp: first port).")
    var port: UInt16?

    @Option(name: [.customShort("m"), .long], help: "Last TTL to probe.")
    var maxHops = 30

    @Option(name: [.customShort("f"), .long], help: "First TTL to probe.")
    var firstHop = 1

    @Option(name: [.customShort("c"), .long], help: "Rounds (mtr report cycles); default 1, and on a terminal's live view until q.")
    var rounds: Int?

    @Option(name: [.customShort("W"), .long], help: "Seconds to wait for each probe's answer.")
    var timeout = 1.0

    @Option(help: "Most probes per second after the first burst.")
    var rate = 1000

    @Option(name: [.customShort("i"), .long], help: "Seconds between rounds (like mtr; shorter runs into routers' ICMP rate limits).")
    var interval = 1.0

    @Flag(help: "Wait the full --timeout for a silent hop even when farther hops have answered (by default it is given up after 5 × their RTT, at least 0.1 s).")
    var fullWait = false

    @Flag(help: "Classic mode: vary the flow per probe (by default every probe keeps one flow, Paris-style).")
    var classic = false

    @Flag(name: [.customShort("r"), .long], help: "Look up hop names (reverse DNS); off by default.")
    var resolve = false

    @Flag(help: "Neither read nor write the file of path lengths traces measured before ($XDG_CACHE_HOME or ~/.cache/isp-checker/path-lengths), with which a trace probes straight up to a destination it has reached before.")
    var noPathCache = false

    @OptionGroup var family: FamilyFlags

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Print the plain report at the end, without the live view a terminal gets.")
    var report = false

    @Option(help: "Colour the live view: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @OptionGroup var engineOptions: EngineOptions

    func validate() throws { try request.validate() }

    func run() throws { try request.run() }

    /// The command as plain values.
    var request: TraceRequest {
        TraceRequest(target: target, method: method, port: port, maxHops: maxHops, firstHop: firstHop, rounds: rounds,
                     timeout: timeout, rate: rate, interval: interval, fullWait: fullWait, classic: classic,
                     resolve: resolve, noPathCache: noPathCache, ipv4: family.ipv4, ipv6: family.ipv6, json: json,
                     engine: engineOptions.settings, report: report, color: color)
    }
}

/// A `trace` as plain values: what `TraceCommand` holds in ArgumentParser's property wrappers,
/// and what QuickParse reads a plain `trace` into without building them (their set-up is a
/// tenth of a short trace's CPU: docs/benchmarks.md, issue 17). The defaults are
/// TraceCommand's; CLITests compares both readings of every option.
struct TraceRequest: Equatable, Sendable {
    var target: String
    var method: TraceCommand.Method = .udp
    var port: UInt16?
    var maxHops = 30
    var firstHop = 1
    /// `-c`: nil when not given (one round, or until q in the live view).
    var rounds: Int?
    var timeout = 1.0
    var rate = 1000
    var interval = 1.0
    var fullWait = false
    var classic = false
    var resolve = false
    var noPathCache = false
    var ipv4 = false
    var ipv6 = false
    var json = false
    var engine = EngineSettings()
    var report = false
    var color = ColorChoice.auto

    /// The live view: standard output is a terminal, and neither `--json` nor `--report`.
    var showsLiveView: Bool { !json && !report && standardOutputIsTerminal }

    /// TraceCommand's checks, with its option groups' (families, engine) first, as
    /// ArgumentParser runs them.
    func validate() throws {
        try FamilyFlags.validate(ipv4: ipv4, ipv6: ipv6)
        try engine.validate()
        try OptionRange.seconds(timeout, flag: "--timeout")
        try OptionRange.seconds(interval, flag: "--interval", allowsMinimum: true)
        try OptionRange.integer(maxHops, flag: "--max-hops", 1...64)
        try OptionRange.integer(firstHop, flag: "--first-hop", 1...maxHops)
        try OptionRange.integer(rounds ?? 1, flag: "--rounds", 1...100_000)
        try OptionRange.integer(rate, flag: "--rate", 1...1_000_000, unit: "probes per second")
        if method == .tcp && port == nil { throw ValidationError("--method tcp needs --port (e.g. 443)") }
    }

    func run() throws {
        // Opened before the engine gives up privileges, so it can be written back afterwards.
        let pathCache = noPathCache ? nil : PathLengthFile.defaultPath.flatMap { PathLengthFile(path: $0) }
        let engine: ProbeEngine
        // An address literal, or -4/-6, says which family's sockets the trace needs; a name
        // may resolve to either.
        let families: Set<IPFamily> = IPAddress(target).map { [$0.family] } ?? (ipv4 ? [.ipv4] : ipv6 ? [.ipv6] : [.ipv4, .ipv6])
        do {
            engine = try self.engine.makeEngine(captureByDefault: false, icmpTracesOnly: method == .icmp, families: families)
        } catch { throw CLIError(error) }
        if let pathCache { engine.rememberPathLengths(pathCache.pathLengths) }
        let traceMethod: TraceMethod = switch method {
        case .udp: .udp
        case .icmp: .icmp
        case .tcp: .tcp(port: port ?? 443)
        }
        let live = showsLiveView
        let rounds = self.rounds ?? 1
        let options = TraceOptions(
            method: traceMethod, firstHop: firstHop, maxHops: maxHops, rounds: rounds, timeout: .seconds(timeout),
            probesPerSecond: rate, roundInterval: .seconds(interval), paris: !classic,
            udpBasePort: method == .udp ? (port ?? 33434) : 33434,
            family: FamilyFlags.preference(ipv4: ipv4, ipv6: ipv6), resolveHopNames: resolve,
            silentHopWait: fullWait ? .fullTimeout : .default)
        if live {
            let (result, verdict, ending) = try LiveTrace(request: self, engine: engine, options: options).run()
            pathCache?.save(engine.measuredPathLengths)
            output("TRACE \(target): \(traceMethod)\(classic ? " classic" : " paris"), \(result.rounds) round\(result.rounds == 1 ? "" : "s"), max \(maxHops) hops, clock \(engine.status.bestClock)")
            output(TraceText.report(result))
            if let verdict { output(TraceText.verdict(verdict)) }
            if case .terminated(let signal) = ending { throw ExitCode(128 + signal) }
            if !result.destinationReached { throw ExitCode(1) }
            return
        }
        let (target, json) = (target, json)
        if !json {
            output("TRACE \(target): \(traceMethod)\(classic ? " classic" : " paris"), \(rounds) round\(rounds == 1 ? "" : "s"), max \(maxHops) hops, clock \(engine.status.bestClock)")
        }
        let result: TraceResult
        do {
            // On this thread: a one-round trace never starts the concurrency pool (CallingThreadExecutor.swift).
            let progress = rounds > 1 && standardErrorIsTerminal
            result = try runOnCallingThread { () async throws -> TraceResult in
                try await engine.traceroute(target, options: options) { update in
                    if progress, case .roundFinished(let round, _) = update { errorOutput("round \(round)/\(rounds) done\n") }
                }
            }
        } catch { throw CLIError(error) }
        pathCache?.save(engine.measuredPathLengths)
        if json {
            output(try JSONOutput.document(result))
        } else {
            output(TraceText.report(result))
        }
        if !result.destinationReached { throw ExitCode(1) }
    }
}

enum TraceText {
    /// The live view's verdict under the final report: the score and what the analysis found.
    static func verdict(_ report: RunReport) -> String {
        var lines = ["Verdict: score \(ReportText.format(report.score)) / 100 (0 healthy, 100 outage), severity \(report.severity.rawValue)"]
        for diagnosis in report.diagnosis { lines.append("  \(diagnosis.informational ? "note" : "fault"): \(diagnosis.explanation)") }
        return lines.joined(separator: "\n")
    }

    static func report(_ result: TraceResult) -> String {
        func ms(_ value: Double?) -> String { value.map { fixed($0, digits: 3, width: 7) } ?? "      -" }
        var lines = ["HOP  ADDRESS                          LOSS%  SNT    LAST     AVG    BEST    WRST   STDEV"]
        for hop in result.hops {
            let address = hop.addresses.first.map { first in first.name.map { "\($0) (\(first.address))" } ?? "\(first.address)" } ?? "???"
            var marks = hop.unreachable.filter { !$0.isPortUnreachable }.map(\.description).joinedText(separator: " ")
            if hop.addresses.count > 1 { marks += " (+\(hop.addresses.count - 1) more: \(hop.addresses.dropFirst().map { "\($0.address)" }.joinedText(separator: ", ")))" }
            let columns: [String] = [
                padLeft("\(hop.ttl)", 3) + "  " + padRight(address, 32), fixed(hop.lossPercent, digits: 1, width: 5), padLeft("\(hop.sent)", 4),
                ms(hop.lastMilliseconds), ms(hop.avgMilliseconds), ms(hop.bestMilliseconds), ms(hop.worstMilliseconds), ms(hop.stdevMilliseconds),
            ]
            lines.append(columns.joinedText(separator: " ") + (marks.isEmpty ? "" : "  \(marks)"))
            lines += mplsLines(hop)
        }
        let stop: String = switch result.stop {
        case .destinationReached: "destination reached"
        case .unreachable(let code): "stopped: unreachable \(code)"
        case .maxHopsReached: "destination not reached within \(result.hops.last?.ttl ?? 0) hops"
        }
        lines.append("\(stop) in \(fixed(result.durationMilliseconds, digits: 1)) ms")
        return lines.joinedText(separator: "\n")
    }

    /// The label stacks a hop's replies carried (RFC 4950), one entry a line under the hop as
    /// `mtr --mpls` prints them: `[MPLS: Lbl 16001 TC 0 S 0 TTL 1]`, outermost first.
    static func mplsLines(_ hop: TraceHop) -> [String] {
        hop.mplsStacks.flatMap { stack in
            stack.map { "     [MPLS: Lbl \($0.label) TC \($0.trafficClass) S \($0.bottomOfStack ? 1 : 0) TTL \($0.ttl)]" }
        }
    }
}

extension Array where Element == String {
    /// `joined(separator:)` without the stdlib's generic entry point, whose first call in a
    /// process looks its associated types up by mangled name: 2 % of a whole `trace` process
    /// (`perf record`, docs/benchmarks.md). For the text a plain `trace` prints.
    func joinedText(separator: String) -> String {
        var text = ""
        for index in indices {
            if index > startIndex { text += separator }
            text += self[index]
        }
        return text
    }
}
